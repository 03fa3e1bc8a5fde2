"""`specops run --local`: the bundled example trains, gates and publishes for real (kfp.local)."""

from __future__ import annotations

import hashlib
import io
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import joblib
import pandas as pd
import pytest
import yaml

from compiler.run import LocalOutcome, RunOptions, RunResult, execute_local, run_pipeline

REPO = Path(__file__).resolve().parents[1]
SPECS = REPO / "specs"
CHURN = SPECS / "churn-classifier.yaml"


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", "from compiler.cli import main; main()", *args],
        capture_output=True, text=True, cwd=REPO, timeout=600,
    )  # fmt: skip


def _variant(folder: Path, change: Any) -> Path:
    """A copy of the churn spec (with its data) changed by `change(spec_dict)`."""
    spec = yaml.safe_load(CHURN.read_text(encoding="utf-8"))
    change(spec)
    (folder / "data").mkdir(parents=True)
    (folder / "data" / "churn.csv").write_bytes((SPECS / "data" / "churn.csv").read_bytes())
    path = folder / "churn-variant.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def churn_run(tmp_path_factory: pytest.TempPathFactory) -> RunResult:
    out = tmp_path_factory.mktemp("run")
    return run_pipeline(RunOptions(CHURN, out_dir=out, echo=io.StringIO()))


def test_churn_trains_passes_its_gates_and_publishes(churn_run: RunResult) -> None:
    assert churn_run.ok, (churn_run.failed_task, churn_run.failures, churn_run.diagnostics)
    assert churn_run.out_dir is not None
    published = churn_run.out_dir / "models" / "v12"
    assert churn_run.published == str(published)
    files = sorted(p.name for p in published.iterdir())
    assert files == ["explanation.json", "metadata.json", "model.joblib", "reference.json"]


def test_published_metadata_makes_the_model_reproducible(churn_run: RunResult) -> None:
    assert churn_run.published is not None
    metadata = json.loads(Path(churn_run.published, "metadata.json").read_text(encoding="utf-8"))
    assert metadata["spec"] == "churn-classifier"
    assert metadata["spec_sha256"] == hashlib.sha256(CHURN.read_bytes()).hexdigest()
    assert metadata["code_revision"] == "3f9c2a1e7b4d5c6a8e9f0a1b2c3d4e5f6a7b8c9d"
    data_hash = hashlib.sha256((SPECS / "data" / "churn.csv").read_bytes()).hexdigest()
    [source] = metadata["data"]
    assert source["version"] == "2026-11-01" and source["sha256"] == f"sha256:{data_hash}"
    assert source["rows"] == 600
    assert metadata["metrics"]["roc_auc"] >= 0.7 and metadata["metrics"]["accuracy"] >= 0.6
    assert metadata["model"]["params"]["n_estimators"] == 150  # an int, as the spec says


def test_published_model_predicts(churn_run: RunResult) -> None:
    assert churn_run.published is not None
    model = joblib.load(Path(churn_run.published, "model.joblib"))
    rows = pd.read_csv(SPECS / "data" / "churn.csv").head(5)
    assert set(model.predict(rows[list(model.feature_names_in_)])) <= {0, 1}


def test_run_writes_the_compiled_pipeline_it_ran(churn_run: RunResult) -> None:
    assert churn_run.out_dir is not None
    assert (churn_run.out_dir / "pipeline.py").is_file()
    assert (churn_run.out_dir / "pipeline.yaml").read_text(encoding="utf-8").count(
        "sdkVersion"
    ) == 1


def _impossible_gate(spec: dict[str, Any]) -> None:
    spec["validation"]["metrics"][0]["min"] = 0.999


def test_an_impossible_gate_fails_before_publishing(tmp_path: Path) -> None:
    spec = _variant(tmp_path / "spec", _impossible_gate)
    out = tmp_path / "run"
    done = _cli("run", str(spec), "--local", "--out-dir", str(out))
    assert done.returncode == 1, done.stderr[-2000:]
    assert "gate roc_auc" in done.stdout and "below the minimum 0.999" in done.stdout
    assert "nothing was published" in done.stdout
    assert not (out / "models").exists()


def _broken_rows(folder: Path) -> None:
    """Data that breaks one rule per column, and too few rows."""
    rows = pd.read_csv(SPECS / "data" / "churn.csv").head(100).astype(object)
    rows.loc[0, "tenure_months"] = -5  # min
    rows.loc[1, "tenure_months"] = 500  # max
    rows.loc[2, "monthly_charges"] = "lots"  # type
    rows.loc[3, "plan"] = None  # nullable, null_fraction
    rows.loc[4, "plan"] = "gold"  # allowed
    rows.loc[5, "customer_id"] = rows.loc[6, "customer_id"]  # unique
    rows = rows.drop(columns=["support_tickets"])  # missing column
    rows.to_csv(folder / "data" / "churn.csv", index=False)


def test_failing_data_checks_name_column_and_rule(tmp_path: Path) -> None:
    spec = _variant(tmp_path / "spec", lambda s: None)
    _broken_rows(tmp_path / "spec")
    result = run_pipeline(RunOptions(spec, out_dir=tmp_path / "run", echo=io.StringIO()))
    assert not result.ok and result.failed_task == "validate-data"
    expected = [
        ("'tenure_months'", "min 0"),
        ("'tenure_months'", "max 120"),
        ("'monthly_charges'", "type float"),
        ("'plan'", "nullable is false"),
        ("'plan'", "allowed"),
        ("'plan'", "null_fraction"),
        ("'customer_id'", "unique"),
        ("'support_tickets'", "missing"),
        ("min_rows", "100 row(s)"),
        ("row_count", "100 row(s)"),
    ]
    for column, rule in expected:
        assert any(column in f and rule in f for f in result.failures), (column, rule)
    assert result.published is None


def test_custom_framework_says_it_cannot_run_locally() -> None:
    done = _cli("run", "specs/vision-defects.yaml", "--local")
    assert done.returncode == 1
    assert "container" in done.stderr and "Kubeflow cluster" in done.stderr
    assert "Traceback" not in done.stderr


def test_run_needs_local() -> None:
    done = _cli("run", "specs/churn-classifier.yaml")
    assert done.returncode == 2 and "--local" in done.stderr


def test_an_invalid_spec_is_reported_not_run(tmp_path: Path) -> None:
    spec = _variant(tmp_path / "spec", lambda s: s["data"].update(target="nope"))
    done = _cli("run", str(spec), "--local", "--out-dir", str(tmp_path / "run"))
    assert done.returncode == 1 and "CHK001" in done.stderr
    assert not (tmp_path / "run").exists()


@pytest.fixture(scope="module")
def monitoring_ir(tmp_path_factory: pytest.TempPathFactory) -> str:
    from compiler.api import CompileOptions, compile_specs

    out = tmp_path_factory.mktemp("compiled")
    result = compile_specs(CompileOptions(paths=[CHURN], out_dir=out, targets=["kubeflow"]))
    assert result.ok
    return (out / "kubeflow" / "churn-classifier" / "monitoring.yaml").read_text(encoding="utf-8")


def _monitor(ir: str, run: RunResult, current: str, root: Path) -> LocalOutcome:
    assert run.published is not None
    arguments = {
        "data_root": str(SPECS),
        "current_uri": current,
        "reference_uri": str(Path(run.published, "reference.json")),
    }
    return execute_local(ir, arguments, root, io.StringIO())


def test_monitoring_passes_on_data_like_the_training_data(
    monitoring_ir: str, churn_run: RunResult, tmp_path: Path
) -> None:
    outcome = _monitor(monitoring_ir, churn_run, "data/churn.csv", tmp_path)
    assert outcome.failed_task is None, outcome.failures
    assert 0 <= outcome.output < 0.2


def test_monitoring_fails_on_drifted_data(
    monitoring_ir: str, churn_run: RunResult, tmp_path: Path
) -> None:
    rows = pd.read_csv(SPECS / "data" / "churn.csv")
    rows["monthly_charges"] *= 1.8
    rows["plan"] = "enterprise"
    rows.to_csv(tmp_path / "recent.csv", index=False)
    outcome = _monitor(monitoring_ir, churn_run, f"file://{tmp_path / 'recent.csv'}", tmp_path)
    assert outcome.failed_task == "detect-drift"
    [failure] = outcome.failures
    assert "psi threshold 0.2" in failure and "monthly_charges" in failure and "plan" in failure


def _xgboost(spec: dict[str, Any]) -> None:
    params = {"n_estimators": 40, "max_depth": 3, "random_state": 1}
    spec["model"].update(framework="xgboost", estimator="xgboost.XGBClassifier", params=params)


def _lightgbm_regression(spec: dict[str, Any]) -> None:
    params = {"n_estimators": 40, "verbose": -1, "random_state": 1}
    spec["model"].update(
        framework="lightgbm", task="regression", estimator="lightgbm.LGBMRegressor", params=params
    )
    spec["data"].update(target="monthly_charges", split={"test_fraction": 0.25, "seed": 1})
    spec["validation"].update(metrics=[{"name": "rmse", "max": 1000.0}], data_checks=[])


def _xgboost_features(path: Path) -> int:
    import xgboost

    features: int = xgboost.Booster(model_file=str(path)).num_features()
    return features


def _lightgbm_features(path: Path) -> int:
    import lightgbm

    features: int = lightgbm.Booster(model_file=str(path)).num_feature()
    return features


@pytest.mark.filterwarnings("ignore:.*Unknown file format")  # KServe's name for UBJSON boosters
@pytest.mark.parametrize(
    ("change", "features"),
    [(_xgboost, _xgboost_features), (_lightgbm_regression, _lightgbm_features)],
)
def test_boosting_frameworks_also_publish_their_native_booster(
    change: Any, features: Any, tmp_path: Path
) -> None:
    spec = _variant(tmp_path / "spec", change)
    result = run_pipeline(RunOptions(spec, out_dir=tmp_path / "run", echo=io.StringIO()))
    assert result.ok, (result.failed_task, result.failures)
    assert result.published is not None
    assert features(Path(result.published, "model.bst")) > 0


def test_sources_in_two_formats_are_joined_on_their_shared_column(tmp_path: Path) -> None:
    def two_sources(spec: dict[str, Any]) -> None:
        spec["data"]["sources"] = [
            {"name": "accounts", "uri": "data/accounts.csv", "format": "csv", "version": "1"},
            {"name": "tickets", "uri": "data/tickets.jsonl", "format": "jsonl", "version": "2"},
        ]

    spec = _variant(tmp_path / "spec", two_sources)
    rows = pd.read_csv(SPECS / "data" / "churn.csv")
    data = tmp_path / "spec" / "data"
    rows.drop(columns=["support_tickets"]).to_csv(data / "accounts.csv", index=False)
    tickets = rows[["customer_id", "support_tickets"]]
    tickets.to_json(data / "tickets.jsonl", orient="records", lines=True)
    result = run_pipeline(RunOptions(spec, out_dir=tmp_path / "run", echo=io.StringIO()))
    assert result.ok, (result.failed_task, result.failures)
    assert result.published is not None
    metadata = json.loads(Path(result.published, "metadata.json").read_text(encoding="utf-8"))
    assert [(d["name"], d["version"], d["rows"]) for d in metadata["data"]] == [
        ("accounts", "1", 600),
        ("tickets", "2", 600),
    ]
    assert "support_tickets" in metadata["model"]["features"]
