"""specops: a compiler from ML pipeline specs to Kubeflow, CI and GitOps files.

The public names load their modules on first use (PEP 562), so that `specops compile --check`
on unchanged specs does not pay for the spec model it never builds.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from compiler._version import __version__

if TYPE_CHECKING:
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

_HOME = {
    "CompileOptions": "compiler.api",
    "CompileResult": "compiler.api",
    "ValidateResult": "compiler.api",
    "compile_specs": "compiler.api",
    "validate": "compiler.api",
    "validate_spec": "compiler.api",
    "Diagnostic": "compiler.diagnostics",
    "Location": "compiler.diagnostics",
    "Severity": "compiler.diagnostics",
    "OutputConflictError": "compiler.errors",
    "SpecopsError": "compiler.errors",
    "TemplateError": "compiler.errors",
    "UsageError": "compiler.errors",
    "MLPipeline": "compiler.model",
    "LoadedPlatform": "compiler.platform",
    "Platform": "compiler.platform",
    "load_platform": "compiler.platform",
    "RunOptions": "compiler.run",
    "RunResult": "compiler.run",
    "run_pipeline": "compiler.run",
}

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


def __getattr__(name: str) -> Any:
    home = _HOME.get(name)
    if home is None:
        raise AttributeError(f"module 'compiler' has no attribute {name!r}")
    value = getattr(importlib.import_module(home), name)
    globals()[name] = value
    return value
