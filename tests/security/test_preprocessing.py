"""data.preprocessing in a pull request: it can only choose among the transformations specops
builds, each refused with a located diagnostic where it would not train or not serve, and the
published model applies exactly the declared preprocessing.
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
from hypothesis import given, settings
from hypothesis import strategies as st

from compiler.preprocessing import effective_preprocessing
from tests._components import train_and_evaluate, validate_data
from tests.conftest import DATA

BASE = yaml.safe_load((DATA / "valid" / "nullable-gradient-boosting.yaml").read_text())

# (data.preprocessing, [(code, JSON path, message)]): what a hostile or careless PR writes
HOSTILE: list[tuple[dict[str, Any], list[tuple[str, str, str]]]] = [
    ({"columns": {"plan": {"impute": "__import__('os').system('id')"}}}, [(
        "SPEC104", "data.preprocessing.columns.plan.impute",
        "\"__import__('os').system('id')\": must be 'none', 'mean', 'median', 'most_frequent' "
        "or 'constant'")]),
    ({"columns": {"plan": {"encode": "sklearn.preprocessing.FunctionTransformer"}}}, [(
        "SPEC104", "data.preprocessing.columns.plan.encode",
        "'sklearn.preprocessing.FunctionTransformer': must be 'one_hot', 'ordinal' or 'native'")]),
    ({"columns": {"plan": {"transformer": "os.system"}}}, [(
        "SPEC101", "data.preprocessing.columns.plan.transformer", "unknown key 'transformer'")]),
    ({"columns": {"../etc": {"drop": True}}}, [(
        "SPEC105", "data.preprocessing.columns.../etc",
        "'../etc': must be an identifier: letters, digits and '_', not starting with a digit")]),
    ({"columns": {"plan": {"fill_value": {"a": 1}}}}, [(
        "SPEC103", "data.preprocessing.columns.plan.fill_value",
        "expected a string, number or boolean, found a mapping")]),
    ({"defaults": {"string": {"impute": "most_frequent"}}}, [(
        "SPEC101", "data.preprocessing.defaults.string", "unknown key 'string'")]),
    ({"columns": {"churned": {"impute": "constant", "fill_value": 1}}}, [(
        "PRE002", "data.preprocessing.columns.churned",
        "'churned' is the target: preprocessing applies to features only")]),
    ({"columns": {"monthly_charge": {"impute": "mean"}}}, [(
        "PRE001", "data.preprocessing.columns.monthly_charge",
        "data.preprocessing.columns names 'monthly_charge', which is not in data.schema.columns")]),
    ({"columns": {"tenure_months": {"drop": True}, "monthly_charges": {"drop": True},
                  "discount": {"drop": True}, "plan": {"drop": True}}}, [(
        "PRE008", "data.preprocessing.columns",
        "data.preprocessing drops every feature column: the model would have no input")]),
    ({"columns": {"discount": {"impute": "constant", "fill_value": "0"}}}, [(
        "PRE007", "data.preprocessing.columns.discount.fill_value",
        "fill_value '0' is not a number, and 'discount' is of type float")]),
    ({"columns": {"tenure_months": {"impute": "constant", "fill_value": -1}}}, [(
        "PRE007", "data.preprocessing.columns.tenure_months.fill_value",
        "fill_value -1 is outside the range [0.0, None] of 'tenure_months'")]),
    ({"defaults": {"category": {"encode": "native"}}}, [(
        "PRE006", "data.preprocessing.defaults.category.encode",
        "encode: native is for xgboost and lightgbm, not sklearn ('plan')")]),
    ({"columns": {"plan": {"impute": "mean"}}}, [(
        "PRE004", "data.preprocessing.columns.plan.impute",
        "impute: mean needs numbers; 'plan' is of type category")]),
]  # fmt: skip


def _with(preprocessing: dict[str, Any], **model: Any) -> dict[str, Any]:
    data = copy.deepcopy(BASE)
    data["data"]["preprocessing"] = preprocessing
    data["model"].update(model)
    return data


@pytest.mark.parametrize(("preprocessing", "expected"), HOSTILE)
def test_hostile_preprocessing_is_refused_where_it_is_written(
    preprocessing: dict[str, Any], expected: list[tuple[str, str, str]]
) -> None:
    _, _, problems = validate_data(_with(preprocessing))
    found = [(p.code, ".".join(map(str, p.location.json_path)), p.message) for p in problems]
    assert found == expected


@pytest.mark.parametrize("framework", ["xgboost", "lightgbm"])
@pytest.mark.parametrize(
    ("preprocessing", "field"),
    [
        ({"defaults": {"numeric": {"impute": "median"}}}, "defaults.numeric.impute"),
        ({"columns": {"tenure_months": {"scale": "minmax"}}}, "columns.tenure_months.scale"),
        ({"columns": {"plan": {"encode": "one_hot"}}}, "columns.plan.encode"),
    ],
)  # fmt: skip
def test_nothing_may_run_in_front_of_a_served_booster(
    framework: str, preprocessing: dict[str, Any], field: str
) -> None:
    estimator = {"xgboost": "xgboost.XGBClassifier", "lightgbm": "lightgbm.LGBMClassifier"}
    data = _with(preprocessing, framework=framework, estimator=estimator[framework])
    _, _, problems = validate_data(data)
    assert [(p.code, ".".join(map(str, p.location.json_path))) for p in problems] == [
        ("PRE005", f"data.preprocessing.{field}")
    ]
    assert "KServe serves the native booster alone" in problems[0].message


def _rows(count: int = 40) -> pd.DataFrame:
    rng = np.random.default_rng(7)
    frame = pd.DataFrame({
        "customer_id": [f"c{i}" for i in range(count)],
        "tenure_months": rng.integers(0, 60, count),
        "monthly_charges": rng.normal(50, 10, count),
        "discount": rng.random(count),
        "plan": rng.choice(["basic", "pro"], count).astype(object),
        "churned": [0, 1] * (count // 2),
    })  # fmt: skip
    for name in ("monthly_charges", "discount", "plan"):
        frame.loc[frame.index % 5 == 1, name] = None
    return frame


def test_the_published_model_applies_the_declared_preprocessing(tmp_path: Path) -> None:
    train_and_evaluate(BASE, _rows(), tmp_path)
    pipeline = joblib.load(tmp_path / "model")
    features = pipeline.named_steps["features"]
    row = _rows().iloc[[1]].copy()  # missing monthly_charges, discount and plan
    assert row[["monthly_charges", "discount", "plan"]].isna().all(axis=None)
    filled = row.assign(discount=0.0)  # the spec's constant
    np.testing.assert_array_equal(features.transform(row), features.transform(filled))
    declared = json.loads(json.dumps([s.as_json() for s in effective_preprocessing(
        validate_data(BASE)[0]).values()]))  # type: ignore[arg-type]  # fmt: skip
    assert [s["name"] for s in declared] == list(pipeline.feature_names_in_)
    assert "customer_id" not in pipeline.feature_names_in_  # dropped
    assert pipeline.predict(row).shape == (1,)  # serves a row with missing values


def test_a_booster_model_holds_only_category_codes_in_front_of_the_booster(tmp_path: Path) -> None:
    data = _with({}, framework="xgboost", estimator="xgboost.XGBClassifier",
                 params={"n_estimators": 5, "n_jobs": 1})  # fmt: skip
    data["data"].pop("preprocessing")
    train_and_evaluate(data, _rows(), tmp_path)
    features = joblib.load(tmp_path / "model").named_steps["features"]
    fitted = [t for _, t, _ in features.transformers_]
    # sklearn fits "passthrough" as an identity FunctionTransformer (func None)
    assert {type(t).__name__ for t in fitted} == {"FunctionTransformer", "OrdinalEncoder"}
    assert all(t.func is None for t in fitted if type(t).__name__ == "FunctionTransformer")


SETTINGS_TEXT = st.sampled_from(
    [
        "none",
        "mean",
        "median",
        "most_frequent",
        "constant",
        "standard",
        "minmax",
        "one_hot",
        "ordinal",
        "native",
        "",
        "x",
    ]
)
VALUES = st.one_of(SETTINGS_TEXT, st.integers(-3, 3), st.booleans(), st.none(), st.floats(-2, 2))
ENTRY = st.dictionaries(
    st.sampled_from(["impute", "fill_value", "scale", "encode", "drop", "other"]), VALUES,
    max_size=4,
)  # fmt: skip
NAMES = st.sampled_from(["tenure_months", "monthly_charges", "discount", "plan", "churned",
                         "customer_id", "nope"])  # fmt: skip


@settings(max_examples=150, deadline=None)
@given(
    defaults=st.dictionaries(st.sampled_from(["numeric", "bool", "category", "text"]), ENTRY),
    columns=st.dictionaries(NAMES, ENTRY, max_size=4),
)
def test_any_preprocessing_gives_located_diagnostics_never_a_crash(
    defaults: dict[str, Any], columns: dict[str, Any]
) -> None:
    _, _, problems = validate_data(_with({"defaults": defaults, "columns": columns}))
    for problem in problems:
        if problem.code == "CHK021":  # impute: none leaves NaN for an estimator without NaN
            assert problem.location.json_path[:2] == ("data", "schema"), problem
            continue
        assert problem.location.json_path[:2] == ("data", "preprocessing"), problem
