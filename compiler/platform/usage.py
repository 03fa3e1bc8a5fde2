"""Which spec fields templates read, found statically from the Jinja AST.

Every `spec.…`, `plan.…` and `env.…` chain is followed through the model and plan types, so a read
of a field that does not exist is found even in a branch the example specs never take (the
dynamic half, recording lookups while rendering, is compiler.platform.recording). Paths use the
spec's YAML keys; `[]` stands for any list item, `{}` any key.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from jinja2 import nodes
from pydantic import BaseModel

from compiler.diagnostics import JsonPath
from compiler.model.registry import RegistryPlan
from compiler.model.spec import MLPipeline
from compiler.plan import Plan, Provenance, ResolvedEnvironment

ENV_ITEM: JsonPath = ("deploy", "environments", "[]")
# ResolvedEnvironment fields -> the spec fields they come from (the first is the field itself).
ENV_FIELDS: dict[str, tuple[JsonPath, ...]] = {
    "name": ((*ENV_ITEM, "name"),),
    "namespace": ((*ENV_ITEM, "namespace"),),
    "cluster": ((*ENV_ITEM, "cluster"),),
    "model_version": ((*ENV_ITEM, "model_version"),),
    "replicas": ((*ENV_ITEM, "replicas"),),
    "autoscaling": ((*ENV_ITEM, "autoscaling"),),
    "resources": ((*ENV_ITEM, "resources"),),
    "canary_percent": ((*ENV_ITEM, "canary", "traffic_percent"),),
    "approval_required": ((*ENV_ITEM, "approval"),),
    "serve": ((*ENV_ITEM, "serve"),),
    "batch": ((*ENV_ITEM, "batch"),),
    "storage_uri": ((*ENV_ITEM, "model_version"), ("deploy", "model_uri")),
}
PLAN_FIELDS: dict[str, tuple[JsonPath, ...]] = {
    "spec": ((),),
    "environments": (("deploy", "environments"),),
    "name": (("metadata", "name"),),
    "identifier": (("metadata", "name"),),
    "registry": (("registry",),),  # RegistryPlan: spec.registry with the platform's defaults
}
# RegistryPlan mirrors spec.registry field by field (each with the platform's default filled in).
REGISTRY_FIELDS: dict[str, tuple[JsonPath, ...]] = {
    **{name: (("registry", name),) for name in ("kind", "tracking_uri", "model_name", "token")},
    "ci_token_secret": (("registry", "ci_token_secret"),),
    "is_database": (("registry", "tracking_uri"),),
}
NOT_FOR_TEMPLATES = frozenset({("apiVersion",), ("kind",)})


class _Unknown:
    """A value whose type the analysis does not follow (loop variables, filter results, …)."""


UNKNOWN = _Unknown()


@dataclass(frozen=True, slots=True)
class Sym:
    tp: Any
    path: JsonPath | None  # the spec field it is (None: not a spec field)
    label: str  # how to name it in a message
    also: tuple[JsonPath, ...] = ()  # further spec fields reading it reads


UNKNOWN_SYM = Sym(UNKNOWN, None, "")
ROOTS = {
    "spec": Sym(MLPipeline, (), "spec"),
    "plan": Sym(Plan, None, "plan"),
    "env": Sym(ResolvedEnvironment, ENV_ITEM, "env"),
    "provenance": Sym(Provenance, None, "provenance"),
}


@dataclass(frozen=True, slots=True)
class Missing:
    line: int
    read: str  # e.g. spec.model.imag
    owner: str  # the type that lacks it
    known: tuple[str, ...]  # what it has


@dataclass
class Reads:
    touched: set[JsonPath] = field(default_factory=set)
    whole: set[JsonPath] = field(default_factory=set)  # consumed with everything below them
    missing: list[Missing] = field(default_factory=list)

    def update(self, other: Reads) -> None:
        self.touched |= {generic(p) for p in other.touched}
        self.whole |= {generic(p) for p in other.whole}

    def reads(self, path: JsonPath) -> bool:
        n = len(path)
        return any(t[:n] == path for t in self.touched) or any(
            path[: len(w)] == w for w in self.whole
        )


def generic(path: JsonPath) -> JsonPath:
    return tuple("[]" if isinstance(p, int) else p for p in path)


# --- types -----------------------------------------------------------------------------------


def _unwrap(tp: Any) -> Any:
    origin = typing.get_origin(tp)
    if origin is typing.Annotated:
        return _unwrap(typing.get_args(tp)[0])
    if origin in (typing.Union, types.UnionType):
        options = [a for a in typing.get_args(tp) if a is not type(None)]
        return _unwrap(options[0]) if len(options) == 1 else UNKNOWN
    if origin is typing.Literal:
        return type(typing.get_args(tp)[0])
    return tp


def _child(path: JsonPath | None, part: str | int) -> JsonPath | None:
    return None if path is None else (*path, part)


def member(sym: Sym, name: str) -> Sym | None:
    """The type of `sym.name` as Jinja resolves it; None when no such attribute exists."""
    tp = _unwrap(sym.tp)
    label = f"{sym.label}.{name}"
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        info = tp.model_fields.get(name)
        if info is not None:
            return Sym(info.annotation, _child(sym.path, info.alias or name), label)
    elif isinstance(tp, type) and dataclasses.is_dataclass(tp):
        return _dataclass_member(tp, sym, name, label)
    elif typing.get_origin(tp) is dict and not hasattr(dict, name):
        return Sym(typing.get_args(tp)[1], _child(sym.path, "{}"), label)
    if tp is UNKNOWN or hasattr(typing.get_origin(tp) or tp, name):
        return Sym(UNKNOWN, None, label)
    return None


def _dataclass_member(tp: type, sym: Sym, name: str, label: str) -> Sym | None:
    try:
        hints = typing.get_type_hints(tp)
    except (NameError, TypeError):
        return Sym(UNKNOWN, None, label)
    mapped = {ResolvedEnvironment: ENV_FIELDS, Plan: PLAN_FIELDS, RegistryPlan: REGISTRY_FIELDS}
    paths = mapped.get(tp, {}).get(name, ())
    attr = getattr(tp, name, None)
    if name in hints:
        annotation = hints[name]
    elif isinstance(attr, property) and attr.fget is not None:
        annotation = typing.get_type_hints(attr.fget).get("return", UNKNOWN)
    elif attr is not None:
        return Sym(UNKNOWN, None, label)
    else:
        return None
    return Sym(annotation, paths[0] if paths else None, label, paths[1:])


def _names(tp: Any) -> tuple[str, ...]:
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        return tuple(tp.model_fields)
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        props = [n for n in dir(tp) if isinstance(getattr(tp, n, None), property)]
        return (*(f.name for f in dataclasses.fields(tp)), *props)
    return ()


def item_of(sym: Sym) -> Sym:
    tp = _unwrap(sym.tp)
    origin = typing.get_origin(tp)
    if origin in (list, tuple) and typing.get_args(tp):
        return Sym(typing.get_args(tp)[0], _child(sym.path, "[]"), f"{sym.label}[]")
    return UNKNOWN_SYM


def _index(sym: Sym, key: Any) -> Sym | None:
    if isinstance(key, str):
        return member(sym, key)
    return item_of(sym) if isinstance(key, int) else UNKNOWN_SYM


# --- static analysis -------------------------------------------------------------------------

_KEEPS_TYPE = frozenset({"list", "sort", "unique", "reverse", "selectattr", "rejectattr"})
_GIVES_ITEM = frozenset({"first", "last", "random"})


class StaticAnalyser:
    """Walks one template's AST, following names bound by set and for."""

    def __init__(self) -> None:
        self.reads = Reads()

    def run(self, template: nodes.Template) -> Reads:
        self.statements(template.body, dict(ROOTS))
        return self.reads

    def statements(self, body: list[nodes.Node], scope: dict[str, Sym]) -> None:
        for node in body:
            self.statement(node, scope)

    def statement(self, node: nodes.Node, scope: dict[str, Sym]) -> None:
        if isinstance(node, nodes.Assign):
            self.bind(node.target, self.expr(node.node, scope), scope)
        elif isinstance(node, nodes.For):
            inner = {**scope, "loop": UNKNOWN_SYM}
            self.bind(node.target, item_of(self.expr(node.iter, scope)), inner)
            if node.test is not None:
                self.expr(node.test, inner)
            self.statements(node.body, inner)
            self.statements(node.else_, scope)
        elif isinstance(node, nodes.Macro | nodes.CallBlock):
            inner = {**scope, **{a.name: UNKNOWN_SYM for a in getattr(node, "args", [])}}
            self.statements(node.body, inner)
        elif isinstance(node, nodes.Expr):
            self.expr(node, scope)
        else:
            for child in node.iter_child_nodes():
                self.statement(child, scope)

    def bind(self, target: nodes.Node, value: Sym, scope: dict[str, Sym]) -> None:
        if isinstance(target, nodes.Name):
            scope[target.name] = value
        else:
            for name in target.find_all(nodes.Name):
                scope[name.name] = UNKNOWN_SYM

    def expr(self, node: nodes.Node, scope: dict[str, Sym]) -> Sym:
        if isinstance(node, nodes.Name):
            return scope.get(node.name, UNKNOWN_SYM)
        if isinstance(node, nodes.Getattr):
            return self.look(self.expr(node.node, scope), node.attr, node.lineno)
        if isinstance(node, nodes.Getitem):
            base = self.expr(node.node, scope)
            if isinstance(node.arg, nodes.Const):
                return self.look(base, node.arg.value, node.lineno)
            self.consume(self.expr(node.arg, scope))
            return item_of(base)
        if isinstance(node, nodes.Filter):
            return self.filter(node, scope)
        if isinstance(node, nodes.Call):
            self.expr(node.node, scope)  # a method such as params.items(): its owner is touched
            for child in (*node.args, *(k.value for k in node.kwargs)):
                self.consume(self.expr(child, scope))
            return UNKNOWN_SYM
        consuming = isinstance(node, nodes.Dict | nodes.List | nodes.Tuple | nodes.Pair)
        for part in node.iter_child_nodes():
            value = self.expr(part, scope)
            if consuming:
                self.consume(value)
        return UNKNOWN_SYM

    def filter(self, node: nodes.Filter, scope: dict[str, Sym]) -> Sym:
        base = self.expr(node.node, scope) if node.node is not None else UNKNOWN_SYM
        for child in (*node.args, *(k.value for k in node.kwargs)):
            self.consume(self.expr(child, scope))
        attribute = next((k.value for k in node.kwargs if k.key == "attribute"), None)
        if isinstance(attribute, nodes.Const) and isinstance(attribute.value, str):
            self.look(item_of(base), attribute.value, node.lineno)
        else:
            self.consume(base)
        if node.name in _KEEPS_TYPE:
            return base
        return item_of(base) if node.name in _GIVES_ITEM else UNKNOWN_SYM

    def look(self, base: Sym, name: Any, line: int) -> Sym:
        if base.tp is UNKNOWN:
            return UNKNOWN_SYM
        found = _index(base, name)
        if found is None:
            owner = _unwrap(base.tp)
            self.reads.missing.append(
                Missing(line, f"{base.label}.{name}", getattr(owner, "__name__", ""), _names(owner))
            )
            return UNKNOWN_SYM
        for path in (found.path, *found.also):
            if path is not None:
                self.reads.touched.add(path)
        return found

    def consume(self, sym: Sym) -> None:
        if sym.path is not None:
            self.reads.whole.add(sym.path)


# --- the spec's fields -----------------------------------------------------------------------


def spec_fields(model: type[BaseModel] = MLPipeline, prefix: JsonPath = ()) -> Iterator[JsonPath]:
    """Every field path of the spec model, parents before children."""
    for name, info in model.model_fields.items():
        path = (*prefix, info.alias or name)
        if path in NOT_FOR_TEMPLATES:
            continue
        yield path
        inner, item = _model_inside(info.annotation)
        if inner is not None:
            yield from spec_fields(inner, (*path, "[]") if item else path)


def _model_inside(annotation: Any) -> tuple[type[BaseModel] | None, bool]:
    tp = _unwrap(annotation)
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        return tp, False
    if typing.get_origin(tp) is list:
        inner = _unwrap(typing.get_args(tp)[0])
        if isinstance(inner, type) and issubclass(inner, BaseModel):
            return inner, True
    return None, False
