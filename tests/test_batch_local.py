"""Batch scoring for real (kfp.local): train and publish a version, then score a file with it."""

from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path
from typing import Any

import joblib
import pandas as pd
import pytest
import yaml

from compiler.api import CompileOptions, compile_specs
from compiler.run import LocalOutcome, RunOptions, RunResult, execute_local, run_pipeline

SPECS = Path(__file__).resolve().parents[1] / "specs"
FEATURES = ["customer_id", "tenure_months", "monthly_charges", "plan", "support_tickets"]


def _batch_spec(folder: Path) -> Path:
    """The churn spec with a batch-only environment scoring with the version training publishes."""
    spec = yaml.safe_load((SPECS / "churn-classifier.yaml").read_text(encoding="utf-8"))
    # Not what this test is about, and a latency budget is at the mercy of a busy machine.
    spec["validation"].pop("latency", None)
    spec["validation"].pop("explainability", None)
    spec["deploy"]["environments"].append(
        {
            "name": "nightly",
            "namespace": "ml-nightly",
            "model_version": "v12",
            "serve": False,
            "batch": {
                "schedule": "0 2 * * *",
                "input": {"uri": f"file://{folder / 'input.csv'}", "format": "csv"},
                "output": {"uri": f"file://{folder / 'predictions'}", "format": "csv"},
                "resources": {"cpu": "1", "memory": "1Gi"},
            },
        }
    )
    (folder / "data").mkdir(parents=True)
    (folder / "data" / "churn.csv").write_bytes((SPECS / "data" / "churn.csv").read_bytes())
    path = folder / "churn-batch.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, RunResult, Path]:
    """(spec, training run, compiled output) of the batch variant."""
    folder = tmp_path_factory.mktemp("spec")
    spec = _batch_spec(folder)
    run = run_pipeline(RunOptions(spec, out_dir=folder / "run", echo=io.StringIO()))
    assert run.ok, (run.failed_task, run.failures, run.diagnostics)
    out = folder / "compiled"
    options = CompileOptions(paths=[spec], out_dir=out, targets=["kubeflow", "serving", "argocd"])
    assert compile_specs(options).ok
    return spec, run, out


def _score(trained: tuple[Path, RunResult, Path], rows: pd.DataFrame, out: Path) -> LocalOutcome:
    _, run, compiled = trained
    rows.to_csv(out / "input.csv", index=False)
    ir = (compiled / "kubeflow" / "churn-classifier" / "batch-nightly.yaml").read_text("utf-8")
    arguments: dict[str, Any] = {
        "input_uri": f"file://{out / 'input.csv'}",
        "model_uri": str(run.published),
        "output_uri": f"file://{out / 'predictions'}",
        # what the release workflow fills in as the parameter's default
        "spec_sha256": hashlib.sha256(trained[0].read_bytes()).hexdigest(),
    }
    return execute_local(ir, arguments, out / "kfp", io.StringIO())


@pytest.fixture(scope="module")
def scored(
    trained: tuple[Path, RunResult, Path], tmp_path_factory: pytest.TempPathFactory
) -> tuple[pd.DataFrame, LocalOutcome]:
    rows = pd.read_csv(SPECS / "data" / "churn.csv").tail(37)[FEATURES]
    return rows, _score(trained, rows, tmp_path_factory.mktemp("score"))


def test_batch_writes_the_models_predictions(
    trained: tuple[Path, RunResult, Path], scored: tuple[pd.DataFrame, LocalOutcome]
) -> None:
    rows, outcome = scored
    assert outcome.failed_task is None, outcome.failures
    folder = Path(str(outcome.output).removeprefix("file://"))
    assert sorted(p.name for p in folder.iterdir()) == ["metadata.json", "predictions.csv"]
    predictions = pd.read_csv(folder / "predictions.csv")
    assert len(predictions) == len(rows) == 37
    assert list(predictions.columns) == [*FEATURES, "prediction", "probability_0", "probability_1"]
    assert list(predictions["customer_id"]) == list(rows["customer_id"])
    model = joblib.load(Path(str(trained[1].published), "model.joblib"))
    expected = model.predict(rows[list(model.feature_names_in_)])
    assert list(predictions["prediction"]) == list(expected)
    probability = model.predict_proba(rows[list(model.feature_names_in_)])[:, 1]
    assert (
        predictions["probability_1"].round(6).tolist() == pd.Series(probability).round(6).tolist()
    )


def test_batch_metadata_names_version_spec_and_rows(
    trained: tuple[Path, RunResult, Path], scored: tuple[pd.DataFrame, LocalOutcome]
) -> None:
    spec, run, _ = trained
    folder = Path(str(scored[1].output).removeprefix("file://"))
    metadata = json.loads((folder / "metadata.json").read_text(encoding="utf-8"))
    assert metadata["model_version"] == metadata["pinned_model_version"] == "v12"
    assert metadata["spec_sha256"] == hashlib.sha256(spec.read_bytes()).hexdigest()
    assert metadata["model_spec_sha256"] == metadata["spec_sha256"]  # trained from this spec
    assert metadata["model_uri"] == run.published
    assert metadata["environment"] == "nightly"
    assert metadata["rows_in"] == metadata["rows_out"] == 37
    digest = hashlib.sha256((folder / "predictions.csv").read_bytes()).hexdigest()
    assert metadata["sha256"] == f"sha256:{digest}" and metadata["file"] == "predictions.csv"


def test_a_batch_only_environment_gets_no_serving_files(
    trained: tuple[Path, RunResult, Path],
) -> None:
    compiled = trained[2]
    assert (compiled / "deploy" / "prod" / "churn-classifier" / "inferenceservice.yaml").is_file()
    assert not (compiled / "deploy" / "nightly").exists()
    assert not (compiled / "argocd" / "nightly").exists()
    assert not (compiled / "kubeflow" / "churn-classifier" / "batch-prod.yaml").exists()


def test_input_that_breaks_the_feature_schema_fails_clearly(
    trained: tuple[Path, RunResult, Path], tmp_path: Path
) -> None:
    rows = pd.read_csv(SPECS / "data" / "churn.csv").head(10)[FEATURES].astype(object)
    rows.loc[3, "monthly_charges"] = "lots"
    rows = rows.drop(columns=["support_tickets"])
    outcome = _score(trained, rows, tmp_path)
    assert outcome.failed_task == "validate-data"
    assert any("'support_tickets'" in f and "missing" in f for f in outcome.failures)
    assert any("'monthly_charges'" in f and "type float" in f for f in outcome.failures)
    assert not (tmp_path / "predictions").exists()
