"""CHK021-CHK023: the data a spec declares is data its estimator can train on.

Each case is a schema (and task, estimator, gates) as data, with the exact codes, messages and
locations it must give; the fixtures in tests/data/invalid show the rendered reports.
"""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from compiler.check import run_checks
from compiler.loader import load
from compiler.model import build_model
from compiler.sources import SourceFile

GBC = "sklearn.ensemble.GradientBoostingClassifier"
GBR = "sklearn.ensemble.GradientBoostingRegressor"
HGBC = "sklearn.ensemble.HistGradientBoostingClassifier"
NAN_HINT = (
    "impute it under data.preprocessing (e.g. columns: {{{}: {{impute: median}}}}), or pick an"
    " estimator that accepts missing values, e.g. {}"
)
GBC_TOLERANT = (
    "sklearn.ensemble.HistGradientBoostingClassifier, sklearn.ensemble.RandomForestClassifier,"
    " sklearn.tree.DecisionTreeClassifier"
)
CLASSES_HINT = "a classification target is int, bool, category or string"
REGRESSION_HINT = "a regression target is int or float"
MAPE = (
    "mape divides by the true value, and the target 'y' can be 0: one zero row makes the gate's"
    " value huge (or infinite)"
)
NO_FEATURE = (
    "no feature column: training fits on the int, float, bool and category columns other than"
    " the target"
)


def col(name: str, kind: str, **extra: Any) -> dict[str, Any]:
    return {"name": name, "type": kind, **extra}


def nan_message(column: str, estimator: str) -> str:
    return (
        f"feature {column!r} is nullable and its preprocessing leaves missing values in place"
        f" (impute: none), but {estimator} does not accept NaN"
    )


def gbc_nan(column: str) -> str:
    return NAN_HINT.format(column, GBC_TOLERANT)


X = col("x", "float")
UNIMPUTED_TYPES = ("numeric", "bool", "category")
NULLABLE = "$.data.schema.columns[{}].nullable"
# (columns, task, estimator, gate names) -> [(code, severity, message, hint, path)]
Case = tuple[list[dict[str, Any]], str, str, list[str]]
CORPUS: list[tuple[str, Case, list[tuple[str, str, str, str, str]]]] = [
    ("nullable-float-gbc", ([col("f", "float", nullable=True), col("y", "int")],
     "classification", GBC, []),
     [("CHK021", "error", nan_message("f", GBC), gbc_nan("f"), NULLABLE.format(0))]),
    ("nullable-int-and-bool-gbc", ([col("a", "int", nullable=True), col("b", "bool", nullable=True),
     col("y", "int")], "classification", GBC, []),
     [("CHK021", "error", nan_message("a", GBC), gbc_nan("a"), NULLABLE.format(0)),
      ("CHK021", "error", nan_message("b", GBC), gbc_nan("b"), NULLABLE.format(1))]),
    # one-hot encoding gives a missing category its own column: no NaN reaches the estimator
    ("nullable-category-gbc", ([X, col("c", "category", nullable=True), col("y", "int")],
     "classification", GBC, []), []),
    # a nullable string is no feature
    ("nullable-string-gbc", ([X, col("s", "string", nullable=True), col("y", "int")],
     "classification", GBC, []), []),
    ("nullable-float-hgbc", ([col("f", "float", nullable=True), col("y", "int")],
     "classification", HGBC, []), []),
    ("nullable-float-lightgbm", ([col("f", "float", nullable=True), col("y", "int")],
     "classification", "lightgbm.LGBMClassifier", []), []),
    ("no-feature", ([col("id", "string"), col("t", "datetime"), col("y", "int")],
     "classification", GBC, []),
     [("CHK022", "error", NO_FEATURE, "declare the columns the model learns from (string and"
       " datetime columns are not features)", "$.data.schema.columns")]),
    ("target-only", ([col("y", "float")], "regression", GBR, []),
     [("CHK022", "error", NO_FEATURE, "declare the columns the model learns from (string and"
       " datetime columns are not features)", "$.data.schema.columns")]),
    ("float-target-classifier", ([X, col("y", "float")], "classification", GBC, []),
     [("CHK022", "error", "a float target does not fit model.task classification",
       f"{CLASSES_HINT}; or set model.task: regression", "$.data.schema.columns[1].type")]),
    ("datetime-target-classifier", ([X, col("y", "datetime")], "classification", GBC, []),
     [("CHK022", "error", "a datetime target does not fit model.task classification",
       CLASSES_HINT, "$.data.schema.columns[1].type")]),
    ("category-target-regressor", ([X, col("y", "category")], "regression", GBR, []),
     [("CHK022", "error", "a category target does not fit model.task regression",
       f"{REGRESSION_HINT}; or set model.task: classification",
       "$.data.schema.columns[1].type")]),
    ("bool-target-regressor", ([X, col("y", "bool")], "regression", GBR, []),
     [("CHK022", "error", "a bool target does not fit model.task regression",
       f"{REGRESSION_HINT}; or set model.task: classification",
       "$.data.schema.columns[1].type")]),
    ("string-target-classifier", ([X, col("y", "string")], "classification", GBC, []), []),
    ("int-target-regressor", ([X, col("y", "int")], "regression", GBR, []), []),
    ("one-class", ([X, col("y", "category", allowed=["yes"])], "classification", GBC, []),
     [("CHK022", "error", "the target 'y' allows only one class; a classifier needs at least two",
       "list every class the target takes", "$.data.schema.columns[1].allowed")]),
    ("two-classes", ([X, col("y", "int", allowed=[0, 1])], "classification", GBC, []), []),
    ("mape-unbounded", ([X, col("y", "float")], "regression", GBR, ["mape"]),
     [("CHK023", "warning", MAPE, "give the target column min > 0 (or max < 0) if it is never 0,"
       " or gate on mae or rmse", "$.validation.metrics[1].name")]),
    ("mape-min-zero", ([X, col("y", "float", min=0)], "regression", GBR, ["mape"]),
     [("CHK023", "warning", MAPE, "give the target column min > 0 (or max < 0) if it is never 0,"
       " or gate on mae or rmse", "$.validation.metrics[1].name")]),
    ("mape-range-over-zero", ([X, col("y", "int", min=-5, max=5)], "regression", GBR, ["mape"]),
     [("CHK023", "warning", MAPE, "give the target column min > 0 (or max < 0) if it is never 0,"
       " or gate on mae or rmse", "$.validation.metrics[1].name")]),
    ("mape-positive", ([X, col("y", "float", min=0.01)], "regression", GBR, ["mape"]), []),
    ("mape-negative", ([X, col("y", "float", max=-1)], "regression", GBR, ["mape"]), []),
    ("mape-allowed-without-zero", ([X, col("y", "int", allowed=[1, 2, 3])], "regression", GBR,
     ["mape"]), []),
    ("mae-unbounded", ([X, col("y", "float")], "regression", GBR, []), []),
]  # fmt: skip


def spec_text(columns: list[dict[str, Any]], task: str, estimator: str, gates: list[str]) -> str:
    metrics = [{"name": "r2" if task == "regression" else "accuracy", "min": 0.1}]
    metrics += [{"name": name, "max": 0.5} for name in gates]
    data = {
        "apiVersion": "specops/v1",
        "kind": "MLPipeline",
        "metadata": {"name": "rules", "team": "core"},
        "data": {
            "sources": [{"name": "e", "uri": "gs://acme/e.csv", "format": "csv", "version": "1"}],
            "schema": {"columns": columns},
            "target": "y",
            # what reaches the estimator unimputed: the built-in imputation that makes a nullable
            # feature train is tested in test_validate_means_it_trains.py
            "preprocessing": {"defaults": {t: {"impute": "none"} for t in UNIMPUTED_TYPES}},
        },
        "model": {"framework": estimator.partition(".")[0], "task": task, "estimator": estimator},
        "validation": {"metrics": metrics},
        "deploy": {
            "model_uri": "gs://acme-models/rules",
            "environments": [{"name": "dev", "namespace": "dev", "model_version": "v1"}],
        },
    }
    return yaml.safe_dump(data, sort_keys=False)


@pytest.mark.parametrize(("case", "expected"), [c[1:] for c in CORPUS], ids=[c[0] for c in CORPUS])
def test_data_rule_gives_the_exact_diagnostics(
    case: Case, expected: list[tuple[str, str, str, str, str]]
) -> None:
    loaded, problems = load(SourceFile("rules.yaml", spec_text(*case), "0" * 64))
    assert loaded is not None, problems
    spec, problems = build_model(loaded)
    assert spec is not None, problems
    found = [
        (d.code, d.severity.value, d.message, d.hint, d.location.path_text)
        for d in run_checks(spec, loaded)
    ]
    assert found == expected
