"""Policies: each one with a spec that passes and a spec that breaks it, under the test platform.

The failing specs' diagnostics are golden text next to them (`<policy>.fail.expected`).
Regenerate: SPECOPS_UPDATE_GOLDEN=1 pytest tests/test_policies.py
"""

from __future__ import annotations

from pathlib import Path

import pytest

from compiler.api import validate
from compiler.diagnostics import Severity
from compiler.platform.policies import POLICY_RULES
from compiler.report import TextReporter
from tests.conftest import REPO, UPDATE_GOLDEN

FIXTURES = Path("tests/platform_fixtures")
PLATFORM = FIXTURES / "platform.yaml"
POLICIES = FIXTURES / "policies"
KEYS = sorted(POLICY_RULES)
# Policies whose fixtures need a platform of their own (under platform.yaml's policies, every
# other fixture would have to satisfy them too).
OWN_PLATFORM = {
    "champion_gate": FIXTURES / "champion-platform.yaml",
    "registry_required": FIXTURES / "registry-platform.yaml",
}


def _platform(key: str) -> Path:
    return OWN_PLATFORM.get(key, PLATFORM)


def test_every_policy_has_a_passing_and_a_failing_spec() -> None:
    found = {p.name.split(".")[0] for p in (REPO / POLICIES).glob("*.yaml")}
    assert found == set(KEYS)


def test_policy_codes_are_stable() -> None:
    assert {k: r.code for k, r in POLICY_RULES.items()} == {
        "image_digest": "POL001",
        "allowed_registries": "POL002",
        "allowed_data_sources": "POL003",
        "canary_limit": "POL004",
        "monitoring_required": "POL005",
        "approval_required": "POL006",
        "gpu_limits": "POL007",
        "owners_required": "POL008",
        "champion_gate": "POL009",
        "registry_required": "POL010",
    }


@pytest.mark.parametrize("key", KEYS)
def test_passing_spec_is_clean(key: str) -> None:
    result = validate([POLICIES / f"{key}.pass.yaml"], _platform(key))
    assert result.diagnostics == []


@pytest.mark.parametrize("key", KEYS)
def test_failing_spec_breaks_exactly_its_policy(key: str) -> None:
    result = validate([POLICIES / f"{key}.fail.yaml"], _platform(key))
    assert not result.ok
    assert {d.code for d in result.diagnostics} == {POLICY_RULES[key].code}
    text = TextReporter().render(result.diagnostics, len(result.specs))
    expected = REPO / POLICIES / f"{key}.fail.expected"
    if UPDATE_GOLDEN:
        expected.write_text(text, encoding="utf-8")
    assert text == expected.read_text(encoding="utf-8")


@pytest.mark.parametrize("key", KEYS)
def test_violation_points_at_the_spec_and_relates_the_policy(key: str) -> None:
    (diagnostic,) = validate([POLICIES / f"{key}.fail.yaml"], _platform(key)).diagnostics
    assert diagnostic.location.file == (POLICIES / f"{key}.fail.yaml").as_posix()
    assert diagnostic.location.line >= 1
    policy_lines = [r for r in diagnostic.related if r.file == _platform(key).as_posix()]
    assert policy_lines and all(r.line >= 1 for r in policy_lines)
    assert policy_lines[0].json_path[:2] == ("policies", key)


def test_without_a_platform_no_policy_runs() -> None:
    for key in KEYS:
        found = {d.code for d in validate([POLICIES / f"{key}.fail.yaml"]).diagnostics}
        # the fixtures leave their GitOps settings to the platform: without it, only those
        assert found <= {"CHK024", "CHK025", "CHK026"} and "CHK024" in found, key


def _write_only_staging(tmp_path: Path, source: Path) -> Path:
    text = (REPO / source).read_text()
    head, _, _ = text.partition("    - name: prod\n")
    monitoring = text[text.index("monitoring:") :]
    spec = tmp_path / "staging-only.yaml"
    spec.write_text(head + monitoring)
    return spec


def test_severity_follows_the_environments_a_spec_deploys_to(tmp_path: Path) -> None:
    """image_digest is a warning by default and an error in prod (see the test platform)."""
    spec = _write_only_staging(tmp_path, POLICIES / "image_digest.fail.yaml")
    result = validate([spec], PLATFORM)
    assert [(d.code, d.severity) for d in result.diagnostics] == [("POL001", Severity.WARNING)]
    assert result.ok


def test_an_environment_scoped_policy_is_off_outside_its_environments(tmp_path: Path) -> None:
    spec = _write_only_staging(tmp_path, POLICIES / "canary_limit.fail.yaml")
    assert validate([spec], PLATFORM).diagnostics == []


def test_platform_layers_count_for_policies() -> None:
    """approval_required passes because the platform's prod environment requires approval."""
    spec = (REPO / POLICIES / "approval_required.pass.yaml").read_text()
    assert "approval:" not in spec
    assert validate([POLICIES / "approval_required.pass.yaml"], PLATFORM).ok


def test_a_platform_default_that_breaks_a_policy_is_located_in_the_platform(
    tmp_path: Path,
) -> None:
    platform = (
        (REPO / PLATFORM)
        .read_text()
        .replace(
            "    approval: required\n",
            "    approval: required\n    canary: {traffic_percent: 50}\n",
        )
    )
    (tmp_path / "templates").mkdir()
    (tmp_path / "platform.yaml").write_text(platform)
    result = validate([POLICIES / "canary_limit.pass.yaml"], tmp_path / "platform.yaml")
    # the spec sets 25%, so the platform's 50% is overridden and nothing is wrong ...
    assert result.diagnostics == []
    result = validate([POLICIES / "owners_required.pass.yaml"], tmp_path / "platform.yaml")
    # ... while a spec without a canary inherits 50%, which the platform's own policy refuses
    (diagnostic,) = result.diagnostics
    assert diagnostic.code == "POL004"
    assert diagnostic.location.file.endswith("platform.yaml")


def test_example_specs_follow_the_example_platform() -> None:
    result = validate([Path("specs")], Path("specs/platform/platform.yaml"))
    assert result.diagnostics == []
    assert len(result.specs) == 3


def test_a_champion_gate_may_drop_no_more_than_the_platform_allows(tmp_path: Path) -> None:
    text = (REPO / POLICIES / "champion_gate.pass.yaml").read_text()
    spec = tmp_path / "lenient.yaml"
    spec.write_text(text.replace("max_drop: 0.01}", "max_drop: 0.05}"))
    (diagnostic,) = validate([spec], _platform("champion_gate")).diagnostics
    assert (diagnostic.code, diagnostic.severity) == ("POL009", Severity.ERROR)
    assert "0.05 worse than 'prod'" in diagnostic.message and "at most 0.02" in diagnostic.message
    assert diagnostic.location.json_path == ("validation", "metrics", 0, "max_drop")


def test_a_champion_gate_against_staging_does_not_satisfy_prod(tmp_path: Path) -> None:
    text = (REPO / POLICIES / "champion_gate.pass.yaml").read_text()
    spec = tmp_path / "staging.yaml"
    spec.write_text(text.replace("against: prod", "against: staging"))
    (diagnostic,) = validate([spec], _platform("champion_gate")).diagnostics
    assert diagnostic.code == "POL009" and "'prod'" in diagnostic.message
    assert diagnostic.location.json_path == ("deploy", "environments", 1, "name")
