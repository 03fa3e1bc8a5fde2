"""The MLflow registry in real local runs (kfp.local) with a real sqlite tracking store.

v1 is trained and registered (no alias yet: its champion gate passes as a first release). The
release workflow's own promotion step, run as generated, points the alias `prod` at it. A second
release then reads its champion from that alias and scores both models on the same test rows.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from compiler.api import CompileOptions, compile_specs
from compiler.run import RunOptions, RunResult, local_registry_uri, run_pipeline

REPO = Path(__file__).resolve().parents[1]
CHURN = REPO / "specs" / "churn-classifier.yaml"
NAME = "churn-classifier"
GATE = {"name": "roc_auc", "min": 0.5, "against": "prod", "max_drop": 0.05}
# What a shared registry would be; a local run registers in a store of its own instead.
REGISTRY = {
    "kind": "mlflow",
    "tracking_uri": "https://mlflow.invalid",
    "token": {"secret": "mlflow"},
}


def _release(folder: Path, version: str) -> Path:
    """The churn spec with a registry, training `version` while prod serves v1."""
    spec = yaml.safe_load(CHURN.read_text(encoding="utf-8"))
    spec["validation"]["metrics"] = [GATE]
    del spec["validation"]["latency"]  # it would time this machine's load, not the model
    spec["deploy"]["environments"][0]["model_version"] = version
    spec["deploy"]["environments"][1]["model_version"] = "v1"
    spec["registry"] = REGISTRY
    folder.mkdir(parents=True)
    (folder / "data").mkdir()
    (folder / "data" / "churn.csv").write_bytes((REPO / "specs/data/churn.csv").read_bytes())
    path = folder / "churn.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False), encoding="utf-8")
    return path


def _client(run_dir: Path) -> Any:
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    from mlflow import MlflowClient

    return MlflowClient(local_registry_uri(run_dir))


def _promote(spec: Path, run_dir: Path, env: str, version: str) -> subprocess.CompletedProcess[str]:
    """The release workflow's alias step for `env`, run as generated against the run's store."""
    out = spec.parent / "compiled"
    result = compile_specs(CompileOptions(paths=[spec], out_dir=out, targets=["ci"]))
    assert result.ok, result.diagnostics
    workflow = yaml.safe_load((out / f".github/workflows/specops-{NAME}-release.yml").read_text())
    [step] = [
        s for s in workflow["jobs"][f"promote-{env}"]["steps"]
        if s["name"].startswith("Point the registry alias")
    ]  # fmt: skip
    assert step["shell"] == "python"
    assert step["env"]["MLFLOW_TRACKING_TOKEN"] == "${{ secrets.MLFLOW_TRACKING_TOKEN }}"
    variables = {**os.environ, **step["env"], "MLFLOW_TRACKING_TOKEN": ""}
    variables["SPECOPS_REGISTRY_URI"] = local_registry_uri(run_dir)
    variables["SPECOPS_MODEL_VERSION"] = version
    return subprocess.run(
        [sys.executable, "-"], input=step["run"], env=variables, capture_output=True, text=True,
        timeout=300,
    )  # fmt: skip


@pytest.fixture(scope="module")
def storage(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("registry")


@pytest.fixture(scope="module")
def first(storage: Path) -> RunResult:
    spec = _release(storage / "v1", "v1")
    return run_pipeline(RunOptions(spec, out_dir=storage / "run", echo=io.StringIO()))


def test_a_run_registers_the_version_with_its_tags_metrics_and_parameters(
    first: RunResult, storage: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert first.ok, (first.failed_task, first.failures, first.diagnostics)
    assert first.published is not None
    metadata = json.loads(Path(first.published, "metadata.json").read_text(encoding="utf-8"))
    [gate] = metadata["champion_gates"]
    assert (gate["method"], gate["passed"]) == ("none", True)
    assert f"the registry has no models:/{NAME}@prod" in gate["verdict"]
    client = _client(storage / "run")
    [version] = client.search_model_versions(f"name = '{NAME}'")
    tags = version.tags
    assert tags["specops.model_version"] == "v1" and tags["specops.framework"] == "sklearn"
    assert tags["specops.uri"] == first.published
    assert tags["specops.spec_sha256"] == metadata["spec_sha256"]
    assert tags["specops.spec_path"] == metadata["spec_path"]
    assert tags["specops.code_revision"] == metadata["code_revision"]
    [record] = metadata["data"]
    assert tags["specops.data.customers.sha256"] == record["sha256"]
    assert tags["specops.data.customers.version"] == "2026-11-01"
    run = client.get_run(version.run_id)
    recorded = {k: v for k, v in metadata["metrics"].items() if v is not None}
    assert {k: run.data.metrics[k] for k in recorded} == pytest.approx(recorded)
    assert run.data.params["n_estimators"] == "150" and run.data.params["learning_rate"] == "0.05"
    assert run.data.tags["mlflow.source.git.commit"] == metadata["code_revision"]
    # logged with the sklearn flavour: it loads back as the fitted pipeline and predicts
    import mlflow.sklearn
    import pandas as pd

    monkeypatch.setenv("MLFLOW_TRACKING_URI", local_registry_uri(storage / "run"))
    model = mlflow.sklearn.load_model(f"models:/{NAME}/{version.version}")
    rows = pd.read_csv(REPO / "specs/data/churn.csv").head(5)
    assert len(model.predict(rows)) == 5


def test_promotion_sets_the_alias_and_the_next_release_reads_its_champion_there(
    first: RunResult, storage: Path
) -> None:
    assert first.ok
    missing = _promote(storage / "v1" / "churn.yaml", storage / "run", "prod", "v9")
    assert missing.returncode == 1
    assert "no version of churn-classifier in the registry is tagged specops.model_version=v9" in (
        missing.stdout
    )
    done = _promote(storage / "v1" / "churn.yaml", storage / "run", "prod", "v1")
    assert done.returncode == 0, done.stderr[-2000:]
    assert f"models:/{NAME}@prod -> version 1 (v1)" in done.stdout
    client = _client(storage / "run")
    assert str(client.get_model_version_by_alias(NAME, "prod").version) == "1"

    second = run_pipeline(
        RunOptions(_release(storage / "v2", "v2"), out_dir=storage / "run", echo=io.StringIO())
    )
    assert second.ok, (second.failed_task, second.failures)
    assert second.published is not None
    metadata = json.loads(Path(second.published, "metadata.json").read_text(encoding="utf-8"))
    [gate] = metadata["champion_gates"]
    assert (gate["method"], gate["passed"], gate["champion_version"]) == ("evaluated", True, "v1")
    assert gate["champion_uri"] == f"models:/{NAME}/1"
    assert (
        f"models:/{NAME}@prod and the new model scored on the same 150 test rows"
        in (gate["verdict"])
    )
    champion_run = client.get_run(client.get_model_version(NAME, "1").run_id)
    assert gate["champion"] == pytest.approx(champion_run.data.metrics["roc_auc"])
    newest = client.get_model_version(NAME, "2")
    assert newest.tags["specops.model_version"] == "v2"
    metrics = client.get_run(newest.run_id).data.metrics
    assert metrics["champion_roc_auc_prod_passed"] == 1.0
    assert metrics["champion_roc_auc_prod_champion"] == pytest.approx(gate["champion"])
