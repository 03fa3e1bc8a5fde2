"""CHK020: every `model.params` value is one the estimator's own declarations accept.

The catalog records what each constructor parameter accepts (see compiler/catalog/__init__.py:
scikit-learn's `_parameter_constraints`, the boosters' annotations). A value is accepted when it
satisfies one of them, judged the way scikit-learn's `_validate_params` judges it, except where
this is stricter on purpose: a YAML `true` is not an int here (Python says bool is an int, a
spec author never means it), and declarations a spec cannot write (a callable, a class, an
ndarray) accept nothing. Stricter is safe: a value accepted here is accepted by the library.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from compiler.diagnostics import Diagnostic, error
from compiler.loader import LoadedSpec

Accept = Mapping[str, Any]
_UINT32_MAX = 2**32 - 1  # scikit-learn's random_state seeds
_BOUND = {"left": ("[", ")"), "right": ("(", "]"), "both": ("[", "]"), "neither": ("(", ")")}


def param_values(
    path: str,
    declared: Mapping[str, Sequence[Accept]],
    params: Mapping[str, Any],
    loaded: LoadedSpec,
) -> Iterator[Diagnostic]:
    """CHK020 for each param whose value none of its declarations accepts (unknown names are
    CHK006's)."""
    for name, value in params.items():
        accepts = declared.get(name)
        if accepts is None or any(satisfies(a, value) for a in accepts):
            continue
        yield error(
            "CHK020",
            f"{name}: {json.dumps(value)} is not a value {path} accepts",
            loaded.locate(("model", "params", name)),
            f"{name} accepts {describe(accepts)}",
        )


def satisfies(accept: Accept, value: Any) -> bool:
    """Whether one recorded declaration accepts a spec value."""
    kind = str(accept["type"])
    if not _is_type(kind, value):
        return False
    if "choices" in accept:
        options = [*accept["choices"], *accept.get("deprecated", [])]
        return any(_same(value, _decode(option)) for option in options)
    if "closed" in accept:
        return _in_interval(accept, float(value))
    return True


def _is_type(kind: str, value: Any) -> bool:
    number = isinstance(value, int | float) and not isinstance(value, bool)
    checks = {
        "bool": isinstance(value, bool),
        "int": number and isinstance(value, int),
        "real": number,
        "real_not_int": isinstance(value, float),
        "str": isinstance(value, str),
        "none": value is None,
        "list": isinstance(value, list),
        "array-like": isinstance(value, list),
        "dict": isinstance(value, dict),
        "random_state": value is None
        or (number and isinstance(value, int) and 0 <= value <= _UINT32_MAX),
        "verbose": isinstance(value, bool) or (number and isinstance(value, int) and value >= 0),
        "cv_object": value is None or (number and isinstance(value, int) and value >= 2),
        "any": True,
    }
    return checks.get(kind, False)  # a callable, a class, an ndarray: nothing YAML can write


def _same(value: Any, option: Any) -> bool:
    if isinstance(value, bool) or isinstance(option, bool):
        return value is option
    if isinstance(value, float) and isinstance(option, float) and math.isnan(option):
        return math.isnan(value)
    return bool(value == option)


def _decode(option: Any) -> Any:
    """A catalog VALUE back to Python: {"float": "inf"} -> inf; tagged objects stay tagged."""
    if isinstance(option, dict) and set(option) == {"float"}:
        return float(option["float"])
    return option


def _in_interval(accept: Accept, number: float) -> bool:
    if math.isnan(number):
        return False  # scikit-learn's Interval refuses NaN
    low, high, closed = accept["min"], accept["max"], accept["closed"]
    if low is not None:
        low = float(_decode(low))
        if number < low or (number == low and closed in ("right", "neither")):
            return False
    if high is not None:
        high = float(_decode(high))
        if number > high or (number == high and closed in ("left", "neither")):
            return False
    return True


def describe(accepts: Sequence[Accept]) -> str:
    """What a parameter accepts, in words: `an int in [1, inf) or null`."""
    shown = [_phrase(a) for a in accepts if not a.get("hidden")]
    phrases = list(dict.fromkeys(p for p in shown if p))
    if not phrases:
        return "no value a spec can write (its declared types are Python objects)"
    return " or ".join(phrases)


_PHRASES = {
    "bool": "true or false",
    "int": "an int",
    "real": "a number",
    "real_not_int": "a float (not an int)",
    "str": "a string",
    "none": "null",
    "list": "a list",
    "array-like": "a list",
    "dict": "a mapping",
    "random_state": f"an int in [0, {_UINT32_MAX}] or null",
    "verbose": "an int >= 0 or a bool",
    "cv_object": "an int >= 2 or null",
    "any": "any value",
}


def _phrase(accept: Accept) -> str:
    kind = str(accept["type"])
    base = _PHRASES.get(kind, "")
    if not base:
        return ""
    if "choices" in accept:
        options = ", ".join(json.dumps(_decode(c)) for c in accept["choices"])
        return f"one of {options}"
    if "closed" in accept:
        left, right = _BOUND[accept["closed"]]
        low = "-inf" if accept["min"] is None else _number(accept["min"])
        high = "inf" if accept["max"] is None else _number(accept["max"])
        return f"{base} in {left}{low}, {high}{right}"
    return base


def _number(bound: Any) -> str:
    decoded = _decode(bound)
    return str(decoded) if not isinstance(decoded, float) else f"{decoded:g}"
