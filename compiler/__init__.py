"""specops: a compiler from ML pipeline specs to Kubeflow, CI and GitOps files."""

from compiler._version import __version__
from compiler.api import (
    CompileOptions,
    CompileResult,
    ValidateResult,
    compile_specs,
    validate,
    validate_spec,
)
from compiler.diagnostics import Diagnostic, Location, Severity
from compiler.errors import OutputConflictError, SpecopsError, TemplateError, UsageError
from compiler.model import MLPipeline
from compiler.platform import LoadedPlatform, Platform, load_platform
from compiler.run import RunOptions, RunResult, run_pipeline

__all__ = [
    "CompileOptions",
    "CompileResult",
    "Diagnostic",
    "LoadedPlatform",
    "Location",
    "MLPipeline",
    "OutputConflictError",
    "Platform",
    "RunOptions",
    "RunResult",
    "Severity",
    "SpecopsError",
    "TemplateError",
    "UsageError",
    "ValidateResult",
    "__version__",
    "compile_specs",
    "load_platform",
    "run_pipeline",
    "validate",
    "validate_spec",
]
