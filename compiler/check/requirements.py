"""CHK027: the data a spec declares meets what its estimator requires of data.

The requirements come from the estimator catalog (scikit-learn's own tags, and the few widths
the generator records), so a spec that validates does not fail inside `fit`:

- `min_features`: at least that many feature columns (or the value of the named parameter);
- `requires_positive_y` (or `requires_positive_y_when` its parameter's value, given or default,
  is above a bound): a target whose `min` (or `allowed` values) is > 0;
- `requires_positive_X`: every numeric feature declares `min >= 0`, and no preprocessing makes
  it negative (standard scaling; a constant fill below the column's min is PRE007's);
- xgboost's classifiers take the labels 0..k-1 only: a bool target, or an int target whose
  `allowed` is exactly [0, 1, ..., k-1].

Widths are counted before encoding: one-hot encoding only widens the table, so a count of the
columns never lets a too-narrow table through.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from compiler.catalog import data_requirements, declarations, declared_defaults
from compiler.check.features import TARGET_TYPES
from compiler.check.rules import rule
from compiler.diagnostics import Diagnostic, JsonPath, error
from compiler.loader import LoadedSpec
from compiler.model.spec import Column, MLPipeline
from compiler.preprocessing import BUILT_IN, ColumnSteps, effective_preprocessing

_COLUMNS: JsonPath = ("data", "schema", "columns")


def _requirements(spec: MLPipeline) -> dict[str, Any] | None:
    model = spec.model
    if model.framework == "custom" or model.estimator is None:
        return None
    return data_requirements(model.framework, model.estimator)


def _indexed(spec: MLPipeline) -> dict[str, tuple[int, Column]]:
    return {c.name: (i, c) for i, c in enumerate(spec.data.data_schema.columns)}


@rule
def enough_features(spec: MLPipeline, loaded: LoadedSpec) -> Iterator[Diagnostic]:
    needs = _requirements(spec)
    width = needs and needs["min_features"]
    if not width:
        return
    name = width["param"]
    given = spec.model.params.get(name) if name else None
    # a non-int value is CHK020's to refuse
    least = given if isinstance(given, int) and not isinstance(given, bool) else width["default"]
    count = len(effective_preprocessing(spec))
    if count >= least:
        return
    why = ""
    if name:
        why = f" ({name}: {least})" if given is not None else f" ({name} defaults to {least})"
    where = ("model", "params", name) if given is not None else ("model", "estimator")
    hint = "declare more feature columns (or drop fewer)"
    if name:
        hint += f", or set model.params.{name} to at most {max(count, 1)}"
    yield error(
        "CHK027",
        f"{spec.model.estimator} fits at least {least} feature columns{why}, and the spec has"
        f" {count}",
        loaded.locate(where),
        hint,
    )


@rule
def positive_target(spec: MLPipeline, loaded: LoadedSpec) -> Iterator[Diagnostic]:
    needs = _requirements(spec)
    found = _indexed(spec).get(spec.data.target)
    if not needs or found is None:
        return
    because = _positive_y_because(spec, needs)
    if because is None:
        return
    index, column = found
    if column.allowed is not None:
        numbers = [v for v in column.allowed if not isinstance(v, (bool, str))]
        if len(numbers) == len(column.allowed) and all(v > 0 for v in numbers):
            return
    elif column.min is not None and column.min > 0:
        return
    key = "allowed" if column.allowed is not None else "min"
    yield error(
        "CHK027",
        f"{spec.model.estimator} fits only a target > 0{because}, and the target"
        f" {column.name!r} does not declare that",
        loaded.locate((*_COLUMNS, index, key)),
        f"set the target column's min above 0 (e.g. min: 0.001) if {column.name!r} is always"
        " positive, or pick another estimator",
    )


def _positive_y_because(spec: MLPipeline, needs: dict[str, Any]) -> str | None:
    """None when the target may be <= 0, else the parameter setting that needs it > 0 (as a
    message suffix, empty when the class always does)."""
    if needs["requires_positive_y"]:
        return ""
    when = needs["requires_positive_y_when"]
    if not when:
        return None
    name = when["param"]
    given = name in spec.model.params
    value = spec.model.params[name] if given else _default(spec, name)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None  # CHK020 judges the value
    if value <= when["above"]:
        return None
    return f" with {name}: {value}" if given else f" with {name}, which defaults to {value}"


def _default(spec: MLPipeline, name: str) -> Any:
    found = declared_defaults(spec.model.framework, spec.model.estimator or "")
    return found.get(name)


@rule
def positive_features(spec: MLPipeline, loaded: LoadedSpec) -> Iterator[Diagnostic]:
    needs = _requirements(spec)
    if not needs or not needs["requires_positive_X"]:
        return
    columns = _indexed(spec)
    for name, steps in effective_preprocessing(spec).items():
        if steps.kind == "numeric":
            yield from _nonnegative(spec, loaded, steps, *columns[name])


def _nonnegative(
    spec: MLPipeline, loaded: LoadedSpec, steps: ColumnSteps, index: int, column: Column
) -> Iterator[Diagnostic]:
    estimator = spec.model.estimator
    if column.min is None or column.min < 0:
        yield error(
            "CHK027",
            f"{estimator} fits only features >= 0, and the feature {column.name!r} does not"
            " declare min >= 0",
            loaded.locate((*_COLUMNS, index, "min")),
            f"set the column's min (e.g. min: 0) if {column.name!r} is never negative, drop it"
            f" (data.preprocessing.columns: {{{column.name}: {{drop: true}}}}), or pick another"
            " estimator",
        )
    if steps.scale == "standard":
        yield error(
            "CHK027",
            f"{estimator} fits only features >= 0, and scale: standard makes {column.name!r}"
            " negative",
            loaded.locate(_origin(steps, "scale")),
            "use scale: minmax or scale: none for this estimator",
        )


def _exactly(values: list[Any] | None, labels: list[int]) -> bool:
    """The same ints in the same order (True == 1 in Python, not in the spec's types)."""
    return values == labels and all(type(v) is int for v in values)


def _origin(steps: ColumnSteps, name: str) -> JsonPath:
    origin = steps.origins.get(name, BUILT_IN)
    return ("data", "preprocessing") if origin == BUILT_IN else tuple(origin.split("."))


@rule
def xgboost_labels(spec: MLPipeline, loaded: LoadedSpec) -> Iterator[Diagnostic]:
    model = spec.model
    found = _indexed(spec).get(spec.data.target)
    if model.framework != "xgboost" or model.task != "classification" or found is None:
        return
    if declarations(model.framework, model.estimator or "") is None:
        return  # a platform's class (or CHK006): the catalog does not know it
    index, column = found
    if column.type == "bool" or column.type not in TARGET_TYPES["classification"]:
        return  # bool is 0/1; a type that is no class label is CHK022's
    allowed = column.allowed
    labels = list(range(len(allowed))) if allowed is not None else None
    if column.type == "int" and labels is not None and _exactly(allowed, labels):
        return
    k = len(allowed) if allowed else 2
    key = "allowed" if column.type == "int" else "type"
    yield error(
        "CHK027",
        f"{model.estimator} takes the class labels 0..k-1 only, and the target"
        f" {column.name!r} does not declare that",
        loaded.locate((*_COLUMNS, index, key)),
        f"make the target an int column with allowed: {list(range(k))} (or a bool column),"
        " encoding the classes as those numbers",
    )
