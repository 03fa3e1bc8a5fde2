"""Constructor parameters as catalog data, from each library's own declarations.

scikit-learn declares what each parameter accepts in `_parameter_constraints`; the boosters'
scikit-learn API declares it only as type annotations on `__init__`. Both become the same small
vocabulary (see compiler/catalog/__init__.py). Imported by the generator only.
"""

from __future__ import annotations

import collections.abc
import inspect
import math
import numbers
import re
import types
import typing
from typing import Any

Constraint = dict[str, Any]
_TYPE_NAMES: dict[Any, str] = {
    bool: "bool",
    numbers.Integral: "int",
    int: "int",
    numbers.Real: "real",
    float: "real",
    str: "str",
    dict: "dict",
    list: "list",
    tuple: "list",
    type(None): "none",
}
_SEQUENCES = (list, tuple, collections.abc.Sequence, collections.abc.Iterable)
_MAPPINGS = (dict, collections.abc.Mapping)
_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+")


def value(item: Any) -> Any:
    """A default or choice as JSON data; what JSON cannot hold becomes a tagged object."""
    if item is None or isinstance(item, bool | str):
        return item
    if isinstance(item, numbers.Integral):
        return int(item)
    if isinstance(item, numbers.Real):
        number = float(item)
        return number if math.isfinite(number) else {"float": repr(number)}
    if isinstance(item, list | tuple):
        return [value(v) for v in item]
    if isinstance(item, type) or callable(item):
        return {"object": f"{item.__module__}.{item.__qualname__}"}
    return {"repr": _ADDRESS.sub("", repr(item))}


def _type_name(tp: Any) -> str:
    if tp in _TYPE_NAMES:
        return _TYPE_NAMES[tp]
    return f"{tp.__module__}.{tp.__qualname__}"


# --- scikit-learn ----------------------------------------------------------------------------


def sklearn_params(cls: type) -> dict[str, Any]:
    """Every constructor parameter with its default and what it accepts."""
    declared = getattr(cls, "_parameter_constraints", {})
    signature = inspect.signature(cls)
    result = {}
    for name in cls._get_param_names():  # type: ignore[attr-defined]
        accepts = [_sklearn_constraint(c) for c in declared.get(name, ["no_validation"])]
        result[name] = {
            "accepts": _sorted(accepts),
            "default": value(signature.parameters[name].default),
        }
    return result


def _sklearn_constraint(declaration: Any) -> Constraint:
    from sklearn.utils import _param_validation as pv

    if isinstance(declaration, pv.Hidden):
        return {**_sklearn_constraint(declaration.constraint), "hidden": True}
    if isinstance(declaration, pv.Interval):
        return {
            "type": {pv.Integral: "int", pv.RealNotInt: "real_not_int"}.get(
                declaration.type, "real"
            ),
            "min": value(declaration.left),
            "max": value(declaration.right),
            "closed": declaration.closed,
        }
    if isinstance(declaration, pv.StrOptions | pv.Options):
        kind = "str" if isinstance(declaration, pv.StrOptions) else _type_name(declaration.type)
        choices = _sorted([value(o) for o in declaration.options])
        found: Constraint = {"type": kind, "choices": choices}
        if declaration.deprecated:
            found["deprecated"] = sorted(declaration.deprecated)
        return found
    if isinstance(declaration, pv.HasMethods):
        return {"type": "object", "methods": sorted(declaration.methods)}
    return {"type": _declared_name(declaration)}


def _declared_name(declaration: Any) -> str:
    if declaration is None:
        return "none"
    if declaration is callable:
        return "callable"
    if isinstance(declaration, str):  # "array-like", "random_state", "boolean", "verbose", ...
        return {"boolean": "bool", "no_validation": "any"}.get(declaration, declaration)
    if isinstance(declaration, type):
        return _type_name(declaration)
    return type(declaration).__name__


def _sorted(items: list[Any]) -> list[Any]:
    import json

    unique = {json.dumps(i, sort_keys=True): i for i in items}
    return [unique[k] for k in sorted(unique)]


# --- xgboost and lightgbm --------------------------------------------------------------------


def booster_params(cls: type, instance: Any) -> dict[str, Any]:
    """Every parameter `get_params` reports, its default, and the types its annotation names."""
    annotations = _annotations(cls)
    result = {}
    for name, default in sorted(instance.get_params(deep=False).items()):
        hint = annotations.get(name, Any)
        result[name] = {"accepts": _sorted(_annotation_types(hint)), "default": value(default)}
    return result


def _annotations(cls: type) -> dict[str, Any]:
    """Parameter annotations of `__init__` along the MRO, the most derived class first."""
    found: dict[str, Any] = {}
    for klass in reversed(cls.__mro__):
        init = klass.__dict__.get("__init__")
        if init is None:
            continue
        try:
            hints = typing.get_type_hints(init)
        except (NameError, TypeError):
            hints = {p.name: p.annotation for p in inspect.signature(init).parameters.values()}
        found.update(hints)
    return found


def _annotation_types(hint: Any) -> list[Constraint]:
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        return [c for arm in typing.get_args(hint) for c in _annotation_types(arm)]
    if hint is Any or hint is inspect.Parameter.empty:
        return [{"type": "any"}]
    if isinstance(hint, str):  # an annotation the library does not let us resolve
        return [{"type": "annotation", "text": hint}]
    if origin is typing.Literal:
        return [{"type": "str", "choices": _sorted([value(a) for a in typing.get_args(hint)])}]
    if hint in _SEQUENCES or origin in _SEQUENCES:
        return [{"type": "list"}]
    if hint in _MAPPINGS or origin in _MAPPINGS:
        return [{"type": "dict"}]
    if hint is collections.abc.Callable or origin is collections.abc.Callable:
        return [{"type": "callable"}]
    if isinstance(hint, type):
        return [{"type": _type_name(hint)}]
    return [{"type": "annotation", "text": _ADDRESS.sub("", repr(hint))}]
