"""Batch scoring for real (kfp.local): train and publish a version, then score a file with it,
through the pipeline IR and through `specops run SPEC --local --batch ENV`."""

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
from compiler.cli import run
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


# --- specops run SPEC --local --batch ENV ------------------------------------------------------


def test_run_batch_scores_with_the_locally_published_model(
    trained: tuple[Path, RunResult, Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    spec, training, _ = trained
    out_dir = Path(str(training.published)).parents[1]  # <out-dir>/models/<version>
    rows = pd.read_csv(SPECS / "data" / "churn.csv").head(23)[FEATURES]
    rows.to_csv(tmp_path / "rows.csv", index=False)
    monkeypatch.chdir(tmp_path)  # --input is relative to where the command runs
    args = [str(spec), "--local", "--batch", "nightly", "--input", "rows.csv"]
    code = run(["run", *args, "--out-dir", str(out_dir)])
    out, err = capsys.readouterr()
    assert code == 0, (out, err)
    [written] = (out_dir / "predictions" / "nightly").iterdir()  # <UTC time>/
    predictions = pd.read_csv(written / "predictions.csv")
    assert list(predictions["customer_id"]) == list(rows["customer_id"])
    metadata = json.loads((written / "metadata.json").read_text(encoding="utf-8"))
    assert metadata["input"]["read_from"] == str(tmp_path / "rows.csv")
    assert metadata["model_uri"] == training.published
    assert metadata["spec_sha256"] == hashlib.sha256(spec.read_bytes()).hexdigest()
    assert out == (
        f"{spec}: environment 'nightly' scored 23 row(s) with model version v12\n"
        f"  predictions: {written / 'predictions.csv'}\n"
        f"  metadata:    {written / 'metadata.json'}\n"
    )
    assert err.startswith(f"specops run: {spec}: 4 steps with kfp.local (ingest-source, "), err
    assert (out_dir / "batch-nightly.yaml").is_file() and (out_dir / "batch-nightly.py").is_file()
    # never the spec's batch.output.uri: a local run does not write to shared storage
    assert not (spec.parent / "predictions").exists()


def _cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = run(["run", *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.mark.parametrize(
    ("env", "problem"),
    [
        ("prod", "--batch prod: environment 'prod' has no batch scoring"),
        ("nope", "--batch nope: no environment 'nope'"),
    ],
)
def test_run_batch_needs_an_environment_that_scores_in_batch(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], env: str, problem: str
) -> None:
    spec = _batch_spec(tmp_path)
    code, out, err = _cli(capsys, str(spec), "--local", "--batch", env, "--out-dir", str(tmp_path))
    assert (code, out) == (2, "")
    assert f"error: {spec}: {problem}\n" in err
    assert "hint: environments that score in batch: nightly\n" in err
    assert "Traceback" not in err


def test_run_batch_without_a_local_model_says_to_train_first(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = _batch_spec(tmp_path)
    run_dir = tmp_path / "run"
    code, out, err = _cli(
        capsys, str(spec), "--local", "--batch", "nightly", "--out-dir", str(run_dir)
    )
    assert (code, out) == (1, "")
    assert f"{run_dir / 'models' / 'v12'} holds no locally published model" in err
    assert f"hint: run `specops run {spec} --local --out-dir {run_dir}` first\n" in err
    assert "Traceback" not in err and not run_dir.exists()


def test_run_batch_refuses_a_linked_model_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = _batch_spec(tmp_path)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    for name in ("model.joblib", "metadata.json"):
        (elsewhere / name).write_text("{}", encoding="utf-8")
    (tmp_path / "run" / "models").mkdir(parents=True)
    (tmp_path / "run" / "models" / "v12").symlink_to(elsewhere)
    args = [str(spec), "--local", "--batch", "nightly", "--out-dir", str(tmp_path / "run")]
    code, _, err = _cli(capsys, *args)
    assert code == 1 and "holds no locally published model" in err


def _published(run_dir: Path) -> None:
    """Stand-ins for a published version: enough for the checks made before any step runs."""
    (run_dir / "models" / "v12").mkdir(parents=True)
    for name in ("model.joblib", "metadata.json"):
        (run_dir / "models" / "v12" / name).write_text("{}", encoding="utf-8")


@pytest.mark.parametrize(
    ("given", "code", "message"),
    [
        (None, 1, "environment 'nightly': no input file to score at {folder}/input.csv"),
        ("missing.csv", 2, "--input missing.csv: no such file ({cwd}/missing.csv)"),
        ("gs://bucket/rows.csv", 2, "--input gs://bucket/rows.csv: only a local path"),
        ("file://rows.csv", 2, "--input file://rows.csv: a file:// URI names an absolute path"),
    ],
)
def test_run_batch_checks_its_input_before_any_step(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    given: str | None,
    code: int,
    message: str,
) -> None:
    spec = _batch_spec(tmp_path)  # batch.input.uri: file://<folder>/input.csv, not written
    _published(tmp_path / "run")
    args = [str(spec), "--local", "--batch", "nightly", "--out-dir", str(tmp_path / "run")]
    result = _cli(capsys, *args, *(["--input", given] if given else []))
    assert result[:2] == (code, "")
    assert message.format(folder=tmp_path, cwd=Path.cwd()) in result[2]
    assert not (tmp_path / "run" / "predictions").exists()


def test_input_without_batch_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = _batch_spec(tmp_path)
    code, out, err = _cli(capsys, str(spec), "--local", "--input", "rows.csv")
    assert (code, out) == (2, "")
    assert "--input names the file --batch ENV scores" in err
