"""Rules about data.preprocessing: every setting names a feature and fits its type and the
framework, so the transformer the training step builds from it fits.

Rules read the effective settings (compiler.preprocessing), so a type default is checked for
each column it reaches, and a finding is located at the layer that chose the value.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator

from compiler.check.rules import rule
from compiler.diagnostics import Diagnostic, JsonPath, error
from compiler.loader import LoadedSpec
from compiler.model.spec import Column, MLPipeline
from compiler.preprocessing import (
    BUILT_IN,
    FEATURE_KINDS,
    ColumnSteps,
    effective_preprocessing,
    feature_columns,
    is_booster,
)

_COLUMNS: JsonPath = ("data", "preprocessing", "columns")


def _origin(steps: ColumnSteps, name: str) -> JsonPath:
    origin = steps.origins.get(name, BUILT_IN)
    return ("data", "preprocessing") if origin == BUILT_IN else tuple(origin.split("."))


@rule
def preprocessing_columns(spec: MLPipeline, loaded: LoadedSpec) -> Iterator[Diagnostic]:
    """Entries of `columns` name feature columns (a string or datetime column may be dropped,
    which it is anyway)."""
    columns = {c.name: c for c in spec.data.data_schema.columns}
    for name, entry in spec.data.preprocessing.columns.items():
        where = loaded.locate((*_COLUMNS, name), key=True)
        if name not in columns:
            close = difflib.get_close_matches(name, list(columns), n=1)
            yield error(
                "PRE001",
                f"data.preprocessing.columns names {name!r}, which is not in data.schema.columns",
                where,
                f"did you mean {close[0]!r}?" if close else f"columns: {', '.join(columns)}",
            )
        elif name == spec.data.target:
            yield error(
                "PRE002",
                f"{name!r} is the target: preprocessing applies to features only",
                where,
                "remove this entry; the target is never a feature",
            )
        elif columns[name].type not in FEATURE_KINDS and entry.model_fields_set - {"drop"}:
            yield error(
                "PRE003",
                f"{name!r} is a {columns[name].type} column, which is never a feature",
                where,
                "only int, float, bool and category columns are features; leave this entry out",
            )
        elif entry.drop and entry.model_fields_set - {"drop"}:
            extra = ", ".join(sorted(entry.model_fields_set - {"drop"}))
            yield error(
                "PRE003",
                f"{name!r} is dropped, so its {extra} would never apply",
                where,
                "keep either drop: true or the other settings",
            )


@rule
def some_feature_kept(spec: MLPipeline, loaded: LoadedSpec) -> Iterator[Diagnostic]:
    if feature_columns(spec) and not effective_preprocessing(spec):
        yield error(
            "PRE008",
            "data.preprocessing drops every feature column: the model would have no input",
            loaded.locate(_COLUMNS),
            "keep at least one int, float, bool or category column",
        )


@rule
def settings_fit(spec: MLPipeline, loaded: LoadedSpec) -> Iterator[Diagnostic]:
    """Each effective setting fits its column's type and the framework; a type default that
    does not fit is reported once, at the default."""
    columns = {c.name: c for c in spec.data.data_schema.columns}
    seen: set[tuple[str, JsonPath]] = set()
    for steps in effective_preprocessing(spec).values():
        for code, field, message, hint in _misfits(spec, columns[steps.name], steps):
            path = _origin(steps, field)
            if (code, path) not in seen:
                seen.add((code, path))
                yield error(code, message, loaded.locate(path), hint)


Misfit = tuple[str, str, str, str | None]


def _misfits(spec: MLPipeline, column: Column, steps: ColumnSteps) -> Iterator[Misfit]:
    yield from _type_misfits(column, steps)
    yield from _framework_misfits(spec, steps)
    yield from _fill_misfits(column, steps)


def _type_misfits(column: Column, steps: ColumnSteps) -> Iterator[Misfit]:
    if steps.kind != "numeric" and steps.impute in ("mean", "median"):
        yield (
            "PRE004",
            "impute",
            f"impute: {steps.impute} needs numbers; {column.name!r} is of type {column.type}",
            "use most_frequent or constant",
        )
    if steps.kind != "numeric" and steps.scale != "none":
        yield ("PRE004", "scale", f"scale applies to int and float columns, not {column.type} "
               f"({column.name!r})", None)  # fmt: skip
    if steps.kind != "category" and steps.encode != "none":
        yield ("PRE004", "encode", f"encode applies to category columns, not {column.type} "
               f"({column.name!r})", None)  # fmt: skip


def _framework_misfits(spec: MLPipeline, steps: ColumnSteps) -> Iterator[Misfit]:
    framework = spec.model.framework
    if not is_booster(spec):
        if steps.encode == "native":
            yield (
                "PRE006",
                "encode",
                f"encode: native is for xgboost and lightgbm, not {framework} ({steps.name!r})",
                "use one_hot or ordinal",
            )
        return
    served = "KServe serves the native booster alone, so nothing can run in front of it"
    for field, value in (("impute", steps.impute), ("scale", steps.scale)):
        if value != "none":
            yield (
                "PRE005",
                field,
                f"{framework} cannot {field} {steps.name!r} ({field}: {value}): {served}",
                "leave it out: the booster splits on missing values natively"
                if field == "impute"
                else "leave it out: tree splits do not depend on the scale",
            )
    if steps.encode == "one_hot":
        yield (
            "PRE005",
            "encode",
            f"{framework} cannot one-hot encode {steps.name!r}: {served}",
            "use native (the default) or ordinal",
        )


def _fill_misfits(column: Column, steps: ColumnSteps) -> Iterator[Misfit]:
    if steps.impute != "constant":
        if steps.fill_value is not None:
            yield ("PRE007", "fill_value", f"fill_value of {column.name!r} is read only with "
                   f"impute: constant (it has impute: {steps.impute})", None)  # fmt: skip
        return
    if steps.fill_value is None:
        yield (
            "PRE007",
            "impute",
            f"impute: constant for {column.name!r} needs a fill_value",
            "add fill_value: the value missing entries become",
        )
        return
    problem = _fill_problem(column, steps.fill_value)
    if problem is not None:
        yield "PRE007", "fill_value", f"fill_value {steps.fill_value!r} {problem}", None


def _fill_problem(column: Column, value: object) -> str | None:
    """Why `value` cannot fill `column`, or None when it can."""
    if column.type in ("int", "float"):
        if isinstance(value, bool) or not isinstance(value, int | float):
            return f"is not a number, and {column.name!r} is of type {column.type}"
        low, high = column.min, column.max
        if (low is not None and value < low) or (high is not None and value > high):
            return f"is outside the range [{low}, {high}] of {column.name!r}"
        return None
    if column.type == "bool":
        return None if isinstance(value, bool) else f"is not a bool, as {column.name!r} is"
    if column.allowed is not None:
        return None if value in column.allowed else f"is not an allowed value of {column.name!r}"
    return None if isinstance(value, str) and value else f"is not a category of {column.name!r}"
