"""Format-level verifiers: the file parses as what its name says."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import yaml

from compiler.diagnostics import Diagnostic, error
from compiler.verify import VerifyContext, file_location, verifier

if TYPE_CHECKING:
    from compiler.render import RenderedFile


@verifier("yaml")
def verify_yaml(file: RenderedFile, context: VerifyContext) -> list[Diagnostic]:
    """Every document parses with the safe loader."""
    try:
        list(yaml.load_all(file.content, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (0, 0)
        return [
            error(
                "VER001",
                f"generated YAML does not parse: {exc.problem}",
                file_location(file, line, column),
                hint=f"template {file.template}",
            )
        ]
    return []


@verifier("json")
def verify_json(file: RenderedFile, context: VerifyContext) -> list[Diagnostic]:
    try:
        json.loads(file.content)
    except json.JSONDecodeError as exc:
        return [
            error(
                "VER002",
                f"generated JSON does not parse: {exc.msg}",
                file_location(file, exc.lineno, exc.colno),
                hint=f"template {file.template}",
            )
        ]
    return []
