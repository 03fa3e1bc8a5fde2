"""Every field of `compiler.plan.Defaults` is settable from platform.yaml, with nothing to add here.

`Defaults` is the one declaration: a field's name is its key under `defaults:` (`ci` and the
actions under it nest), its type — a constrained type from compiler.model.types — is how
platform.yaml is validated, and its value is the built-in one. This module derives from it:

- the pydantic fields `platform.yaml` accepts (`settings_fields`, merged into the Platform model;
  strict, `extra="forbid"`, `null` only where the field's type allows None, a bare `str` as a
  single printable line of at most 256 characters);
- the merge rules, built-in -> platform: a dataclass or model whose fields all have defaults and a
  mapping merge key by key; everything else — a structure with a required field (`ci.checkout`:
  repository, sha and version belong together) included — is replaced whole;
- the layers `plan.defaults` and `specops explain SPEC '$.defaults.…'` read (made in
  compiler.platform.settings, which has the loaded platform).

A few fields also have an older, grouped spelling (`ALIASES`); writing both is PLT004.
"""

from __future__ import annotations

import dataclasses
import functools
import types
import typing
from collections.abc import Iterator
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, create_model

from compiler.diagnostics import JsonPath, Location
from compiler.model.spec import Strict
from compiler.model.types import ShortText
from compiler.plan import Defaults
from compiler.platform.merge import (
    ENVIRONMENT_RULES,
    MISSING,
    SPEC_RULES,
    MergeRule,
    RuleBook,
    describe,
    value_at,
)

ROOT = "defaults"  # the document's one key: paths read `$.defaults.kfp_base_image`
BUILTIN_LAYER = "specops built-in"
BUILTIN_LOCATION = Location("compiler/plan.py")
PLATFORM_LAYER = "platform defaults"
# Defaults field path -> its grouped spelling under platform.yaml `defaults:`.
ALIASES: dict[JsonPath, JsonPath] = {
    ("kfp_base_image",): ("images", "kfp_base"),
    ("serving_resources",): ("environment", "resources"),
    ("argocd_repo_url",): ("gitops", "repo_url"),
    ("argocd_target_revision",): ("gitops", "target_revision"),
    ("argocd_project",): ("gitops", "project"),
    ("kfp_host_secret",): ("kfp", "host_secret"),
}
_MAX_ITEMS = 100


# --- types -----------------------------------------------------------------------------------


def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls, include_extras=True)


def _arms(tp: Any) -> tuple[Any, ...]:
    """The members of a union (a non-union is its own one member)."""
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        return typing.get_args(tp)
    return (tp,)


def _bare(tp: Any) -> Any:
    """The type without Annotated metadata, and without None when that leaves one member."""
    if typing.get_origin(tp) is Annotated:
        return _bare(typing.get_args(tp)[0])
    arms = [a for a in _arms(tp) if a is not type(None)]
    return _bare(arms[0]) if len(arms) == 1 and len(_arms(tp)) > 1 else tp


def _is_structure(tp: Any) -> bool:
    return isinstance(tp, type) and (dataclasses.is_dataclass(tp) or issubclass(tp, BaseModel))


def _all_fields_default(tp: type) -> bool:
    if dataclasses.is_dataclass(tp):
        return all(
            f.default is not dataclasses.MISSING or f.default_factory is not dataclasses.MISSING
            for f in dataclasses.fields(tp)
        )
    assert issubclass(tp, BaseModel)
    return not any(info.is_required() for info in tp.model_fields.values())


def platform_type(tp: Any, where: str) -> Any:
    """The type platform.yaml is validated with for a Defaults field of type `tp`.

    Raises TypeError for a type it cannot map, so a new field no platform could set fails the
    import (and every test) rather than going unnoticed.
    """
    origin = typing.get_origin(tp)
    if origin is Annotated or origin is Literal or tp in (int, float, bool, type(None)):
        return tp
    if tp is str:  # no constrained type declared: at least one printable line
        return ShortText
    if origin in (typing.Union, types.UnionType):
        return typing.Union[tuple(platform_type(a, where) for a in typing.get_args(tp))]  # noqa: UP007
    args = typing.get_args(tp)
    if origin in (tuple, list) and args and (origin is list or args[1:] in ((), (Ellipsis,))):
        item = platform_type(args[0], where)
        return Annotated[list[item], Field(max_length=_MAX_ITEMS)]  # type: ignore[valid-type]
    if origin is dict and args:
        key, value = platform_type(args[0], where), platform_type(args[1], where)
        return Annotated[dict[key, value], Field(max_length=_MAX_ITEMS)]  # type: ignore[valid-type]
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        return settings_model(tp)
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        return tp
    raise TypeError(
        f"{where}: platform.yaml cannot set a value of type {tp!r}; give the field a type "
        "from compiler.model.types, a dataclass or a pydantic model"
    )


def settings_fields(cls: type) -> dict[str, Any]:
    """The pydantic field definitions that set the fields of dataclass `cls` from platform.yaml.

    A field with a default is optional (left out: the built-in value stays); one without is
    required, so a structure like a pinned action is written whole.
    """
    hints, fields = _hints(cls), {}
    for item in dataclasses.fields(cls):
        tp = platform_type(hints[item.name], f"{cls.__name__}.{item.name}")
        required = (
            item.default is dataclasses.MISSING and item.default_factory is dataclasses.MISSING
        )
        # default_factory keeps a "default: null" out of the schema: null is not "unset"
        fields[item.name] = (tp, Field() if required else Field(default_factory=_unset))
    return fields


def _unset() -> None:
    return None


@functools.cache
def settings_model(cls: type) -> type[BaseModel]:
    doc = f"Settings of compiler.plan.{cls.__name__}; left out, the built-in value stays."
    return create_model(cls.__name__, __base__=Strict, __doc__=doc, **settings_fields(cls))


def with_settings(base: type[BaseModel], name: str) -> type[BaseModel]:
    """Model `name`: `base` (the grouped platform defaults) plus one field per Defaults field."""
    fields = settings_fields(Defaults)
    clash = sorted(set(fields) & set(base.model_fields))
    if clash:
        raise TypeError(f"Defaults fields {clash} clash with platform.yaml defaults keys")
    return create_model(
        name, __base__=base, __module__=base.__module__, __doc__=base.__doc__, **fields
    )


# --- merge rules -----------------------------------------------------------------------------


def _deep_rules(tp: Any, path: str) -> Iterator[MergeRule]:
    bare = _bare(tp)
    if typing.get_origin(bare) is dict:
        yield MergeRule(path, "deep", why="the platform adds or overrides single keys")
        return
    if not _is_structure(bare) or not _all_fields_default(bare):
        return  # replaced whole
    yield MergeRule(path, "deep", why="each setting is chosen on its own")
    if isinstance(bare, type) and dataclasses.is_dataclass(bare):
        hints = _hints(bare)
        children = [(f.name, hints[f.name]) for f in dataclasses.fields(bare)]
    else:
        children = [(name, info.annotation) for name, info in bare.model_fields.items()]
    for name, child in children:
        yield from _deep_rules(child, f"{path}.{name}")


DEFAULTS_RULES: tuple[MergeRule, ...] = tuple(_deep_rules(Defaults, ROOT))
DEFAULTS_BOOK = RuleBook(DEFAULTS_RULES)


def rules_markdown() -> str:
    """The declared rules as a Markdown table (the README embeds exactly this)."""
    lines = ["| document | field | rule | why |", "|---|---|---|---|"]
    documents = (
        ("spec", SPEC_RULES),
        ("environment", ENVIRONMENT_RULES),
        ("defaults", DEFAULTS_RULES),
    )
    for document, rules in documents:
        for rule in rules:
            lines.append(f"| {document} | `{rule.path}` | {describe(rule)} | {rule.why} |")
    lines.append("| all | every other field | replace | the highest layer that sets it wins |")
    return "\n".join(lines) + "\n"


# --- values ----------------------------------------------------------------------------------


def to_data(value: Any) -> Any:
    """Plain data (what a YAML file holds) of a Defaults value."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_data(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json", by_alias=True)
    if isinstance(value, tuple | list):
        return [to_data(item) for item in value]
    if isinstance(value, dict):
        return {key: to_data(item) for key, item in value.items()}
    return value


def from_data(tp: Any, data: Any) -> Any:
    """A value of type `tp` from plain data already validated against `platform_type(tp)`."""
    bare = _bare(tp)
    if data is None:
        return None
    if isinstance(bare, type) and dataclasses.is_dataclass(bare):
        hints = _hints(typing.cast(type, bare))
        known = [f.name for f in dataclasses.fields(bare) if f.name in data]
        return bare(**{name: from_data(hints[name], data[name]) for name in known})
    if isinstance(bare, type) and issubclass(bare, BaseModel):
        return bare.model_validate(data)
    origin, args = typing.get_origin(bare), typing.get_args(bare)
    if origin in (tuple, list):
        items = [from_data(args[0], item) for item in data]
        return tuple(items) if origin is tuple else items
    if origin is dict:
        return {key: from_data(args[1], item) for key, item in data.items()}
    if origin in (typing.Union, types.UnionType) and isinstance(data, dict | list):
        shaped = [a for a in args if _is_structure(_bare(a)) or typing.get_origin(_bare(a))]
        return from_data(shaped[0], data) if shaped else data
    return data


def alias_clashes(data: Any) -> Iterator[tuple[JsonPath, JsonPath]]:
    """(field path, grouped path) under `defaults:` for each setting written both ways."""
    for path, alias in ALIASES.items():
        both = (value_at(data, (ROOT, *p)) is not MISSING for p in (path, alias))
        if all(both):
            yield (ROOT, *path), (ROOT, *alias)
