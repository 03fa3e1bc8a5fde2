"""Stage 4: semantic rules over a valid model. Each rule is a small function with a stable code.

Rules see the typed spec (what is true) and the loaded data (where it is written).
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from compiler.diagnostics import Diagnostic, JsonPath, error, warning
from compiler.loader import LoadedSpec
from compiler.model.spec import (
    BUILTIN_FRAMEWORKS,
    CLASSIFICATION_METRICS,
    REGRESSION_METRICS,
    MLPipeline,
)

Rule = Callable[[MLPipeline, LoadedSpec], Iterable[Diagnostic]]
RULES: list[Rule] = []
_NUMERIC = {"int", "float"}


def rule(func: Rule) -> Rule:
    RULES.append(func)
    return func


def run_checks(spec: MLPipeline, loaded: LoadedSpec) -> list[Diagnostic]:
    """Every rule's findings for one spec."""
    return [d for check in RULES for d in check(spec, loaded)]


def _duplicates(names: list[str]) -> Iterator[tuple[int, str]]:
    seen: set[str] = set()
    for index, name in enumerate(names):
        if name in seen:
            yield index, name
        seen.add(name)


@rule
def target_in_schema(spec: MLPipeline, loaded: LoadedSpec) -> Iterator[Diagnostic]:
    columns = {c.name: c for c in spec.data.data_schema.columns}
    if spec.data.target not in columns:
        yield error(
            "CHK001",
            f"target column {spec.data.target!r} is not in data.schema.columns",
            loaded.locate(("data", "target")),
            f"declared columns: {', '.join(columns)}",
        )
    elif columns[spec.data.target].nullable:
        index = list(columns).index(spec.data.target)
        yield error(
            "CHK001",
            "the target column may not be nullable",
            loaded.locate(("data", "schema", "columns", index, "nullable")),
        )


@rule
def unique_names(spec: MLPipeline, loaded: LoadedSpec) -> Iterator[Diagnostic]:
    lists: list[tuple[JsonPath, list[str]]] = [
        (("data", "sources"), [s.name for s in spec.data.sources]),
        (("data", "schema", "columns"), [c.name for c in spec.data.data_schema.columns]),
        (("deploy", "environments"), [e.name for e in spec.deploy.environments]),
        (("validation", "metrics"), [m.name for m in spec.validation.metrics]),
        (("model", "secrets"), [s.env for s in spec.model.secrets]),
    ]
    for path, names in lists:
        for index, name in _duplicates(names):
            field = "env" if path[-1] == "secrets" else "name"
            yield error(
                "CHK002",
                f"{name!r} appears twice in {'.'.join(map(str, path))}",
                loaded.locate((*path, index, field)),
                "names in a list must be unique",
            )


@rule
def column_constraints(spec: MLPipeline, loaded: LoadedSpec) -> Iterator[Diagnostic]:
    for index, column in enumerate(spec.data.data_schema.columns):
        where: JsonPath = ("data", "schema", "columns", index)
        bounded = column.min is not None or column.max is not None
        if bounded and column.type not in _NUMERIC:
            yield error(
                "CHK003",
                f"min/max apply to int and float columns, not {column.type}",
                loaded.locate((*where, "min" if column.min is not None else "max")),
            )
        if column.min is not None and column.max is not None and column.min > column.max:
            yield error(
                "CHK003",
                f"min {column.min} is greater than max {column.max}",
                loaded.locate((*where, "min")),
            )
        for position, value in enumerate(column.allowed or []):
            if not _fits_type(value, column.type):
                yield error(
                    "CHK003",
                    f"allowed value {value!r} is not of column type {column.type}",
                    loaded.locate((*where, "allowed", position)),
                )


def _fits_type(value: Any, column_type: str) -> bool:
    if column_type == "int":
        return isinstance(value, int) and not isinstance(value, bool)
    if column_type == "float":
        return isinstance(value, int | float) and not isinstance(value, bool)
    if column_type == "bool":
        return isinstance(value, bool)
    return isinstance(value, str)


@rule
def data_versions_pinned(spec: MLPipeline, loaded: LoadedSpec) -> Iterator[Diagnostic]:
    for index, source in enumerate(spec.data.sources):
        if source.version is None and source.sha256 is None:
            yield error(
                "CHK004",
                f"data source {source.name!r} pins neither version nor sha256",
                loaded.locate(("data", "sources", index), key=True),
                "add version: <label> or sha256: sha256:<hex> so training is reproducible",
            )


@rule
def local_data_exists(spec: MLPipeline, loaded: LoadedSpec) -> Iterator[Diagnostic]:
    base = loaded.source.directory
    for index, source in enumerate(spec.data.sources):
        if "://" not in source.uri and not (base / source.uri).is_file():
            yield error(
                "CHK005",
                f"data file {source.uri!r} not found next to the spec",
                loaded.locate(("data", "sources", index, "uri")),
                f"relative paths are read from {base.as_posix() or '.'}/",
            )
        elif source.uri.startswith("file://") and not Path(source.uri[7:]).is_absolute():
            yield error(
                "CHK005",
                "file:// URIs must be absolute",
                loaded.locate(("data", "sources", index, "uri")),
            )


@rule
def framework_fields(spec: MLPipeline, loaded: LoadedSpec) -> Iterator[Diagnostic]:
    model = spec.model
    if model.framework == "custom":
        for field in ("image", "command"):
            if getattr(model, field) is None:
                yield error(
                    "CHK006",
                    f"framework custom needs model.{field}",
                    loaded.locate(("model", "framework")),
                )
        for field in ("estimator",):
            if getattr(model, field) is not None:
                yield error(
                    "CHK006",
                    "model.estimator applies to built-in frameworks only",
                    loaded.locate(("model", field), key=True),
                    "remove it or pick sklearn, xgboost or lightgbm",
                )
        if spec.deploy.serving is None:
            yield error(
                "CHK006",
                "framework custom needs deploy.serving (the serving image)",
                loaded.locate(("deploy",), key=True),
            )
        return
    if model.estimator is None:
        yield error(
            "CHK006",
            f"framework {model.framework} needs model.estimator",
            loaded.locate(("model", "framework")),
        )
    elif not model.estimator.startswith(f"{model.framework}."):
        yield error(
            "CHK006",
            f"estimator {model.estimator!r} is not from {model.framework}",
            loaded.locate(("model", "estimator")),
            f"use a class from the {model.framework} package, e.g. {model.framework}.…",
        )
    for field in ("image", "command"):
        if getattr(model, field) is not None:
            yield error(
                "CHK006",
                f"model.{field} applies to framework custom only",
                loaded.locate(("model", field), key=True),
            )
    if model.args:
        yield error(
            "CHK006",
            "model.args applies to framework custom only",
            loaded.locate(("model", "args"), key=True),
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
        if gate.min is None and gate.max is None:
            yield error(
                "CHK008",
                f"gate {gate.name!r} sets neither min nor max",
                loaded.locate(where, key=True),
            )
        if gate.min is not None and gate.max is not None and gate.min > gate.max:
            yield error(
                "CHK008",
                f"gate {gate.name!r}: min is greater than max",
                loaded.locate((*where, "min")),
            )
    if spec.data.split.stratify and spec.model.task != "classification":
        yield error(
            "CHK008",
            "stratify applies to classification only",
            loaded.locate(("data", "split", "stratify")),
        )


@rule
def data_checks(spec: MLPipeline, loaded: LoadedSpec) -> Iterator[Diagnostic]:
    columns = {c.name for c in spec.data.data_schema.columns}
    for index, check in enumerate(spec.validation.data_checks):
        where: JsonPath = ("validation", "data_checks", index)
        if check.kind == "row_count" and check.min is None and check.max is None:
            yield error("CHK009", "row_count needs min or max", loaded.locate(where, key=True))
        if check.kind != "row_count" and check.column is None:
            yield error("CHK009", f"{check.kind} needs a column", loaded.locate(where, key=True))
        elif check.column is not None and check.column not in columns:
            yield error(
                "CHK009",
                f"column {check.column!r} is not in data.schema.columns",
                loaded.locate((*where, "column")),
            )
        if check.kind == "null_fraction" and (check.max is None or not 0 <= check.max <= 1):
            yield error(
                "CHK009", "null_fraction needs max between 0 and 1", loaded.locate(where, key=True)
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


@rule
def environments(spec: MLPipeline, loaded: LoadedSpec) -> Iterator[Diagnostic]:
    places: set[tuple[str, str]] = set()
    for index, env in enumerate(spec.deploy.environments):
        where: JsonPath = ("deploy", "environments", index)
        if env.replicas.min > env.replicas.max:
            yield error(
                "CHK011",
                f"replicas min ({env.replicas.min}) is greater than max ({env.replicas.max})",
                loaded.locate((*where, "replicas", "min")),
            )
        if env.canary is not None and index == 0:
            yield error(
                "CHK012",
                f"environment {env.name!r} has a canary but no earlier environment to compare with",
                loaded.locate((*where, "canary"), key=True),
                "a canary splits traffic with the version already promoted; list an "
                "earlier environment first",
            )
        if (env.cluster, env.namespace) in places:
            yield error(
                "CHK013",
                f"namespace {env.namespace!r} on cluster {env.cluster!r} is "
                "used by two environments",
                loaded.locate((*where, "namespace")),
            )
        places.add((env.cluster, env.namespace))


@rule
def monitoring(spec: MLPipeline, loaded: LoadedSpec) -> Iterator[Diagnostic]:
    alerts = spec.monitoring.alerts
    if alerts is not None and alerts.drift and spec.monitoring.drift is None:
        yield error(
            "CHK014",
            "alerts.drift needs monitoring.drift (nothing measures drift)",
            loaded.locate(("monitoring", "alerts", "drift")),
            "add monitoring.drift or set alerts.drift: false",
        )


# A value that looks like a credential must never be committed in a spec.
_SECRET_VALUE = re.compile(
    r"AKIA[0-9A-Z]{16}|gh[pousr]_[A-Za-z0-9]{30,}|glpat-[A-Za-z0-9_-]{20}|xox[abprs]-[A-Za-z0-9-]+"
    r"|-----BEGIN [A-Z ]*PRIVATE KEY|eyJ[A-Za-z0-9_-]{10,}\.eyJ|sk-[A-Za-z0-9]{32,}"
)
_SECRET_KEY = re.compile(r"(?i)(password|passwd|secret|token|api_?key|credential)")


@rule
def no_inline_secrets(spec: MLPipeline, loaded: LoadedSpec) -> Iterator[Diagnostic]:
    for path, value in _strings(loaded.data, ()):
        key = str(path[-1]) if path else ""
        looks_secret = _SECRET_VALUE.search(value) is not None
        if looks_secret or (_SECRET_KEY.search(key) and path[:2] == ("model", "params")):
            yield error(
                "SEC001",
                "this looks like a credential written into the spec",
                loaded.locate(path),
                "store it in a Kubernetes Secret and reference it by name under model.secrets",
            )


def _strings(node: Any, path: JsonPath) -> Iterator[tuple[JsonPath, str]]:
    if isinstance(node, str):
        yield path, node
    elif isinstance(node, dict):
        for key, value in node.items():
            yield from _strings(value, (*path, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _strings(value, (*path, index))


@rule
def builtin_serving(spec: MLPipeline, loaded: LoadedSpec) -> Iterator[Diagnostic]:
    if spec.model.framework in BUILTIN_FRAMEWORKS and spec.deploy.serving is not None:
        yield warning(
            "CHK015",
            f"deploy.serving overrides the KServe {spec.model.framework} "
            "runtime with a custom image",
            loaded.locate(("deploy", "serving"), key=True),
        )
