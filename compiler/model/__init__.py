"""Stage 3: the typed spec; `build_model` maps validation errors to located diagnostics."""

from compiler.model.build import build_model
from compiler.model.spec import MLPipeline

__all__ = ["MLPipeline", "build_model"]
