"""The model registry (`registry: {kind: mlflow}`): settings, diagnostics and what it renders.

Fast: nothing here imports MLflow. tests/test_registry_run.py runs it for real (kfp.local, a
sqlite tracking store, the generated promotion step).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from compiler.api import CompileOptions, compile_specs, validate
from compiler.cli import run
from compiler.planner import build_plan
from compiler.run import required_modules
from tests.conftest import REPO

SPECS = REPO / "specs"
GOLDEN = REPO / "tests" / "golden"
PLATFORM = REPO / "tests" / "platform_fixtures" / "registry-platform.yaml"
PASSING = REPO / "tests" / "platform_fixtures" / "policies" / "registry_required.pass.yaml"


def _spec(tmp_path: Path, source: str, change: Any) -> Path:
    data = yaml.safe_load((SPECS / source).read_text(encoding="utf-8"))
    change(data)
    if not (tmp_path / "data").exists():
        (tmp_path / "data").symlink_to(SPECS / "data")
    path = tmp_path / source
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def _plan(path: Path, platform: Path | None = None) -> Any:
    checked = validate([path], platform)
    assert checked.ok, checked.diagnostics
    [spec] = checked.specs
    assert spec.resolved is not None
    return build_plan(spec.resolved)


def test_specs_without_a_registry_render_no_registry_code() -> None:
    for name in ("churn-classifier", "vision-defects"):
        for path in (GOLDEN / "kubeflow" / name).glob("*.py"):
            text = path.read_text(encoding="utf-8")
            assert "mlflow" not in text and "register_model" not in text, path
    for path in (GOLDEN / ".github" / "workflows").glob("specops-churn-classifier-*.yml"):
        assert "registry" not in path.read_text(encoding="utf-8")


def test_the_platform_gives_the_tracking_uri_and_token_and_the_name_defaults_to_the_spec() -> None:
    plan = _plan(PASSING, PLATFORM)
    assert plan.registry.tracking_uri == "https://mlflow.acme.io"
    assert plan.registry.model_name == "registry-required-pass"
    assert (plan.registry.token.secret, plan.registry.token.key) == ("mlflow-token", "token")
    assert plan.registry.ci_token_secret == "MLFLOW_TRACKING_TOKEN"


def test_the_spec_wins_over_the_platform(tmp_path: Path) -> None:
    spec = tmp_path / "spec.yaml"
    own = {
        "kind": "mlflow",
        "tracking_uri": "https://mlflow.team.acme.io",
        "model_name": "churn",
        "token": {"secret": "team-mlflow", "key": "pat"},
        "ci_token_secret": "TEAM_MLFLOW",
    }
    data = yaml.safe_load(PASSING.read_text(encoding="utf-8"))
    spec.write_text(yaml.safe_dump({**data, "registry": own}), encoding="utf-8")
    registry = _plan(spec, PLATFORM).registry
    assert (registry.tracking_uri, registry.model_name) == ("https://mlflow.team.acme.io", "churn")
    assert (registry.token.secret, registry.token.key, registry.ci_token_secret) == (
        "team-mlflow", "pat", "TEAM_MLFLOW",
    )  # fmt: skip


def test_without_the_platform_nothing_gives_a_tracking_uri() -> None:
    result = validate([PASSING])
    assert "CHK029" in {d.code for d in result.diagnostics}


def test_a_custom_model_cannot_be_registered(tmp_path: Path) -> None:
    def change(spec: dict[str, Any]) -> None:
        spec["registry"] = {"kind": "mlflow", "tracking_uri": "https://mlflow.acme.io"}

    [found] = validate([_spec(tmp_path, "vision-defects.yaml", change)]).diagnostics
    assert found.code == "CHK031" and "no MLflow flavour" in found.message
    assert found.location.json_path == ("registry",)


@pytest.mark.parametrize(
    "uri",
    [
        "https://admin:hunter2@mlflow.acme.io",
        "https://token@mlflow.acme.io",
        "sqlite:///relative.db",
        "postgresql://mlflow.acme.io/db",
        "https://mlflow.acme.io/?token=abc",
        "https://mlflow.acme.io/${{ secrets.X }}",
    ],
)
def test_hostile_tracking_uris_are_refused_where_they_are_written(tmp_path: Path, uri: str) -> None:
    def change(spec: dict[str, Any]) -> None:
        spec["registry"] = {"kind": "mlflow", "tracking_uri": uri}

    result = validate([_spec(tmp_path, "demand-forecast.yaml", change)])
    assert not result.ok
    where = ("registry", "tracking_uri")
    located = [d for d in result.diagnostics if d.location.json_path == where]
    assert located and all(d.location.line >= 1 for d in located)
    shown = "\n".join(d.message for d in result.diagnostics)
    assert "hunter2" not in shown


def test_promotion_sets_the_alias_from_the_ci_secret_and_never_writes_a_token() -> None:
    workflow = yaml.safe_load(
        (GOLDEN / ".github/workflows/specops-demand-forecast-release.yml").read_text()
    )
    for env, version in (("dev", "v41"), ("staging", "v40"), ("prod", "v39")):
        steps = workflow["jobs"][f"promote-{env}"]["steps"]
        names = [s["name"] for s in steps]
        alias = names.index(f"Point the registry alias {env} at {version}")
        # after the promotion pull request, with the MLflow client the pipeline pins
        assert names.index("Open the promotion pull request") < alias
        assert steps[alias - 1]["run"] == "python -m pip install -- mlflow-skinny==3.17.2"
        assert steps[alias]["env"] == {
            "SPECOPS_REGISTRY_URI": "https://mlflow.acme.io",
            "SPECOPS_REGISTERED_MODEL": "demand-forecast",
            "SPECOPS_MODEL_VERSION": version,
            "SPECOPS_ALIAS": env,
            "MLFLOW_TRACKING_TOKEN": "${{ secrets.MLFLOW_TRACKING_TOKEN }}",
        }
        assert "set_registered_model_alias" in steps[alias]["run"]
    # demand-forecast releases from GitHub only; the next test renders its GitLab jobs
    assert not (GOLDEN / "ci/gitlab/demand-forecast.gitlab-ci.yml").exists()


def test_the_gitlab_promotion_sets_the_alias_even_when_the_manifests_did_not_change(
    tmp_path: Path,
) -> None:
    spec = _spec(tmp_path, "demand-forecast.yaml", lambda s: s.update(ci={"providers": ["gitlab"]}))
    out = tmp_path / "out"
    assert compile_specs(CompileOptions(paths=[spec], out_dir=out, targets=["ci"])).ok
    jobs = yaml.safe_load((out / "ci/gitlab/demand-forecast.gitlab-ci.yml").read_text())
    job = jobs["specops-demand-forecast-promote-prod"]
    assert job["variables"]["MLFLOW_TRACKING_TOKEN"] == "$MLFLOW_TRACKING_TOKEN"
    assert job["variables"]["SPECOPS_ALIAS"] == {"value": "prod", "expand": False}
    git, *rest = job["script"]
    assert 'echo "nothing to promote"; else' in git and "exit 0" not in git
    assert rest[1] == "python -m pip install -- mlflow-skinny==3.17.2"
    assert "set_registered_model_alias" in rest[2]


def test_the_pipeline_registers_after_publishing_with_the_token_by_reference() -> None:
    text = (GOLDEN / "kubeflow/demand-forecast/pipeline.py").read_text(encoding="utf-8")
    assert "REGISTRY_URI = 'https://mlflow.acme.io'" in text
    assert "REGISTERED_MODEL = 'demand-forecast'" in text
    assert "registry_uri: str = REGISTRY_URI," in text
    assert "published_uri=publish.output," in text
    assert "mlflow.lightgbm.log_model(" in text
    secret = "'mlflow-token', {'token': 'MLFLOW_TRACKING_TOKEN'}"
    assert f"kubernetes.use_secret_as_env(register, {secret})" in text
    ir = (GOLDEN / "kubeflow/demand-forecast/pipeline.yaml").read_text(encoding="utf-8")
    assert "register-model" in ir and "mlflow-skinny==3.17.2" in ir


def test_a_sqlite_store_gets_its_database_packages(tmp_path: Path) -> None:
    def change(spec: dict[str, Any]) -> None:
        spec["registry"] = {"kind": "mlflow", "tracking_uri": "sqlite:////var/mlflow/mlflow.db"}

    out = tmp_path / "out"
    spec = _spec(tmp_path, "demand-forecast.yaml", change)
    assert compile_specs(CompileOptions(paths=[spec], out_dir=out, targets=["kubeflow"])).ok
    text = (out / "kubeflow/demand-forecast/pipeline.py").read_text(encoding="utf-8")
    assert "'mlflow-skinny==3.17.2', 'sqlalchemy==2.1.9', 'alembic==1.20.1']" in text
    loaded = validate([spec]).specs[0].spec
    assert loaded is not None
    assert {"mlflow", "sqlalchemy", "alembic"} <= set(required_modules(loaded))


def test_explain_says_where_an_omitted_registry_field_comes_from(
    capsys: pytest.CaptureFixture[str],
) -> None:
    spec, platform = str(PASSING.relative_to(REPO)), str(PLATFORM.relative_to(REPO))
    assert run(["explain", spec, "$.registry.tracking_uri", "--platform", platform]) == 0
    out = capsys.readouterr().out
    assert 'final value: "https://mlflow.acme.io"' in out
    assert "chosen by:   the platform's $.defaults.registry_tracking_uri (tests/platform" in out
    assert run(["explain", spec, "$.registry.model_name", "--platform", platform]) == 0
    assert "chosen by:   metadata.name (tests/platform_fixtures/policies/registry_required" in (
        capsys.readouterr().out
    )


@pytest.mark.parametrize(
    ("blocked", "message"),
    [
        (["mlflow"], "needs mlflow-skinny, not installed here\n"
         "  hint: pip install 'specops[registry]'"),
        (["lightgbm", "alembic"], "needs alembic, lightgbm, not installed here\n"
         "  hint: pip install 'specops[run,registry]'"),
    ],
)  # fmt: skip
def test_a_local_run_names_the_registry_extra_before_any_step(
    tmp_path: Path, blocked: list[str], message: str
) -> None:
    """As tests/security/test_run_packages.py: modules made unimportable in a child process."""
    program = (
        "import sys\n"
        f"for name in {blocked!r}:\n"
        "    sys.modules[name] = None\n"
        "from compiler.cli import main\n"
        f"sys.argv = ['specops', 'run', 'specs/demand-forecast.yaml', '--local', '--out-dir', "
        f"{str(tmp_path)!r}]\n"
        "main()\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", program], cwd=REPO, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 1 and message in done.stderr, done.stderr
    assert not (tmp_path / "kfp-outputs").exists()
