"""Rules about data: schema, sources, pinning and data checks."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from compiler.check.rules import duplicates, rule
from compiler.diagnostics import Diagnostic, JsonPath, error
from compiler.loader import LoadedSpec
from compiler.model.spec import MLPipeline

_NUMERIC = {"int", "float"}


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
        for index, name in duplicates(names):
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
