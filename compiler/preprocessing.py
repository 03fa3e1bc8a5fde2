"""The effective preprocessing of each feature column: what the training step builds.

A setting comes from the column's entry in `data.preprocessing.columns`, else the column type's
entry in `data.preprocessing.defaults`, else specops' built-in default. The built-in defaults
make every valid spec train: sklearn imputes nullable columns (most of its estimators refuse
NaN), the boosters split on NaN and on category codes natively (their booster is served alone,
so nothing may run in front of it). Checks (compiler.check.preprocessing), the plan (the JSON
the training step reads) and `specops explain` all read this one function.
"""

from __future__ import annotations

import functools
import json
import weakref
from dataclasses import dataclass, field
from typing import Literal

from pydantic import BaseModel

from compiler.model.preprocessing import ScalarValue
from compiler.model.spec import BOOSTER_FRAMEWORKS, Column, MLPipeline

Kind = Literal["numeric", "bool", "category"]
FEATURE_KINDS: dict[str, Kind] = {
    "int": "numeric",
    "float": "numeric",
    "bool": "bool",
    "category": "category",
}
SETTINGS = ("impute", "fill_value", "scale", "encode")
BUILT_IN = "built-in default"


@dataclass(frozen=True, slots=True)
class ColumnSteps:
    """One feature column's preprocessing; `origins` names where each setting came from (a
    spec JSON path, or BUILT_IN)."""

    name: str
    kind: Kind
    impute: str = "none"
    fill_value: ScalarValue | None = None
    scale: str = "none"
    encode: str = "none"
    origins: dict[str, str] = field(default_factory=dict)

    def as_json(self) -> dict[str, object]:
        return {
            "name": self.name,
            "kind": self.kind,
            "impute": self.impute,
            "fill_value": self.fill_value,
            "scale": self.scale,
            "encode": self.encode,
        }


def is_booster(spec: MLPipeline) -> bool:
    return spec.model.framework in BOOSTER_FRAMEWORKS


def built_in(spec: MLPipeline, column: Column) -> dict[str, object]:
    """The built-in settings of a feature column (see the module docstring for why)."""
    booster = is_booster(spec)
    kind = FEATURE_KINDS[column.type]
    impute = "none"
    if column.nullable and not booster:
        impute = "median" if kind == "numeric" else "most_frequent"
    return {
        "impute": impute,
        "fill_value": None,
        "scale": "none",
        "encode": ("native" if booster else "one_hot") if kind == "category" else "none",
    }


def built_in_reason(spec: MLPipeline, column: Column, setting: str) -> str:
    """Why the built-in default of `setting` is what it is, for `specops explain`."""
    framework = spec.model.framework
    if setting == "impute":
        if not column.nullable:
            return "the column is not nullable: nothing to impute"
        if is_booster(spec):
            return f"{framework} splits on missing values natively"
        return f"a nullable {column.type} column with {framework}: most estimators refuse NaN"
    if setting == "encode" and column.type == "category":
        return "codes the booster splits on" if is_booster(spec) else "one column per value"
    if setting == "fill_value":
        return "read only with impute: constant"
    return "not applied unless the spec asks"


def feature_columns(spec: MLPipeline) -> list[Column]:
    """The columns a model may use, in schema order: int, float, bool and category columns
    other than the target (string and datetime columns are identifiers or timestamps)."""
    return [
        c
        for c in spec.data.data_schema.columns
        if c.type in FEATURE_KINDS and c.name != spec.data.target
    ]


# Several rules and the plan ask for the same spec's settings in a row: keep the last answer.
_last: tuple[weakref.ref[MLPipeline], dict[str, ColumnSteps]] | None = None


def effective_preprocessing(spec: MLPipeline) -> dict[str, ColumnSteps]:
    """The settings of every feature column the model uses (dropped columns left out), in
    schema order. Callers must not change the returned mapping (it is shared)."""
    global _last
    if _last is not None and _last[0]() is spec:
        return _last[1]
    result = _compute(spec)
    _last = (weakref.ref(spec), result)
    return result


def _compute(spec: MLPipeline) -> dict[str, ColumnSteps]:
    pre = spec.data.preprocessing
    result: dict[str, ColumnSteps] = {}
    for column in feature_columns(spec):
        own = pre.columns.get(column.name)
        if own is not None and own.drop:
            continue
        kind = FEATURE_KINDS[column.type]
        values = built_in(spec, column)
        origins = dict.fromkeys(values, BUILT_IN)
        layers = (
            (getattr(pre.defaults, kind), f"data.preprocessing.defaults.{kind}"),
            (own, f"data.preprocessing.columns.{column.name}"),
        )
        for source, prefix in layers:  # lowest first: the column's own entry wins
            # a column entry may hold a setting its type has not: kept, so checks refuse it
            for name, given in _given(source):
                values[name], origins[name] = given, f"{prefix}.{name}"
        result[column.name] = ColumnSteps(column.name, kind, origins=origins, **values)  # type: ignore[arg-type]
    return result


def _given(source: BaseModel | None) -> list[tuple[str, object]]:
    """The settings a defaults or column entry gives. A type's defaults lack the fields its
    type cannot have: asking pydantic for a missing attribute raises and catches an error,
    which costs more than this whole lookup."""
    if source is None:
        return []
    given = [(name, getattr(source, name)) for name in _settings_of(type(source))]
    return [(name, value) for name, value in given if value is not None]


@functools.cache
def _settings_of(entry: type[BaseModel]) -> tuple[str, ...]:
    return tuple(name for name in SETTINGS if name in entry.model_fields)


def preprocessing_json(spec: MLPipeline) -> str:
    """The training step's `preprocessing_json` argument: one string in the IR (like
    `columns_json`), the effective settings in schema order."""
    steps = [s.as_json() for s in effective_preprocessing(spec).values()]
    return json.dumps(steps, sort_keys=True)


def nan_features(spec: MLPipeline) -> list[str]:
    """The feature columns whose missing values reach the estimator as NaN: nullable ones the
    effective settings leave unimputed (`impute: none`), except one-hot encoded categories,
    where missing is a category of its own. An estimator whose catalog entry has
    `allow_nan: false` cannot fit these (compiler.check refuses that pairing)."""
    nullable = {c.name for c in spec.data.data_schema.columns if c.nullable}
    return [
        name
        for name, steps in effective_preprocessing(spec).items()
        if name in nullable and steps.impute == "none" and steps.encode != "one_hot"
    ]
