"""Champion/challenger gates: validation, the plan, rendering, explain and the gate step itself.

The gate step is the compare_with_champion component of a rendered pipeline.py, called with
real kfp artifacts on a model the train step fits (tests/_components.py); the local runs of a
whole release history are tests/test_champion_run.py.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import pandas as pd
import pytest
import yaml
from kfp import dsl

from compiler.diagnostics import Diagnostic, has_errors
from compiler.model.spec import HIGHER_IS_BETTER, MetricGate
from compiler.planner import build_plan
from compiler.platform.explain import ExplainOptions, explain
from compiler.platform.resolve import SPEC_BOOK, resolve_spec
from tests._components import pipeline_module, validate_data

REPO = Path(__file__).resolve().parents[1]
CHURN = yaml.safe_load((REPO / "specs" / "churn-classifier.yaml").read_text(encoding="utf-8"))


def _churn(*gates: dict[str, Any]) -> dict[str, Any]:
    spec = copy.deepcopy(CHURN)
    spec["validation"]["metrics"] = list(gates)
    return spec


def _codes(problems: list[Diagnostic]) -> list[tuple[str, tuple[str | int, ...]]]:
    return [(d.code, d.location.json_path) for d in problems]


# --- validation ------------------------------------------------------------------------------


def test_against_must_name_a_declared_environment_with_a_suggestion() -> None:
    _, _, problems = validate_data(_churn({"name": "roc_auc", "against": "prdo"}))
    [found] = [d for d in problems if d.code == "CHK028"]
    assert found.location.json_path == ("validation", "metrics", 0, "against")
    assert "'prdo'" in found.message and found.hint is not None
    assert "did you mean 'prod'?" in found.hint and "staging, prod" in found.hint


def test_max_drop_needs_a_champion() -> None:
    spec, _, problems = validate_data(_churn({"name": "roc_auc", "min": 0.7, "max_drop": 0.01}))
    assert spec is None and has_errors(problems)
    assert any("add against" in d.message for d in problems)
    assert all(d.location.json_path[:3] == ("validation", "metrics", 0) for d in problems)


def test_max_drop_is_not_negative() -> None:
    spec, _, problems = validate_data(
        _churn({"name": "roc_auc", "against": "prod", "max_drop": -0.01})
    )
    assert spec is None
    assert [d.location.json_path for d in problems] == [("validation", "metrics", 0, "max_drop")]


@pytest.mark.parametrize(
    ("gate", "refused"),
    [
        ({"name": "roc_auc", "against": "prod", "max_drop": 1.0}, True),  # roc_auc is in [0, 1]
        ({"name": "accuracy", "against": "prod", "max_drop": 0.99}, False),
        ({"name": "log_loss", "against": "prod", "max_drop": 3.0}, False),  # unbounded above
    ],
)
def test_a_max_drop_that_can_never_fail_is_refused(gate: dict[str, Any], refused: bool) -> None:
    _, _, problems = validate_data(_churn(gate))
    found = [d for d in problems if d.code == "CHK028"]
    assert bool(found) is refused, problems
    if refused:
        assert found[0].location.json_path == ("validation", "metrics", 0, "max_drop")
        assert "can never fail" in found[0].message


def test_a_champion_gate_alone_is_a_gate() -> None:
    _, _, problems = validate_data(_churn({"name": "roc_auc", "against": "prod"}))
    assert not has_errors(problems), problems
    _, _, problems = validate_data(_churn({"name": "roc_auc"}))
    assert ("CHK008", ("validation", "metrics", 0)) in _codes(problems)


def test_drop_direction_follows_the_metric() -> None:
    assert MetricGate(name="roc_auc").higher_is_better
    assert MetricGate(name="r2").higher_is_better
    assert not any(MetricGate(name=n).higher_is_better for n in ("log_loss", "rmse", "mae", "mape"))
    assert {"accuracy", "precision", "recall", "f1", "roc_auc", "r2"} == HIGHER_IS_BETTER


def test_gates_are_the_specs_own_so_a_higher_layer_replaces_them_whole() -> None:
    # The platform layers no validation defaults; its lever is the champion_gate policy.
    assert SPEC_BOOK.rule(("validation", "metrics")).strategy == "replace"


# --- plan and rendering ----------------------------------------------------------------------


def test_the_plan_names_each_gates_champion() -> None:
    data = _churn(
        {"name": "roc_auc", "min": 0.7, "against": "prod", "max_drop": 0.02},
        {"name": "log_loss", "against": "staging"},
    )
    spec, loaded, problems = validate_data(data)
    assert spec is not None and loaded is not None and not has_errors(problems)
    roc, loss = build_plan(resolve_spec(spec, loaded)).champion_gates
    assert (roc.against, roc.champion_version, roc.max_drop) == ("prod", "v11", 0.02)
    assert roc.champion_uri == "gs://acme-models/churn-classifier/v11" and roc.higher_is_better
    assert (loss.against, loss.champion_version, loss.max_drop) == ("staging", "v12", 0.0)
    assert not loss.higher_is_better


def _module(data: dict[str, Any], folder: Path) -> dict[str, Any]:
    spec, loaded, problems = validate_data(data)
    assert spec is not None and loaded is not None and not has_errors(problems), problems
    return pipeline_module(spec, loaded, folder)


def test_a_champion_only_gate_renders_no_absolute_check(tmp_path: Path) -> None:
    module = _module(_churn({"name": "roc_auc", "against": "prod"}), tmp_path)
    assert module["CHAMPION_GATES"] == [
        {"name": "roc_auc", "against": "prod", "max_drop": 0.0, "higher_is_better": True,
         "champion_version": "v11"}
    ]  # fmt: skip
    source = (tmp_path / "pipeline.py").read_text(encoding="utf-8")
    assert "check_metric(name='roc_auc'" not in source
    assert "compare_with_champion(" in source and "champion=champion.outputs" in source


def test_a_spec_without_champion_gates_has_no_champion_step(tmp_path: Path) -> None:
    module = _module(_churn({"name": "roc_auc", "min": 0.7}), tmp_path)
    assert "CHAMPION_GATES" not in module and "compare_with_champion" not in module


# --- the gate step ---------------------------------------------------------------------------

_ROWS = 200


def _regression() -> dict[str, Any]:
    spec = copy.deepcopy(CHURN)
    spec["model"].update(
        task="regression", estimator="sklearn.linear_model.Ridge", params={"alpha": 1.0}
    )
    spec["data"].update(target="monthly_charges", split={"test_fraction": 0.25, "seed": 1})
    spec["validation"] = {"metrics": [{"name": "rmse", "against": "prod", "max_drop": 0.5}]}
    return spec


def _frame(noise: float, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    tenure = rng.integers(0, 120, _ROWS)
    return pd.DataFrame({
        "customer_id": [f"c{i}" for i in range(_ROWS)],
        "tenure_months": tenure,
        "monthly_charges": 20 + 0.5 * tenure + rng.normal(0, noise, _ROWS),
        "plan": rng.choice(["basic", "pro", "enterprise"], _ROWS),
        "support_tickets": rng.integers(0, 5, _ROWS),
        "churned": rng.integers(0, 2, _ROWS),
    })  # fmt: skip


class Step:
    """The rendered regression pipeline's train and champion steps on real artifacts."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        spec, loaded, _ = validate_data(_regression())
        assert spec is not None and loaded is not None
        self.preprocessing = build_plan(resolve_spec(spec, loaded)).preprocessing_json
        self.module = pipeline_module(spec, loaded, folder)
        self.test = dsl.Dataset(uri=str(folder / "test.parquet"))
        _frame(1.0, 2).to_parquet(self.test.path)

    def train(self, name: str, frame: pd.DataFrame) -> dsl.Model:
        train = dsl.Dataset(uri=str(self.folder / f"{name}.parquet"))
        frame.to_parquet(train.path)
        model = dsl.Model(uri=str(self.folder / name))
        self.module["train_model"].python_func(
            train=train, model=model, columns_json=json.dumps(self.module["COLUMNS"]),
            target="monthly_charges", framework="sklearn", estimator="sklearn.linear_model.Ridge",
            params_json='{"alpha": 1.0}', preprocessing_json=self.preprocessing,
        )  # fmt: skip
        return model

    def publish(self, model: dsl.Model, metadata: dict[str, Any]) -> None:
        folder = self.folder / "models" / "v11"  # what prod serves in the churn spec
        folder.mkdir(parents=True)
        (folder / "model.joblib").write_bytes(Path(model.path).read_bytes())
        (folder / "metadata.json").write_text(json.dumps(metadata), encoding="utf-8")

    def compare(self, model: dsl.Model, reported: dict[str, float]) -> tuple[bool, dict[str, Any]]:
        metrics = dsl.Metrics(uri=str(self.folder / "challenger.json"))
        Path(metrics.path).write_text(json.dumps(reported), encoding="utf-8")
        comparison = dsl.Metrics(uri=str(self.folder / "comparison.json"))
        try:
            self.module["compare_with_champion"].python_func(
                model=model, test=self.test, challenger_metrics=metrics,
                gates=self.module["CHAMPION_GATES"], model_root=f"file://{self.folder}/models",
                framework="sklearn", task="regression", target="monthly_charges",
                comparison=comparison,
            )  # fmt: skip
            passed = True
        except RuntimeError:
            passed = False
        [result] = json.loads(Path(comparison.path).read_text(encoding="utf-8"))["gates"]
        return passed, result


@pytest.fixture
def step(tmp_path: Path) -> Step:
    return Step(tmp_path)


def test_a_loss_that_rises_more_than_max_drop_fails(step: Step) -> None:
    champion = step.train("champion", _frame(1.0, 0))
    step.publish(champion, {"framework": "sklearn", "metrics": {"rmse": 1.0}, "model": {}})
    challenger = step.train("challenger", _frame(25.0, 1))  # fitted on noise: a worse rmse
    passed, result = step.compare(challenger, {"rmse": 9.0})
    assert not passed and result["passed"] is False and result["method"] == "evaluated"
    assert result["better"] == "lower" and result["challenger"] > result["champion"] + 0.5
    assert result["delta"] == pytest.approx(result["challenger"] - result["champion"])
    assert "fails" in result["verdict"] and "champion v11's" in result["verdict"]


def test_a_loss_that_falls_passes(step: Step) -> None:
    champion = step.train("champion", _frame(25.0, 0))
    step.publish(champion, {"framework": "sklearn", "metrics": {"rmse": 9.0}, "model": {}})
    passed, result = step.compare(step.train("challenger", _frame(1.0, 1)), {"rmse": 1.0})
    assert passed and result["passed"] is True and result["delta"] < 0


def test_a_champion_that_does_not_load_is_compared_by_its_record(step: Step) -> None:
    challenger = step.train("challenger", _frame(1.0, 1))
    step.publish(challenger, {"framework": "sklearn", "metrics": {"rmse": 1.2}, "model": {}})
    (step.folder / "models" / "v11" / "model.joblib").write_bytes(b"not a pickle")
    passed, result = step.compare(challenger, {"rmse": 1.5})
    assert passed and result["method"] == "recorded"
    assert (result["challenger"], result["champion"]) == (1.5, 1.2)
    assert "could not score the champion" in result["note"]


def test_a_champion_without_the_metric_fails_the_gate(step: Step) -> None:
    model = step.train("challenger", _frame(1.0, 1))
    step.publish(model, {"framework": "lightgbm", "metrics": {"mae": 1.0}, "model": {}})
    passed, result = step.compare(model, {"rmse": 1.0})
    assert not passed and result["method"] == "recorded"
    assert "champion v11's rmse is unknown" in result["verdict"]


def test_unreadable_champion_metadata_fails_rather_than_passing_as_no_champion(step: Step) -> None:
    model = step.train("challenger", _frame(1.0, 1))
    step.publish(model, {"framework": "sklearn", "metrics": {"rmse": 1.0}})
    (step.folder / "models" / "v11" / "metadata.json").write_text("{", encoding="utf-8")
    passed, result = step.compare(model, {"rmse": 1.0})
    assert not passed and result["method"] == "unreadable"
    assert "cannot read champion v11" in result["verdict"]


def test_the_step_scores_like_the_evaluate_step(step: Step) -> None:
    model = step.train("model", _frame(1.0, 1))
    step.publish(model, {"framework": "sklearn", "metrics": {"rmse": 1.0}})
    evaluated = step.module["evaluate_regressor"].python_func(
        model=model, test=step.test, target="monthly_charges",
        metrics=dsl.Metrics(uri=str(step.folder / "evaluated.json")),
    )  # fmt: skip
    _, result = step.compare(model, {"rmse": 1.0})
    assert result["challenger"] == pytest.approx(evaluated.rmse)
    assert result["champion"] == pytest.approx(evaluated.rmse) and result["passed"]
    assert joblib.load(model.path) is not None


# --- explain ---------------------------------------------------------------------------------


def test_explain_shows_the_champion_a_gate_compares_with() -> None:
    options = ExplainOptions(REPO / "specs" / "churn-classifier.yaml", "$.validation.metrics[0]")
    result = explain(options)
    assert result.explanation is not None, result.diagnostics
    text = result.explanation.text()
    assert "champion:    v11, the model_version environment prod serves" in text
    assert "churn-classifier.yaml:" in text and "gs://acme-models/churn-classifier/v11" in text
    assert "a drop of roc_auc is a decrease, at most 0.01" in text
    other = explain(ExplainOptions(options.spec, "$.validation.metrics[1]")).explanation
    assert other is not None and other.champion is None
