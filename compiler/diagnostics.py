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
