"""A default that decides an error is named in it, so the reader knows which value to set."""

from __future__ import annotations

from pathlib import Path

from compiler.api import validate_spec
from compiler.diagnostics import Diagnostic
from compiler.platform import load_platform
from compiler.scaffold import scaffold_text

ENV = '      model_version: "v1"\n'


def _check(
    tmp_path: Path, replace: tuple[str, str], platform: str | None = None
) -> list[Diagnostic]:
    text = scaffold_text("churn", "growth", "growth@example.com", None, tmp_path)
    assert replace[0] in text
    spec = tmp_path / "churn.yaml"
    spec.write_text(text.replace(replace[0], replace[1], 1), encoding="utf-8")
    loaded = None
    if platform is not None:
        (tmp_path / "platform.yaml").write_text(
            "apiVersion: specops/v1\nkind: Platform\nmetadata: {name: p, owners: [p@example.com]}\n"
            + platform,
            encoding="utf-8",
        )
        loaded, problems = load_platform(tmp_path / "platform.yaml")
        assert loaded is not None and not problems, problems
    return validate_spec(spec, loaded).diagnostics


def test_replicas_max_left_out_is_named_as_defaulting_to_1(tmp_path: Path) -> None:
    (found,) = _check(tmp_path, (ENV, ENV + "      replicas: {min: 3}\n"))
    assert found.code == "CHK011"
    assert found.message == "replicas.min 3 is greater than replicas.max, which defaults to 1"
    assert found.hint == "set replicas.max to at least 3"
    assert found.location.json_path == ("deploy", "environments", 0, "replicas", "min")


def test_replicas_both_given_names_no_default(tmp_path: Path) -> None:
    (found,) = _check(tmp_path, (ENV, ENV + "      replicas: {min: 3, max: 2}\n"))
    assert found.message == "replicas.min 3 is greater than replicas.max 2"


def test_a_platform_min_over_the_default_max_names_the_default(tmp_path: Path) -> None:
    platform = "defaults:\n  environment:\n    replicas: {min: 3}\n"
    found = _check(tmp_path, ("", ""), platform)
    assert [d.code for d in found] == ["PLT012", "PLT012"]
    assert found[0].message.endswith("replicas min 3 > max 1 (max defaults to 1)")
    assert found[0].location.file.endswith("platform.yaml")


def test_a_gpu_limit_from_the_default_max_gpus_says_so(tmp_path: Path) -> None:
    gpu = "  resources: {gpu: {count: 1}}\n"
    platform = "policies:\n  gpu_limits: {teams: {vision: 2}}\n"
    found = _check(
        tmp_path, ("  task: classification\n", "  task: classification\n" + gpu), platform
    )
    (pol,) = [d for d in found if d.code == "POL007"]
    assert "team 'growth' may use 0 (policies.gpu_limits.max_gpus, which defaults to 0)" in (
        pol.message
    )


def test_a_gpu_limit_set_for_the_team_names_no_default(tmp_path: Path) -> None:
    gpu = "  resources: {gpu: {count: 3}}\n"
    platform = "policies:\n  gpu_limits: {teams: {growth: 2}}\n"
    found = _check(
        tmp_path, ("  task: classification\n", "  task: classification\n" + gpu), platform
    )
    (pol,) = [d for d in found if d.code == "POL007"]
    assert pol.message.startswith("training asks for 3 GPU(s); team 'growth' may use 2 (policy")


def test_a_gate_with_min_over_max_shows_both(tmp_path: Path) -> None:
    found = _check(tmp_path, ("{name: roc_auc, min: 0.7}", "{name: roc_auc, min: 0.7, max: 0.5}"))
    assert [d.message for d in found] == ["gate 'roc_auc': min 0.7 is greater than max 0.5"]
