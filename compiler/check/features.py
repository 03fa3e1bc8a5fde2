"""Rules that make a valid spec trainable: features, the target and what the estimator takes.

The training step (templates/kubeflow/components/train.py.j2) fits on the int, float, bool and
category columns other than the target, in schema order, prepared as `data.preprocessing` says
(compiler.preprocessing): a nullable feature left unimputed reaches the estimator as NaN.

CHK021 a nullable feature needs an estimator that accepts NaN (from the catalog's allow_nan),
CHK022 at least one feature, a target type that fits the task and two or more classes,
CHK023 (warning) a `mape` gate on a target that can be 0.
"""

from __future__ import annotations

from collections.abc import Iterator

from compiler.catalog import TASK_OF_SPEC, accepts_missing, missing_tolerant
from compiler.check.rules import rule
from compiler.diagnostics import Diagnostic, JsonPath, error, warning
from compiler.loader import LoadedSpec
from compiler.model.spec import Column, MLPipeline
from compiler.preprocessing import nan_features

FEATURE_TYPES = ("int", "float", "bool", "category")
TARGET_TYPES = {
    # a float target is a regression's: sklearn refuses "continuous" class labels
    "classification": ("int", "bool", "category", "string"),
    "regression": ("int", "float"),
}
_COLUMNS: JsonPath = ("data", "schema", "columns")
_SHOWN = 3  # alternative estimators a hint names


def features(spec: MLPipeline) -> list[tuple[int, Column]]:
    """(schema index, column) of each column the training step fits on."""
    return [
        (index, column)
        for index, column in enumerate(spec.data.data_schema.columns)
        if column.type in FEATURE_TYPES and column.name != spec.data.target
    ]


def _target(spec: MLPipeline) -> tuple[int, Column] | None:
    for index, column in enumerate(spec.data.data_schema.columns):
        if column.name == spec.data.target:
            return index, column
    return None  # CHK001


@rule
def missing_values(spec: MLPipeline, loaded: LoadedSpec) -> Iterator[Diagnostic]:
    model = spec.model
    if model.framework == "custom" or model.estimator is None:
        return
    if accepts_missing(model.framework, model.estimator) is not False:
        return  # accepts NaN, or not catalogued (CHK006, or a platform's class: unknown)
    task = TASK_OF_SPEC[model.task]
    others = missing_tolerant(model.framework, task)[:_SHOWN]
    instead = f", e.g. {', '.join(others)}" if others else ""
    unimputed = set(nan_features(spec))
    for index, column in features(spec):
        if column.name in unimputed:
            yield error(
                "CHK021",
                f"feature {column.name!r} is nullable and its preprocessing leaves missing values"
                f" in place (impute: none), but {model.estimator} does not accept NaN",
                loaded.locate((*_COLUMNS, index, "nullable")),
                f"impute it under data.preprocessing (e.g. columns: {{{column.name}: {{impute:"
                f" median}}}}), or pick an estimator that accepts missing values{instead}",
            )


@rule
def trainable_data(spec: MLPipeline, loaded: LoadedSpec) -> Iterator[Diagnostic]:
    if spec.model.framework != "custom" and not features(spec):
        # a custom image reads the data its own way; the built-in training step needs features
        yield error(
            "CHK022",
            "no feature column: training fits on the int, float, bool and category columns"
            " other than the target",
            loaded.locate(_COLUMNS, key=True),
            "declare the columns the model learns from (string and datetime columns are not"
            " features)",
        )
    found = _target(spec)
    if found is not None:
        yield from _target_fits_task(spec, loaded, *found)


def _target_fits_task(
    spec: MLPipeline, loaded: LoadedSpec, index: int, column: Column
) -> Iterator[Diagnostic]:
    task = spec.model.task
    fitting = TARGET_TYPES[task]
    if column.type not in fitting:
        others = [t for t in TARGET_TYPES if t != task and column.type in TARGET_TYPES[t]]
        yield error(
            "CHK022",
            f"a {column.type} target does not fit model.task {task}",
            loaded.locate((*_COLUMNS, index, "type")),
            f"a {task} target is {', '.join(fitting[:-1])} or {fitting[-1]}"
            + "".join(f"; or set model.task: {t}" for t in others),
        )
    elif task == "classification" and column.allowed is not None and len(column.allowed) < 2:
        yield error(
            "CHK022",
            f"the target {column.name!r} allows only one class; a classifier needs at least two",
            loaded.locate((*_COLUMNS, index, "allowed")),
            "list every class the target takes",
        )


@rule
def mape_near_zero(spec: MLPipeline, loaded: LoadedSpec) -> Iterator[Diagnostic]:
    found = _target(spec)
    if spec.model.task != "regression" or found is None or not _can_be_zero(found[1]):
        return
    for index, gate in enumerate(spec.validation.metrics):
        if gate.name == "mape":
            yield warning(
                "CHK023",
                f"mape divides by the true value, and the target {found[1].name!r} can be 0:"
                " one zero row makes the gate's value huge (or infinite)",
                loaded.locate(("validation", "metrics", index, "name")),
                "give the target column min > 0 (or max < 0) if it is never 0, or gate on"
                " mae or rmse",
            )


def _can_be_zero(column: Column) -> bool:
    if column.allowed is not None:
        return any(value == 0 and not isinstance(value, bool) for value in column.allowed)
    low, high = column.min, column.max
    return (low is None or low <= 0) and (high is None or high >= 0)
