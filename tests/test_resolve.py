"""The resolution stage: each spec is resolved against its platform once per run, and the one
`ResolvedSpec` is what the checks, the policies and the plan read."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from compiler.api import CompileOptions, compile_specs, validate, validate_spec
from compiler.planner import build_plan
from compiler.platform import load_platform
from compiler.platform import resolve as resolve_module
from compiler.platform.resolve import ResolvedSpec, resolve_spec
from tests.conftest import REPO

FIXTURES = REPO / "tests" / "platform_fixtures"
PLATFORM = FIXTURES / "platform.yaml"
SPEC = FIXTURES / "specs" / "churn.yaml"


def _counting(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The names of the specs layered from now on (the real layering runs)."""
    layered: list[str] = []
    real: Callable[..., Any] = resolve_module.layer_spec

    def counted(*args: Any) -> Any:
        layered.append(args[1].metadata.name)
        return real(*args)

    monkeypatch.setattr(resolve_module, "layer_spec", counted)
    return layered


def test_a_compile_resolves_each_spec_once(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    layered = _counting(monkeypatch)
    options = CompileOptions([SPEC], tmp_path / "out", targets=["argocd"], platform=PLATFORM)
    result = compile_specs(options)
    assert result.ok, result.diagnostics
    assert layered == ["churn"]  # validated once, planned from that


def test_the_plan_is_built_from_the_validated_resolution() -> None:
    result = validate([SPEC], PLATFORM)
    [item] = result.specs
    assert item.resolved is not None and item.resolved.spec is item.spec
    plan = build_plan(item.resolved)
    assert plan.spec is item.resolved.effective
    staging = plan.environments[0]
    assert (staging.namespace, staging.kfp_host) == (
        "growth-staging",
        "https://kfp.staging.acme.io",
    )
    assert plan.defaults.kfp_host_secret == "ACME_KFP_HOST"  # the platform's, via .defaults


def _resolved(spec: Path, platform: Path | None) -> ResolvedSpec:
    loaded_platform = load_platform(platform)[0] if platform else None
    assert loaded_platform is not None or platform is None
    item = validate_spec(spec, loaded_platform)
    assert item.resolved is not None, item.diagnostics
    return item.resolved


def _edited_platform(tmp_path: Path, old: str, new: str) -> Path:
    text = PLATFORM.read_text(encoding="utf-8")
    assert old in text
    tmp_path.mkdir()
    path = tmp_path / "platform.yaml"
    path.write_text(text.replace(old, new), encoding="utf-8")
    (tmp_path / "templates").symlink_to(FIXTURES / "templates", target_is_directory=True)
    return path


def test_the_fingerprint_changes_with_what_the_plan_reads_only(tmp_path: Path) -> None:
    before = _resolved(SPEC, PLATFORM).fingerprint()
    assert _resolved(SPEC, PLATFORM).fingerprint() == before
    policy = _edited_platform(tmp_path / "policy", "max_percent: 25", "max_percent: 30")
    assert _resolved(SPEC, policy).fingerprint() == before  # policies do not reach the plan
    host = _edited_platform(tmp_path / "host", "kfp.staging.acme.io", "kfp2.staging.acme.io")
    assert _resolved(SPEC, host).fingerprint() != before
    secret = _edited_platform(tmp_path / "secret", "ACME_KFP_HOST", "OTHER_KFP_HOST")
    assert _resolved(SPEC, secret).fingerprint() != before
    assert _resolved(SPEC, None).fingerprint() != before


def test_without_a_platform_the_spec_is_its_own_resolution(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    layered = _counting(monkeypatch)
    item = validate_spec(SPEC)
    assert item.spec is not None and item.loaded is not None
    resolved = resolve_spec(item.spec, item.loaded)
    assert layered == []  # nothing to layer: validate does not pay for it
    assert resolved.spec is item.spec and resolved.effective is item.spec
    assert resolved.diagnostics == () and resolved.estimators == ()
    assert resolved.platform_layered is None
    assert [layer.name for layer in resolved.layered.layers] == ["spec"]  # made when asked
    assert layered == ["churn"]
