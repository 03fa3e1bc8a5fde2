"""The public entry points: run the stages and return a result object. No printing here."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from compiler.compile_options import (
    CompileOptions,
    CompileResult,
    Mode,
    layered_template_dirs,
    template_diagnostic,
)
from compiler.sources import discover_specs

if TYPE_CHECKING:
    from compiler.validation import (
        ValidatedSpec,
        ValidateResult,
        name_clash,
        validate,
        validate_spec,
    )

# Validation's names load it on first use (PEP 562): a compile answered by compiler.settled
# never builds a spec model, so it does not pay for importing one.
_VALIDATION = {"ValidatedSpec", "ValidateResult", "name_clash", "validate", "validate_spec"}

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
    from compiler.settled import answer

    if (settled := answer(options)) is not None:  # nothing changed: nothing else is imported
        return settled
    from compiler.compile_run import compile_specs as run_compile  # kfp, Jinja: compile only

    return run_compile(options)


def __getattr__(name: str) -> Any:
    if name not in _VALIDATION:
        raise AttributeError(f"module 'compiler.api' has no attribute {name!r}")
    value = getattr(importlib.import_module("compiler.validation"), name)
    globals()[name] = value
    return value
