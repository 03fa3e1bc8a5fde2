"""The one error currency of every stage: a `Diagnostic` with a `Location`."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"
    NOTE = "note"


JsonPath = tuple[str | int, ...]


def format_json_path(path: JsonPath) -> str:
    """`("deploy", "environments", 1, "name")` -> `$.deploy.environments[1].name`."""
    parts = ["$"]
    for item in path:
        if isinstance(item, int):
            parts.append(f"[{item}]")
        elif item.isidentifier():
            parts.append(f".{item}")
        else:
            parts.append(f"[{item!r}]")
    return "".join(parts)


@dataclass(frozen=True, slots=True)
class Location:
    """Where a problem is: a file, a 1-based line and column, and the JSON path inside it."""

    file: str
    line: int = 0
    column: int = 0
    json_path: JsonPath = ()

    @property
    def path_text(self) -> str:
        return format_json_path(self.json_path)

    def __str__(self) -> str:
        if self.line:
            return f"{self.file}:{self.line}:{self.column}"
        return self.file


@dataclass(frozen=True, slots=True)
class Diagnostic:
    code: str
    severity: Severity
    message: str
    location: Location
    hint: str | None = None
    related: tuple[Location, ...] = ()

    @property
    def is_error(self) -> bool:
        return self.severity is Severity.ERROR

    def sort_key(self) -> tuple[str, int, int, str, str]:
        loc = self.location
        return (loc.file, loc.line, loc.column, self.code, self.message)


def error(code: str, message: str, location: Location, hint: str | None = None) -> Diagnostic:
    return Diagnostic(code, Severity.ERROR, message, location, hint)


def warning(code: str, message: str, location: Location, hint: str | None = None) -> Diagnostic:
    return Diagnostic(code, Severity.WARNING, message, location, hint)


def has_errors(diagnostics: list[Diagnostic]) -> bool:
    return any(d.is_error for d in diagnostics)


def diagnostic_data(diagnostic: Diagnostic) -> dict[str, object]:
    """A diagnostic as JSON-able data (`diagnostic_of_data` reads it back)."""
    return {
        "code": diagnostic.code,
        "severity": diagnostic.severity.value,
        "message": diagnostic.message,
        "location": _location_data(diagnostic.location),
        "hint": diagnostic.hint,
        "related": [_location_data(r) for r in diagnostic.related],
    }


def diagnostic_of_data(data: object) -> Diagnostic:
    """Raises ValueError when `data` is not what `diagnostic_data` writes."""
    if not isinstance(data, dict) or set(data) != _DIAGNOSTIC_KEYS:
        raise ValueError("not a diagnostic")
    hint, related = data["hint"], data["related"]
    if not (hint is None or isinstance(hint, str)) or not isinstance(related, list):
        raise ValueError("not a diagnostic")
    return Diagnostic(
        _text(data["code"]),
        Severity(data["severity"]),
        _text(data["message"]),
        _location_of_data(data["location"]),
        hint,
        tuple(_location_of_data(r) for r in related),
    )


_DIAGNOSTIC_KEYS = {"code", "severity", "message", "location", "hint", "related"}
_LOCATION_KEYS = {"file", "line", "column", "json_path"}


def _location_data(location: Location) -> dict[str, object]:
    return {
        "file": location.file,
        "line": location.line,
        "column": location.column,
        "json_path": list(location.json_path),
    }


def _location_of_data(data: object) -> Location:
    if not isinstance(data, dict) or set(data) != _LOCATION_KEYS:
        raise ValueError("not a location")
    line, column, path = data["line"], data["column"], data["json_path"]
    numbers = (line, column)
    if not all(type(n) is int for n in numbers) or not isinstance(path, list):
        raise ValueError("not a location")
    if not all(type(p) is int or isinstance(p, str) for p in path):
        raise ValueError("not a JSON path")
    return Location(_text(data["file"]), line, column, tuple(path))


def _text(value: object) -> str:
    if not isinstance(value, str):
        raise ValueError("not text")
    return value
