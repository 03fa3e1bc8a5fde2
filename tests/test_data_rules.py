"""CHK021-CHK023 and CHK027: the data a spec declares is data its estimator can train on.

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

PLS = "sklearn.cross_decomposition.PLSRegression"
OMP = "sklearn.linear_model.OrthogonalMatchingPursuitCV"
GAMMA = "sklearn.linear_model.GammaRegressor"
POISSON = "sklearn.linear_model.PoissonRegressor"
TWEEDIE = "sklearn.linear_model.TweedieRegressor"
MNB = "sklearn.naive_bayes.MultinomialNB"
XGBC = "xgboost.XGBClassifier"
WIDER = "declare more feature columns (or drop fewer)"


def positive_y(estimator: str, because: str = "") -> str:
    return f"{estimator} fits only a target > 0{because}, and the target 'y' does not declare that"


POSITIVE_Y_HINT = (
    "set the target column's min above 0 (e.g. min: 0.001) if 'y' is always positive, or pick"
    " another estimator"
)


def nonnegative(column: str) -> tuple[str, str]:
    return (
        f"{MNB} fits only features >= 0, and the feature {column!r} does not declare min >= 0",
        f"set the column's min (e.g. min: 0) if {column!r} is never negative, drop it"
        f" (data.preprocessing.columns: {{{column}: {{drop: true}}}}), or pick another estimator",
    )


XGB_LABELS = f"{XGBC} takes the class labels 0..k-1 only, and the target 'y' does not declare that"


def xgb_hint(k: int) -> str:
    return (
        f"make the target an int column with allowed: {list(range(k))} (or a bool column),"
        " encoding the classes as those numbers"
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
    # CHK027: what the estimator needs of the data (the catalog's tags and widths)
    ("pls-one-feature", ([X, col("y", "float")], "regression", PLS, []),
     [("CHK027", "error", f"{PLS} fits at least 2 feature columns (n_components defaults to"
       " 2), and the spec has 1", f"{WIDER}, or set model.params.n_components to at most 1",
       "$.model.estimator")]),
    ("pls-two-features", ([X, col("z", "int"), col("y", "float")], "regression", PLS, []), []),
    ("omp-one-feature", ([X, col("y", "float")], "regression", OMP, []),
     [("CHK027", "error", f"{OMP} fits at least 2 feature columns, and the spec has 1", WIDER,
       "$.model.estimator")]),
    # a string column is no feature
    ("omp-string-is-no-feature", ([X, col("s", "string"), col("y", "float")], "regression", OMP,
     []), [("CHK027", "error", f"{OMP} fits at least 2 feature columns, and the spec has 1",
            WIDER, "$.model.estimator")]),
    ("omp-two-features", ([X, col("b", "bool"), col("y", "float")], "regression", OMP, []), []),
    ("gamma-unbounded", ([X, col("y", "float")], "regression", GAMMA, []),
     [("CHK027", "error", positive_y(GAMMA), POSITIVE_Y_HINT, "$.data.schema.columns[1].min")]),
    ("gamma-min-zero", ([X, col("y", "float", min=0)], "regression", GAMMA, []),
     [("CHK027", "error", positive_y(GAMMA), POSITIVE_Y_HINT, "$.data.schema.columns[1].min")]),
    ("gamma-max-only", ([X, col("y", "float", max=10)], "regression", GAMMA, []),
     [("CHK027", "error", positive_y(GAMMA), POSITIVE_Y_HINT, "$.data.schema.columns[1].min")]),
    ("gamma-positive", ([X, col("y", "float", min=0.5)], "regression", GAMMA, []), []),
    # the default power is 0: a normal distribution, any target
    ("tweedie-default-power", ([X, col("y", "float")], "regression", TWEEDIE, []), []),
    ("poisson-min-zero", ([X, col("y", "int", min=0)], "regression", POISSON, []),
     [("CHK027", "error", positive_y(POISSON), POSITIVE_Y_HINT,
       "$.data.schema.columns[1].min")]),
    ("poisson-allowed-with-zero", ([X, col("y", "int", allowed=[0, 1, 2])], "regression",
     POISSON, []), [("CHK027", "error", positive_y(POISSON), POSITIVE_Y_HINT,
                     "$.data.schema.columns[1].allowed")]),
    ("poisson-allowed-positive", ([X, col("y", "int", allowed=[1, 2, 3])], "regression", POISSON,
     []), []),
    ("mnb-unbounded-feature", ([X, col("y", "int")], "classification", MNB, []),
     [("CHK027", "error", *nonnegative("x"), "$.data.schema.columns[0].min")]),
    ("mnb-negative-min", ([col("a", "int", min=-1), col("y", "int")], "classification", MNB, []),
     [("CHK027", "error", *nonnegative("a"), "$.data.schema.columns[0].min")]),
    # bool and one-hot encoded category features are 0/1
    ("mnb-nonnegative", ([col("a", "float", min=0), col("b", "bool"),
     col("c", "category", allowed=["p", "q"]), col("y", "int")], "classification", MNB, []), []),
    ("xgb-int-without-allowed", ([X, col("y", "int")], "classification", XGBC, []),
     [("CHK027", "error", XGB_LABELS, xgb_hint(2), "$.data.schema.columns[1].allowed")]),
    ("xgb-int-from-one", ([X, col("y", "int", allowed=[1, 2, 3])], "classification", XGBC, []),
     [("CHK027", "error", XGB_LABELS, xgb_hint(3), "$.data.schema.columns[1].allowed")]),
    ("xgb-category", ([X, col("y", "category", allowed=["no", "yes"])], "classification", XGBC,
     []), [("CHK027", "error", XGB_LABELS, xgb_hint(2), "$.data.schema.columns[1].type")]),
    ("xgb-string", ([X, col("y", "string")], "classification", XGBC, []),
     [("CHK027", "error", XGB_LABELS, xgb_hint(2), "$.data.schema.columns[1].type")]),
    ("xgb-zero-based", ([X, col("y", "int", allowed=[0, 1, 2])], "classification", XGBC, []),
     []),
    ("xgb-bool", ([X, col("y", "bool")], "classification", XGBC, []), []),
    # a float target is CHK022's alone
    ("xgb-float", ([X, col("y", "float")], "classification", XGBC, []),
     [("CHK022", "error", "a float target does not fit model.task classification",
       f"{CLASSES_HINT}; or set model.task: regression", "$.data.schema.columns[1].type")]),
    ("xgb-regressor-any-target", ([X, col("y", "float")], "regression", "xgboost.XGBRegressor",
     []), []),
]  # fmt: skip
# Cases that need model.params or data.preprocessing (merged over the defaults above):
# (id, case, params, preprocessing, expected)
SETTINGS_CORPUS: list[
    tuple[str, Case, dict[str, Any], dict[str, Any], list[tuple[str, str, str, str, str]]]
] = [
    ("pls-n-components-3", ([X, col("z", "int"), col("y", "float")], "regression", PLS, []),
     {"n_components": 3}, {},
     [("CHK027", "error", f"{PLS} fits at least 3 feature columns (n_components: 3), and the"
       " spec has 2", f"{WIDER}, or set model.params.n_components to at most 2",
       "$.model.params.n_components")]),
    ("tweedie-power-1.5", ([X, col("y", "float", min=0)], "regression", TWEEDIE, []),
     {"power": 1.5}, {},
     [("CHK027", "error", positive_y(TWEEDIE, " with power: 1.5"), POSITIVE_Y_HINT,
       "$.data.schema.columns[1].min")]),
    ("tweedie-power-1.5-positive", ([X, col("y", "float", min=1)], "regression", TWEEDIE, []),
     {"power": 1.5}, {}, []),
    ("tweedie-power-0", ([X, col("y", "float")], "regression", TWEEDIE, []), {"power": 0}, {},
     []),
    ("pls-n-components-1", ([X, col("y", "float")], "regression", PLS, []),
     {"n_components": 1}, {}, []),
    # a dropped column is no feature
    ("pls-dropped", ([X, col("z", "int"), col("y", "float")], "regression", PLS, []), {},
     {"columns": {"z": {"drop": True}}},
     [("CHK027", "error", f"{PLS} fits at least 2 feature columns (n_components defaults to"
       " 2), and the spec has 1", f"{WIDER}, or set model.params.n_components to at most 1",
       "$.model.estimator")]),
    ("mnb-standard-scale", ([col("a", "float", min=0), col("y", "int")], "classification", MNB,
     []), {}, {"defaults": {"numeric": {"scale": "standard"}}},
     [("CHK027", "error", f"{MNB} fits only features >= 0, and scale: standard makes 'a'"
       " negative", "use scale: minmax or scale: none for this estimator",
       "$.data.preprocessing.defaults.numeric.scale")]),
    ("mnb-minmax-scale", ([col("a", "float", min=0), col("y", "int")], "classification", MNB,
     []), {}, {"columns": {"a": {"scale": "minmax"}}}, []),
    # a fill below the column's min is PRE007's alone (and CHK027 asks for min >= 0)
    ("mnb-negative-fill", ([col("a", "float", min=0, nullable=True), col("y", "int")],
     "classification", MNB, []), {}, {"columns": {"a": {"impute": "constant", "fill_value": -3}}},
     [("PRE007", "error", "fill_value -3 is outside the range [0.0, None] of 'a'", None,
       "$.data.preprocessing.columns.a.fill_value")]),
]  # fmt: skip


def spec_text(
    columns: list[dict[str, Any]],
    task: str,
    estimator: str,
    gates: list[str],
    params: dict[str, Any] | None = None,
    preprocessing: dict[str, Any] | None = None,
) -> str:
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
            "preprocessing": _preprocessing(preprocessing or {}),
        },
        "model": {
            "framework": estimator.partition(".")[0],
            "task": task,
            "estimator": estimator,
            "params": params or {},
        },
        "validation": {"metrics": metrics},
        "deploy": {
            "model_uri": "gs://acme-models/rules",
            "environments": [{"name": "dev", "namespace": "dev", "model_version": "v1"}],
        },
    }
    return yaml.safe_dump(data, sort_keys=False)


def _preprocessing(extra: dict[str, Any]) -> dict[str, Any]:
    defaults: dict[str, Any] = {t: {"impute": "none"} for t in UNIMPUTED_TYPES}
    for kind, settings in extra.get("defaults", {}).items():
        defaults[kind] = {**defaults[kind], **settings}
    return {"defaults": defaults, **({"columns": extra["columns"]} if "columns" in extra else {})}


@pytest.mark.parametrize(("case", "expected"), [c[1:] for c in CORPUS], ids=[c[0] for c in CORPUS])
def test_data_rule_gives_the_exact_diagnostics(
    case: Case, expected: list[tuple[str, str, str, str, str]]
) -> None:
    assert _diagnostics(spec_text(*case)) == expected


@pytest.mark.parametrize(
    ("case", "params", "preprocessing", "expected"),
    [c[1:] for c in SETTINGS_CORPUS],
    ids=[c[0] for c in SETTINGS_CORPUS],
)
def test_data_rule_reads_params_and_preprocessing(
    case: Case,
    params: dict[str, Any],
    preprocessing: dict[str, Any],
    expected: list[tuple[str, str, str, str, str]],
) -> None:
    assert _diagnostics(spec_text(*case, params, preprocessing)) == expected


def _diagnostics(text: str) -> list[tuple[str, str, str, str, str]]:
    loaded, problems = load(SourceFile("rules.yaml", text, "0" * 64))
    assert loaded is not None, problems
    spec, problems = build_model(loaded)
    assert spec is not None, problems
    return [
        (d.code, d.severity.value, d.message, d.hint, d.location.path_text)
        for d in run_checks(spec, loaded)
    ]
