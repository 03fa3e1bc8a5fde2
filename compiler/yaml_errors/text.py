"""The lines of a file that failed to parse, and the helpers every explanation reads."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

KEY = re.compile(r"(?:-\s+)*([^\s:#\"'{}\[\],][^:#]*?)\s*:(?:\s|$)")


NO_SPACE = re.compile(r"(?:-\s+)*([A-Za-z0-9_.-]+):([^\s:/].*)$")


BRACKETS = "[]{}\"'"


@dataclass(frozen=True, slots=True)
class Explained:
    line: int  # 1-based
    column: int
    message: str
    hint: str | None = None


class Lines:
    """The file's lines with the indentation helpers the explanations need (0-based)."""

    def __init__(self, text: str) -> None:
        self.lines = text.splitlines()

    def get(self, index: int) -> str:
        return self.lines[index] if 0 <= index < len(self.lines) else ""

    @staticmethod
    def indent(line: str) -> int:
        return len(line) - len(line.lstrip(" "))

    @staticmethod
    def significant(line: str) -> bool:
        stripped = line.strip()
        return bool(stripped) and not stripped.startswith("#")

    def previous(self, index: int) -> int | None:
        """The nearest line above `index` that holds more than blanks or a comment."""
        for probe in range(min(index, len(self.lines)) - 1, -1, -1):
            if self.significant(self.lines[probe]):
                return probe
        return None

    def key_of(self, index: int) -> str | None:
        match = KEY.match(self.get(index).strip())
        return match.group(1) if match else None

    def key_column(self, index: int) -> int:
        """0-based column where the key (after any '- ') of a line starts."""
        line = self.get(index)
        body = line.lstrip(" ")
        while body.startswith("- "):
            body = body[2:].lstrip(" ")
        return len(line) - len(body)


def mark_of(mark: Any) -> tuple[int, int]:
    return (mark.line, mark.column) if mark is not None else (0, 0)
