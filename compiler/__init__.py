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

__all__ = [
    "CompileOptions",
    "CompileResult",
    "Diagnostic",
    "Location",
    "MLPipeline",
    "OutputConflictError",
    "Severity",
    "SpecopsError",
    "TemplateError",
    "UsageError",
    "ValidateResult",
    "__version__",
    "compile_specs",
    "validate",
    "validate_spec",
]
