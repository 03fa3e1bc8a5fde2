"""Render one spec, given as data, through chosen targets the way `compile` does."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import yaml

from compiler.check import run_checks
from compiler.diagnostics import Diagnostic, has_errors
from compiler.loader import load
from compiler.model import build_model
from compiler.plan import Defaults
from compiler.planner import build_plan
from compiler.platform.resolve import resolve_spec
from compiler.render import RenderedFile, Renderer
from compiler.sources import SourceFile
from compiler.targets import builtin_templates, discover_targets, select_targets
from tests.conftest import REPO


def example(name: str) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((REPO / "specs" / f"{name}.yaml").read_text())
    return data


def model_problems(data: dict[str, Any], path: str = "specs/x.yaml") -> list[Diagnostic]:
    text = json.dumps(data)  # JSON is YAML: every string stays a string
    loaded, problems = load(SourceFile(path, text, hashlib.sha256(text.encode()).hexdigest()))
    assert loaded is not None, problems
    spec, problems = build_model(loaded)
    return problems if spec is None else run_checks(spec, loaded)


def render(
    data: dict[str, Any],
    targets: list[str],
    path: str = "specs/x.yaml",
    defaults: Defaults | None = None,
) -> dict[str, str]:
    """{output path: content} of one spec, which must be valid."""
    text = json.dumps(data)
    loaded, problems = load(SourceFile(path, text, hashlib.sha256(text.encode()).hexdigest()))
    assert loaded is not None, problems
    spec, problems = build_model(loaded)
    assert spec is not None, problems
    assert not has_errors(run_checks(spec, loaded)), run_checks(spec, loaded)
    dirs = [builtin_templates()]
    renderer = Renderer(dirs)
    files: list[RenderedFile]
    files, problems = renderer.render(
        build_plan(resolve_spec(spec, loaded, defaults=defaults)),
        select_targets(discover_targets(dirs), targets),
    )
    assert not problems, problems
    return {f.path: f.content for f in files}
