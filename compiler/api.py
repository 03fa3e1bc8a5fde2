"""The public entry points: run the stages and return a result object. No printing here."""

from __future__ import annotations

from compiler.compile_options import (
    CompileOptions,
    CompileResult,
    Mode,
    layered_template_dirs,
    template_diagnostic,
)
from compiler.validation import (
    ValidatedSpec,
    ValidateResult,
    discover_specs,
    name_clash,
    validate,
    validate_spec,
)

__all__ = [
    "CompileOptions",
    "CompileResult",
    "Mode",
    "ValidateResult",
    "ValidatedSpec",
    "compile_specs",
    "discover_specs",
    "layered_template_dirs",
    "name_clash",
    "template_diagnostic",
    "validate",
    "validate_spec",
]


def compile_specs(options: CompileOptions) -> CompileResult:
    """Validate, render, verify and write (or check, or diff) the outputs of every spec,
    reusing what an earlier compile built for specs whose inputs did not change.

    Raises UsageError for bad options and OutputConflictError when writing would touch files
    specops does not own; a spec or verification problem is returned as diagnostics.
    """
    from compiler.compile_run import compile_specs as run_compile  # kfp, Jinja: compile only

    return run_compile(options)
