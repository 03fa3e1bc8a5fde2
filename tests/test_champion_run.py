"""Champion/challenger gates in real local runs (kfp.local): one model storage, three releases.

v1 is published first (prod serves it; no champion yet, so its gate passes and says why). A
deliberately worse v2 (an xgboost model on one weak feature: another framework, so the recorded
metrics are compared) fails the run naming the gate, the champion version and both values. A
better v2 (sklearn, like v1: both models are scored on the same test rows) passes.
"""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from compiler.run import RunOptions, RunResult, run_pipeline

REPO = Path(__file__).resolve().parents[1]
CHURN = REPO / "specs" / "churn-classifier.yaml"
GATE = {"name": "roc_auc", "min": 0.5, "against": "prod", "max_drop": 0.01}


def _release(folder: Path, version: str, change: Any) -> Path:
    """The churn spec training `version` (its first environment) while prod serves v1."""
    spec = yaml.safe_load(CHURN.read_text(encoding="utf-8"))
    spec["validation"]["metrics"] = [GATE, {"name": "accuracy", "min": 0.5}]
    del spec["validation"]["latency"]  # it would time this machine's load, not the model
    spec["deploy"]["environments"][0]["model_version"] = version
    spec["deploy"]["environments"][1]["model_version"] = "v1"
    change(spec)
    folder.mkdir(parents=True)
    (folder / "data").mkdir()
    (folder / "data" / "churn.csv").write_bytes(
        (REPO / "specs" / "data" / "churn.csv").read_bytes()
    )
    path = folder / "churn.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False), encoding="utf-8")
    return path


def _without(*columns: str) -> Any:
    def change(spec: dict[str, Any]) -> None:
        spec["data"]["preprocessing"] = {"columns": {c: {"drop": True} for c in columns}}

    return change


def _weak_xgboost(spec: dict[str, Any]) -> None:
    _without("tenure_months", "plan", "support_tickets")(spec)
    params = {"n_estimators": 2, "max_depth": 1, "random_state": 1}
    spec["model"].update(framework="xgboost", estimator="xgboost.XGBClassifier", params=params)


def _metadata(run: RunResult) -> dict[str, Any]:
    assert run.published is not None
    return dict(json.loads(Path(run.published, "metadata.json").read_text(encoding="utf-8")))


@pytest.fixture(scope="module")
def storage(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("champion")


@pytest.fixture(scope="module")
def first_release(storage: Path) -> RunResult:
    spec = _release(storage / "v1", "v1", _without("support_tickets"))
    return run_pipeline(RunOptions(spec, out_dir=storage / "run", echo=io.StringIO()))


def test_the_first_release_passes_and_says_there_is_no_champion(first_release: RunResult) -> None:
    assert first_release.ok, (first_release.failed_task, first_release.failures)
    [gate] = _metadata(first_release)["champion_gates"]
    assert gate["method"] == "none" and gate["passed"] is True
    assert gate["champion_version"] == "v1" and "challenger" not in gate
    assert "no champion yet" in gate["verdict"] and "first release" in gate["verdict"]


def test_a_worse_model_fails_the_run_naming_gate_champion_and_both_values(
    first_release: RunResult, storage: Path
) -> None:
    champion = _metadata(first_release)["metrics"]["roc_auc"]
    spec = _release(storage / "worse", "v2", _weak_xgboost)
    done = subprocess.run(
        [sys.executable, "-m", "compiler", "run", str(spec), "--local", "--out-dir",
         str(storage / "run")],
        capture_output=True, text=True, cwd=REPO, timeout=900,
    )  # fmt: skip
    assert done.returncode == 1, done.stderr[-2000:]
    found = re.search(
        r"gate roc_auc against prod: fails: the new model's (\d\.\d{4}) against champion v1's "
        r"(\d\.\d{4}) \(delta (-\d\.\d{4}), higher is better, max_drop 0\.01; the champion's "
        r"framework is sklearn, not xgboost: compared the metrics recorded",
        done.stdout,
    )
    assert found, done.stdout[-3000:]
    new, old, delta = (float(v) for v in found.groups())
    assert old == round(champion, 4) and new < old - 0.01
    assert delta == pytest.approx(new - old, abs=2e-4)
    assert "nothing was published" in done.stdout
    assert not (storage / "run" / "models" / "v2").exists()


def test_a_better_model_passes_scored_with_the_champion_on_the_same_rows(
    first_release: RunResult, storage: Path
) -> None:
    spec = _release(storage / "better", "v2", lambda spec: None)
    log = io.StringIO()
    run = run_pipeline(RunOptions(spec, out_dir=storage / "run", echo=log))
    assert run.ok, (run.failed_task, run.failures)
    metadata = _metadata(run)
    [gate] = metadata["champion_gates"]
    assert (gate["method"], gate["passed"], gate["champion_version"]) == ("evaluated", True, "v1")
    # the same test rows: the champion scores what v1 recorded, the new model what v2 records
    assert gate["champion"] == pytest.approx(_metadata(first_release)["metrics"]["roc_auc"])
    assert gate["challenger"] == pytest.approx(metadata["metrics"]["roc_auc"])
    assert (
        gate["delta"] == pytest.approx(gate["challenger"] - gate["champion"]) and gate["delta"] > 0
    )
    assert "both models scored on the same 150 test rows" in gate["verdict"]
    assert "gate roc_auc against prod: passes" in log.getvalue()
    # the run's metrics (the step's Metrics artifact, as the KFP UI shows it)
    assert run.out_dir is not None
    *_, latest = sorted((run.out_dir / "kfp-outputs").glob("*/compare-with-champion"))
    output = json.loads((latest / "executor_output.json").read_text(encoding="utf-8"))
    [artifact] = output["artifacts"]["comparison"]["artifacts"]
    assert artifact["metadata"] == pytest.approx(
        {"roc_auc_prod_challenger": gate["challenger"], "roc_auc_prod_champion": gate["champion"],
         "roc_auc_prod_delta": gate["delta"], "roc_auc_prod_passed": 1.0}
    )  # fmt: skip
