"""The platform layer: a `platform.yaml` with environments, defaults, template directories and
policies that every spec inherits. Importing this package stays light (no plan, no Jinja)."""

from compiler.platform.load import LoadedPlatform, default_platform_path, load_platform
from compiler.platform.model import Platform

__all__ = ["LoadedPlatform", "Platform", "default_platform_path", "load_platform"]
