"""Turn loaded data into an `MLPipeline`, mapping every pydantic error back to its YAML position."""

from __future__ import annotations

import difflib
import types
import typing
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from compiler.credentials import safe_repr
from compiler.diagnostics import Diagnostic, JsonPath, error
from compiler.loader import LoadedSpec
from compiler.model.spec import MLPipeline
from compiler.model.types import DNS_LABEL

_PATTERN_MEANING = {
    DNS_LABEL: "a DNS-1123 label: lowercase letters, digits and '-', starting and ending with "
    "a letter or digit, at most 63 characters",
    r"^[A-Za-z_][A-Za-z0-9_]{0,63}$": "an identifier: letters, digits and '_', not starting "
    "with a digit",
    r"^[A-Z_][A-Z0-9_]{0,127}$": "an environment variable name: A-Z, 0-9 and '_'",
    r"^sha256:[a-f0-9]{64}$": "'sha256:' followed by 64 lowercase hex digits",
    r"^[a-f0-9]{40}$": "a full 40-character git commit SHA",
    r"^[1-9][0-9]{0,5}(s|m|h)$": "a duration such as 90s, 30m or 2h",
    r"^[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}$": "an email address",
    r"^[A-Za-z0-9][A-Za-z0-9._+-]{0,127}$": "a version label: letters, digits, '.', '_', '+' "
    "and '-', at most 128 characters",
}

_EXPECTED = {
    "string_type": "a string",
    "int_type": "a whole number",
    "float_type": "a number",
    "bool_type": "true or false",
    "list_type": "a list",
    "dict_type": "a mapping",
    "model_type": "a mapping",
    "model_attributes_type": "a mapping",
}
_FOUND = {
    str: "a string",
    int: "a number",
    float: "a number",
    bool: "a boolean",
    list: "a list",
    dict: "a mapping",
    type(None): "nothing (null)",
}

_CODES = {
    "extra_forbidden": "SPEC101",
    "missing": "SPEC102",
    "literal_error": "SPEC104",
    "string_pattern_mismatch": "SPEC105",
    "value_error": "SPEC105",
}


Root = TypeVar("Root", bound=BaseModel)


def build_model(loaded: LoadedSpec) -> tuple[MLPipeline | None, list[Diagnostic]]:
    """Validate loaded data against the spec model; never raises for bad input."""
    return validate_as(loaded, MLPipeline)


def validate_as(loaded: LoadedSpec, root: type[Root]) -> tuple[Root | None, list[Diagnostic]]:
    """Validate loaded data against any strict model (a spec, a platform file); never raises."""
    try:
        return root.model_validate(loaded.data), []
    except ValidationError as exc:
        return None, _diagnostics(loaded, exc.errors(include_url=False), root)


def _diagnostics(
    loaded: LoadedSpec, errors: list[ErrorDetails], root: type[BaseModel] = MLPipeline
) -> list[Diagnostic]:
    by_path: dict[JsonPath, list[ErrorDetails]] = {}
    for detail in errors:
        allow_new = detail["type"] in ("missing", "extra_forbidden")
        path = data_path(loaded.data, detail["loc"], allow_new_key=allow_new)
        by_path.setdefault(path, []).append(detail)
    result = []
    for path, details in by_path.items():
        if len(details) > 1 and all(_is_type_error(d) for d in details):
            result.append(_union_type_error(loaded, path, details))
        else:
            result.extend(_one(loaded, path, d, root) for d in details)
    return result


def data_path(data: Any, loc: tuple[int | str, ...], *, allow_new_key: bool = False) -> JsonPath:
    """Keep the parts of a pydantic `loc` that exist in the data (drops union/validator tags).

    With `allow_new_key`, the last part may be a key the data lacks (a missing or unknown key).
    """
    path: list[str | int] = []
    node = data
    last = len(loc) - 1
    for index, part in enumerate(loc):
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            node = node[part]
        elif not (allow_new_key and index == last and isinstance(node, dict)):
            continue  # a union member's or validator's tag, not a place in the data
        path.append(part)
    return tuple(path)


def _is_type_error(detail: ErrorDetails) -> bool:
    return detail["type"].endswith("_type") or detail["type"] in {"none_required", "literal_error"}


def _one(
    loaded: LoadedSpec, path: JsonPath, detail: ErrorDetails, root: type[BaseModel] = MLPipeline
) -> Diagnostic:
    kind = detail["type"]
    if kind == "extra_forbidden":
        return _unknown_key(loaded, path, root)
    if kind == "missing":
        parent = loaded.locate(path[:-1], key=True)
        return error(
            "SPEC102",
            f"missing required key {path[-1]!r}",
            parent.__class__(parent.file, parent.line, parent.column, path),
        )
    code = _CODES.get(kind) or ("SPEC103" if kind.endswith("_type") else "SPEC106")
    return error(code, _message(detail), loaded.locate(path), _hint(loaded, path, detail))


def _message(detail: ErrorDetails) -> str:
    if detail["type"] in _EXPECTED:
        found = _FOUND.get(type(detail.get("input")), "something else")
        return f"expected {_EXPECTED[detail['type']]}, found {found}"
    msg = detail["msg"].removeprefix("Value error, ").replace("Input should be", "must be")
    if detail["type"] == "string_pattern_mismatch":
        pattern = str((detail.get("ctx") or {}).get("pattern", ""))
        meaning = _PATTERN_MEANING.get(pattern)
        msg = f"must be {meaning}" if meaning else f"must match {pattern}"
    value = detail.get("input")
    if isinstance(value, str | int | float) and not isinstance(value, bool):
        text = safe_repr(value) if isinstance(value, str) else repr(value)
        shown = text if len(text) <= 80 else text[:77] + "..."
        return f"{shown}: {msg}"
    return msg


def _hint(loaded: LoadedSpec, path: JsonPath, detail: ErrorDetails) -> str | None:
    text = loaded.plain_text.get(path)
    if detail["type"] == "string_type" and text is not None:
        value = detail["input"]
        kind = "the boolean" if isinstance(value, bool) else "the number"
        return f'YAML reads {text} as {kind} {value!r}; quote it: "{text}"'
    if detail["type"] == "literal_error" and isinstance(detail.get("input"), str):
        expected = str((detail.get("ctx") or {}).get("expected", ""))
        options = [o.strip().strip("'") for o in expected.replace(" or ", ", ").split(",")]
        close = difflib.get_close_matches(str(detail["input"]), options, n=1)
        return f"did you mean {close[0]!r}?" if close else None
    return None


def _union_type_error(
    loaded: LoadedSpec, path: JsonPath, details: list[ErrorDetails]
) -> Diagnostic:
    found = _FOUND.get(type(details[0].get("input")), "something else")
    return error(
        "SPEC103", f"expected a string, number or boolean, found {found}", loaded.locate(path)
    )


def _unknown_key(
    loaded: LoadedSpec, path: JsonPath, root: type[BaseModel] = MLPipeline
) -> Diagnostic:
    allowed = sorted(allowed_keys(path[:-1], root))
    key = str(path[-1])
    close = difflib.get_close_matches(key, allowed, n=1, cutoff=0.6)
    hint: str | None = None
    if close:
        hint = f"did you mean {close[0]!r}?"
    elif allowed:
        hint = f"allowed keys here: {', '.join(allowed)}"
    return error("SPEC101", f"unknown key {safe_repr(key)}", loaded.locate(path, key=True), hint)


def allowed_keys(path: JsonPath, root: type[BaseModel] = MLPipeline) -> list[str]:
    """The keys the model accepts for the mapping at `path` (empty when it is not a model)."""
    model: Any = root
    for part in path:
        if isinstance(part, int):
            continue
        if not (isinstance(model, type) and issubclass(model, BaseModel)):
            return []
        field = next((f for n, f in model.model_fields.items() if (f.alias or n) == part), None)
        if field is None:
            return []
        model = _inner_model(field.annotation)
    if isinstance(model, type) and issubclass(model, BaseModel):
        return [f.alias or n for n, f in model.model_fields.items()]
    return []


def _inner_model(annotation: Any) -> Any:
    """The BaseModel inside Optional[...], list[...] or dict[..., ...], if any."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType, list, dict, typing.Annotated):
        for arg in typing.get_args(annotation):
            inner = _inner_model(arg)
            if inner is not None:
                return inner
    return None
