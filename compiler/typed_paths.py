"""Where a model declares fields of a given constrained type, as JSON path patterns.

The secret scan asks this which values the model already types as a digest (a git revision, a
sha256) or as a reference by name (a Secret, a DNS label): their shape is fixed by the model, so
they are neither high-entropy accidents nor passwords. Types are matched by the pattern of their
`StringConstraints`, which survives every `Annotated`, `Optional` and container around them.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Iterator, Mapping
from typing import Any

from pydantic import BaseModel, StringConstraints

from compiler.diagnostics import JsonPath

ANY = "*"  # a path item that stands for any list index or mapping key
_MAX_DEPTH = 12


def typed_paths(model: type[BaseModel], roles: Mapping[str, str]) -> dict[JsonPath, str]:
    """`{path pattern: role}` for every field whose string pattern is a key of `roles`."""
    return dict(_walk(model, (), roles, 0))


def role_at(patterns: Mapping[JsonPath, str], path: JsonPath) -> str | None:
    """The role of the first pattern that matches `path` item by item (`*` matches any)."""
    for pattern, role in patterns.items():
        if len(pattern) == len(path) and all(
            p in (ANY, q) for p, q in zip(pattern, path, strict=True)
        ):
            return role
    return None


def _walk(
    tp: Any, path: JsonPath, roles: Mapping[str, str], depth: int
) -> Iterator[tuple[JsonPath, str]]:
    if depth > _MAX_DEPTH:
        return
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        hints = typing.get_type_hints(tp, include_extras=True)
        for name, info in tp.model_fields.items():
            yield from _walk(
                hints.get(name, info.annotation), (*path, info.alias or name), roles, depth + 1
            )
        return
    origin = typing.get_origin(tp)
    if origin is typing.Annotated:
        role = _role(tp.__metadata__, roles)
        if role is not None:
            yield path, role
            return
        yield from _walk(tp.__origin__, path, roles, depth)
        return
    args = typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        for arg in args:
            yield from _walk(arg, path, roles, depth)
    elif origin in (list, tuple, set, frozenset) and args:
        yield from _walk(args[0], (*path, ANY), roles, depth + 1)
    elif origin is dict and len(args) == 2:
        yield from _walk(args[1], (*path, ANY), roles, depth + 1)


def _role(metadata: tuple[Any, ...], roles: Mapping[str, str]) -> str | None:
    for item in metadata:
        if isinstance(item, StringConstraints) and item.pattern in roles:
            return roles[str(item.pattern)]
    return None
