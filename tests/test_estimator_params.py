"""CHK020: `model.params` values are checked against the estimator catalog's declarations.

The invariant is "validate means it runs": a value the validator accepts for a catalogued
scikit-learn estimator is one scikit-learn's own parameter validation accepts (this module may
import sklearn; the validator does not).
"""

from __future__ import annotations

import importlib
import json
import math
import warnings
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from compiler.catalog import catalog_data, declarations
from compiler.check import run_checks
from compiler.check.params import satisfies
from compiler.diagnostics import Diagnostic
from compiler.loader import LoadedSpec, load
from compiler.model import build_model
from compiler.model.spec import MLPipeline
from compiler.sources import SourceFile

TASKS = {"classifier": "classification", "regressor": "regression"}
GBC = "sklearn.ensemble.GradientBoostingClassifier"
LOGREG = "sklearn.linear_model.LogisticRegression"
HGBR = "sklearn.ensemble.HistGradientBoostingRegressor"
LGBMC = "lightgbm.LGBMClassifier"
XGBR = "xgboost.XGBRegressor"

# (estimator, param, value) -> the hint of the one CHK020 it gives
BAD: list[tuple[tuple[str, str, Any], str]] = [
    ((LGBMC, "num_leaves", [15, 31, 63]), "num_leaves accepts an int"),
    ((LGBMC, "num_leaves", 31.0), "num_leaves accepts an int"),
    ((LGBMC, "num_leaves", True), "num_leaves accepts an int"),
    ((LGBMC, "learning_rate", "fast"), "learning_rate accepts a number"),
    ((LGBMC, "boosting_type", 1), "boosting_type accepts a string"),
    ((XGBR, "max_depth", 6.5), "max_depth accepts an int or null"),
    ((XGBR, "enable_categorical", "yes"), "enable_categorical accepts true or false"),
    ((XGBR, "subsample", [0.5]), "subsample accepts null or a number"),
    ((GBC, "n_estimators", 0), "n_estimators accepts an int in [1, inf)"),
    ((GBC, "n_estimators", 100.0), "n_estimators accepts an int in [1, inf)"),
    ((GBC, "learning_rate", -0.1), "learning_rate accepts a number in [0, inf)"),
    ((GBC, "subsample", 0), "subsample accepts a number in (0, 1]"),
    ((GBC, "loss", "hinge"), 'loss accepts one of "exponential", "log_loss"'),
    ((GBC, "warm_start", 0), "warm_start accepts true or false"),
    ((GBC, "random_state", -1), "random_state accepts an int in [0, 4294967295] or null"),
    ((GBC, "verbose", -2), "verbose accepts an int >= 0 or a bool"),
    ((GBC, "validation_fraction", 1.0), "validation_fraction accepts a number in (0, 1)"),
    (
        (GBC, "max_features", 1.5),
        'max_features accepts one of "log2", "sqrt" or an int in [1, inf)'
        " or a float (not an int) in (0, 1] or null",
    ),
    ((GBC, "ccp_alpha", "0.1"), "ccp_alpha accepts a number in [0, inf)"),  # a quoted number
    ((LOGREG, "C", 0), "C accepts a number in (0, inf]"),
    ((LOGREG, "penalty", "l3"), 'penalty accepts one of "elasticnet", "l1", "l2" or null'),
    ((HGBR, "max_iter", [100, 200]), "max_iter accepts an int in [1, inf)"),
]  # fmt: skip

# (estimator, param, value) that validate
GOOD: list[tuple[str, str, Any]] = [
    (LGBMC, "num_leaves", 63),
    (LGBMC, "learning_rate", 1),  # YAML's 1 where a float is declared
    (LGBMC, "objective", "binary"),
    (XGBR, "missing", -1),
    (XGBR, "max_depth", None),
    (XGBR, "eval_metric", ["rmse", "mae"]),
    (GBC, "learning_rate", 1),
    (GBC, "max_features", 1.0),  # the float fraction
    (GBC, "max_features", 3),  # the int count
    (GBC, "max_features", "sqrt"),
    (GBC, "random_state", 42),
    (GBC, "verbose", True),
    (GBC, "subsample", 1),
    (LOGREG, "penalty", None),
    (HGBR, "max_iter", 200),
    (HGBR, "l2_regularization", 0),
]


def spec_text(estimator: str, params: dict[str, Any]) -> str:
    framework = estimator.partition(".")[0]
    task = TASKS[catalog_data()["frameworks"][framework]["estimators"][estimator]["task"]]
    data = {
        "apiVersion": "specops/v1",
        "kind": "MLPipeline",
        "metadata": {"name": "params", "team": "core"},
        "data": {
            "sources": [{"name": "e", "uri": "gs://acme/e.csv", "format": "csv", "version": "1"}],
            "schema": {"columns": [{"name": "x", "type": "float"}, {"name": "y", "type": "int"}]},
            "target": "y",
        },
        "model": {"framework": framework, "task": task, "estimator": estimator, "params": params},
        "deploy": {
            "model_uri": "gs://acme-models/params",
            "environments": [{"name": "dev", "namespace": "dev", "model_version": "v1"}],
        },
    }  # fmt: skip
    return yaml.safe_dump(data, sort_keys=False)


def checked(
    estimator: str, params: dict[str, Any]
) -> tuple[MLPipeline | None, LoadedSpec, list[Diagnostic]]:
    """The typed spec (None when the model refuses the value) and its CHK020 diagnostics."""
    loaded, problems = load(SourceFile("params.yaml", spec_text(estimator, params), "0" * 64))
    assert loaded is not None, problems
    spec, _ = build_model(loaded)
    if spec is None:
        return None, loaded, []
    return spec, loaded, [d for d in run_checks(spec, loaded) if d.code == "CHK020"]


@pytest.mark.parametrize(("case", "hint"), BAD, ids=[f"{c[0][0]}-{c[0][1]}" for c in BAD])
def test_bad_param_value_gives_the_exact_diagnostic(case: tuple[str, str, Any], hint: str) -> None:
    estimator, name, value = case
    spec, _, found = checked(estimator, {name: value})
    assert spec is not None
    message = f"{name}: {json.dumps(value)} is not a value {estimator} accepts"
    assert [(d.message, d.hint, d.location.path_text) for d in found] == [
        (message, hint, f"$.model.params.{name}")
    ]


@pytest.mark.parametrize("case", GOOD, ids=[f"{c[0]}-{c[1]}-{c[2]!r}" for c in GOOD])
def test_good_param_value_validates(case: tuple[str, str, Any]) -> None:
    estimator, name, value = case
    spec, _, found = checked(estimator, {name: value})
    assert spec is not None and found == []


def test_every_catalogued_default_is_accepted() -> None:
    """Not stricter than the library where it matters: each JSON-writable default validates."""
    refused = []
    for framework, section in catalog_data()["frameworks"].items():
        for path, entry in section["estimators"].items():
            accepts = declarations(framework, path) or {}
            for name, param in entry["params"].items():
                default = _plain(param["default"])
                if default is not _UNWRITABLE and not any(
                    satisfies(a, default) for a in accepts[name]
                ):
                    refused.append(f"{path}.{name}={default!r}")
    assert refused == []


_UNWRITABLE = object()


def _plain(default: Any) -> Any:
    if isinstance(default, dict):
        return float(default["float"]) if "float" in default else _UNWRITABLE
    if isinstance(default, list) and not all(isinstance(v, int | float | str) for v in default):
        return _UNWRITABLE
    return default


SKLEARN = sorted(
    p for p in catalog_data()["frameworks"]["sklearn"]["estimators"] if declarations("sklearn", p)
)


def _bounded(accept: dict[str, Any], integral: bool) -> st.SearchStrategy[Any]:
    low, high = accept["min"], accept["max"]
    low = None if not isinstance(low, int | float) else low
    high = None if not isinstance(high, int | float) else high
    if integral:
        return st.integers(
            None if low is None else math.ceil(low), None if high is None else math.floor(high)
        )
    floats = st.floats(low, high, allow_nan=False)
    return floats | st.integers(
        None if low is None else math.ceil(low), None if high is None else math.floor(high)
    )


def _declared(accept: dict[str, Any]) -> st.SearchStrategy[Any]:
    """Values of one declaration's type, mostly inside it (edges included)."""
    kind = accept["type"]
    if "choices" in accept:
        return st.sampled_from([c for c in accept["choices"] if not isinstance(c, dict)] or [None])
    if "closed" in accept:
        return _bounded(accept, integral=kind == "int")
    simple: dict[str, st.SearchStrategy[Any]] = {
        "bool": st.booleans(),
        "int": st.integers(-3, 300),
        "real": st.floats(-10, 10) | st.integers(-10, 10),
        "real_not_int": st.floats(-10, 10),
        "str": st.text(alphabet="abcdefghijklmnopqrstuvwxyz_", max_size=12),
        "list": st.lists(st.integers(0, 300), max_size=3),
        "array-like": st.lists(st.integers(0, 300), max_size=3),
        "random_state": st.integers(-1, 2**32),
        "verbose": st.integers(-1, 3) | st.booleans(),
        "cv_object": st.integers(0, 6),
    }
    return simple.get(kind, st.none())


def _candidates(accepts: list[dict[str, Any]]) -> st.SearchStrategy[Any]:
    """Values of each declared type, and of every other YAML type."""
    others = st.one_of(
        st.sampled_from([None, True, False, 0, 1, -1, 0.0, 0.5, 1.0, 1.5, 2, "auto", [1, 2]]),
        st.integers(-(2**33), 2**33),
        st.floats(allow_nan=False, allow_infinity=True),
        st.text(alphabet="abcdefghijklmnopqrstuvwxyz_", max_size=12),
    )
    return st.one_of(*[_declared(a) for a in accepts], others)


@st.composite
def sklearn_param(draw: st.DrawFn) -> tuple[str, str, Any]:
    path = draw(st.sampled_from(SKLEARN))
    declared = declarations("sklearn", path) or {}
    name = draw(st.sampled_from(sorted(declared)))
    return path, name, draw(_candidates(declared[name]))


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=sklearn_param())
def test_a_value_that_validates_is_one_sklearn_accepts(case: tuple[str, str, Any]) -> None:
    path, name, value = case
    spec, _, found = checked(path, {name: value})
    event("refused" if spec is None or found else "accepted")  # --hypothesis-show-statistics
    if spec is None or found:
        return  # the model or CHK020 refused it: nothing runs
    given_value = spec.model.params[name]  # as the training step receives it
    module, _, cls_name = path.rpartition(".")
    estimator = getattr(importlib.import_module(module), cls_name)()
    estimator.set_params(**{name: given_value})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # deprecated choices still run
        estimator._validate_params()


def test_the_invariant_test_sees_both_outcomes() -> None:
    """The property above is vacuous if the validator refuses everything or nothing."""
    declared = declarations("sklearn", GBC) or {}
    outcomes = {satisfies(a, v) for a in declared["n_estimators"] for v in (1, 0, math.pi)}
    assert outcomes == {True, False}
