"""The platform layer: a `platform.yaml` with environments, defaults, template directories and
policies that every spec inherits. Importing this package stays light (no Jinja, no kfp;
its model derives part of itself from compiler.plan.Defaults)."""

from compiler.platform.load import LoadedPlatform, load_platform
from compiler.platform.model import Platform

__all__ = ["LoadedPlatform", "Platform", "load_platform"]
