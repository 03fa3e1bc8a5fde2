"""Rules about training: framework fields, resources and gates.

Which estimator a built-in framework may train is compiler.check.estimators (it also needs the
platform's extra estimators, so run_checks calls it with them).
"""

from __future__ import annotations

import difflib
import itertools
from collections.abc import Iterator
from typing import Any

from compiler.check.rules import rule
from compiler.diagnostics import Diagnostic, JsonPath, error
from compiler.loader import LoadedSpec
from compiler.model.spec import (
    CLASSIFICATION_METRICS,
    REGRESSION_METRICS,
    UNIT_INTERVAL_METRICS,
    MLPipeline,
)


@rule
def framework_fields(spec: MLPipeline, loaded: LoadedSpec) -> Iterator[Diagnostic]:
    if spec.model.framework == "custom":
        yield from _custom_fields(spec, loaded)
    else:
        yield from _builtin_fields(spec, loaded)


def _custom_fields(spec: MLPipeline, loaded: LoadedSpec) -> Iterator[Diagnostic]:
    where = loaded.locate(("model", "framework"))
    for field in ("image", "command"):
        if getattr(spec.model, field) is None:
            yield error("CHK006", f"framework custom needs model.{field}", where)
    if spec.model.estimator is not None:
        yield error(
            "CHK006",
            "model.estimator applies to built-in frameworks only",
            loaded.locate(("model", "estimator"), key=True),
            "remove it or pick sklearn, xgboost or lightgbm",
        )
    if spec.deploy.serving is None:
        yield error(
            "CHK006",
            "framework custom needs deploy.serving (the serving image)",
            loaded.locate(("deploy",), key=True),
        )


def _builtin_fields(spec: MLPipeline, loaded: LoadedSpec) -> Iterator[Diagnostic]:
    model = spec.model
    if model.estimator is None:
        yield error(
            "CHK006",
            f"framework {model.framework} needs model.estimator",
            loaded.locate(("model", "framework")),
        )
    for field in ("image", "command", "args"):
        if getattr(model, field):
            yield error(
                "CHK006",
                f"model.{field} applies to framework custom only",
                loaded.locate(("model", field), key=True),
            )


@rule
def gpu_settings(spec: MLPipeline, loaded: LoadedSpec) -> Iterator[Diagnostic]:
    places: list[tuple[JsonPath, Any]] = [(("model", "resources"), spec.model.resources)]
    places += [
        (("deploy", "environments", i, "resources"), e.resources)
        for i, e in enumerate(spec.deploy.environments)
    ]
    for path, resources in places:
        gpu = resources.gpu if resources is not None else None
        if gpu is not None and gpu.type is not None and gpu.count == 0:
            yield error(
                "CHK007",
                "a GPU type needs a count of at least 1",
                loaded.locate((*path, "gpu", "count")),
            )
        if gpu is not None and gpu.count > 0 and gpu.type is None:
            yield error(
                "CHK007",
                "a GPU count needs a type (e.g. nvidia-l4)",
                loaded.locate((*path, "gpu"), key=True),
            )


@rule
def metric_gates(spec: MLPipeline, loaded: LoadedSpec) -> Iterator[Diagnostic]:
    known = CLASSIFICATION_METRICS if spec.model.task == "classification" else REGRESSION_METRICS
    for index, gate in enumerate(spec.validation.metrics):
        where: JsonPath = ("validation", "metrics", index)
        if gate.name not in known:
            yield error(
                "CHK008",
                f"metric {gate.name!r} does not apply to {spec.model.task}",
                loaded.locate((*where, "name")),
                f"use one of: {', '.join(known)}",
            )
        if gate.min is None and gate.max is None and gate.against is None:
            yield error(
                "CHK008",
                f"gate {gate.name!r} sets neither min, max nor against",
                loaded.locate(where, key=True),
            )
        if gate.min is not None and gate.max is not None and gate.min > gate.max:
            yield error(
                "CHK008",
                f"gate {gate.name!r}: min {gate.min:g} is greater than max {gate.max:g}",
                loaded.locate((*where, "min")),
            )
    if spec.data.split.stratify and spec.model.task != "classification":
        yield error(
            "CHK008",
            "stratify applies to classification only",
            loaded.locate(("data", "split", "stratify")),
        )


@rule
def champion_gates(spec: MLPipeline, loaded: LoadedSpec) -> Iterator[Diagnostic]:
    """CHK028: a champion gate compares with a declared environment, by a drop that can bind."""
    names = [e.name for e in spec.deploy.environments]
    for index, gate in enumerate(spec.validation.metrics):
        where: JsonPath = ("validation", "metrics", index)
        if gate.against is not None and gate.against not in names:
            close = difflib.get_close_matches(gate.against, names, n=1)
            yield error(
                "CHK028",
                f"gate {gate.name!r} compares against environment {gate.against!r}, which "
                "deploy.environments does not declare",
                loaded.locate((*where, "against")),
                (f"did you mean {close[0]!r}? " if close else "")
                + f"declared environments: {', '.join(names)}",
            )
        if gate.max_drop is not None and gate.name in UNIT_INTERVAL_METRICS and gate.max_drop >= 1:
            yield error(
                "CHK028",
                f"gate {gate.name!r}: max_drop {gate.max_drop:g} can never fail, since "
                f"{gate.name} lies between 0 and 1",
                loaded.locate((*where, "max_drop")),
                "max_drop is in the metric's units, e.g. 0.01 for one point of roc_auc",
            )


@rule
def latency_order(spec: MLPipeline, loaded: LoadedSpec) -> Iterator[Diagnostic]:
    latency = spec.validation.latency
    if latency is None:
        return
    budgets = [(n, getattr(latency, n)) for n in ("p50_ms", "p95_ms", "p99_ms")]
    present = [(n, v) for n, v in budgets if v is not None]
    if not present:
        yield error(
            "CHK010",
            "latency sets no budget (p50_ms, p95_ms or p99_ms)",
            loaded.locate(("validation", "latency"), key=True),
        )
    for (low_name, low), (high_name, high) in itertools.pairwise(present):
        if low > high:
            yield error(
                "CHK010",
                f"{low_name} ({low:g}) is greater than {high_name} ({high:g})",
                loaded.locate(("validation", "latency", low_name)),
            )
