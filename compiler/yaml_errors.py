"""Plain-language YAML syntax errors: the line the user edited, what is wrong, what to do.

libyaml reports where its scanner gave up, which is often a line after the mistake and always
in parser terms ("did not find expected key", "mapping values are not allowed in this
context"). `explain` runs only once a parse has failed: it reads the lines around libyaml's
marks and names the mistake a person makes (a dedented key, a tab, a missing ': ', a quote or
bracket left open). Anything it does not recognise keeps libyaml's words and position.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import yaml

_KEY = re.compile(r"(?:-\s+)*([^\s:#\"'{}\[\],][^:#]*?)\s*:(?:\s|$)")
_NO_SPACE = re.compile(r"(?:-\s+)*([A-Za-z0-9_.-]+):([^\s:/].*)$")
_BRACKETS = "[]{}\"'"


@dataclass(frozen=True, slots=True)
class Explained:
    line: int  # 1-based
    column: int
    message: str
    hint: str | None = None


class _Text:
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
        match = _KEY.match(self.get(index).strip())
        return match.group(1) if match else None

    def key_column(self, index: int) -> int:
        """0-based column where the key (after any '- ') of a line starts."""
        line = self.get(index)
        body = line.lstrip(" ")
        while body.startswith("- "):
            body = body[2:].lstrip(" ")
        return len(line) - len(body)


def _mark(mark: Any) -> tuple[int, int]:
    return (mark.line, mark.column) if mark is not None else (0, 0)


def explain(text: str, exc: yaml.MarkedYAMLError) -> Explained:
    """The mistake behind a libyaml error, located on the line to fix."""
    source = _Text(text)
    problem = exc.problem or ""
    for matches, explainer in _EXPLAINERS:
        if matches(problem):
            found = explainer(source, exc)
            if found is not None:
                return found
    line, column = _mark(exc.problem_mark or exc.context_mark)
    context = f" ({exc.context})" if exc.context else ""
    return Explained(line + 1, column + 1, f"invalid YAML: {problem or 'syntax error'}{context}")


def _tab(source: _Text, exc: yaml.MarkedYAMLError) -> Explained | None:
    line, column = _mark(exc.problem_mark)
    text = source.get(line)
    if "tab" not in (exc.problem or "") and text[column : column + 1] != "\t":
        return None
    column = text.index("\t") if "\t" in text else column
    return Explained(
        line + 1,
        column + 1,
        "a tab character indents this line; YAML indents with spaces only",
        "replace the tab with spaces, as many as the lines around it use",
    )


def _bad_start(source: _Text, exc: yaml.MarkedYAMLError) -> Explained | None:
    found = _tab(source, exc)
    if found is not None:
        return found
    line, column = _mark(exc.problem_mark)
    char = source.get(line)[column : column + 1]
    if not char:
        return None
    return Explained(
        line + 1,
        column + 1,
        f"a value cannot start with {char!r} unless it is quoted",
        'put the value in double quotes, e.g. "' + source.get(line)[column:].strip() + '"',
    )


def _open_quote(source: _Text, exc: yaml.MarkedYAMLError) -> Explained | None:
    if "quoted scalar" not in (exc.context or ""):
        return None
    line, column = _mark(exc.context_mark)
    quote = source.get(line)[column : column + 1] or '"'
    return Explained(
        line + 1,
        column + 1,
        f"the string opened with {quote} here is never closed",
        f"add the closing {quote} at the end of the value on line {line + 1}",
    )


def _bad_escape(source: _Text, exc: yaml.MarkedYAMLError) -> Explained | None:
    line, column = _mark(exc.problem_mark)
    if source.get(line)[column : column + 1] != "\\":  # PyYAML marks the letter after it
        column -= 1
    escape = source.get(line)[column : column + 2]
    return Explained(
        line + 1,
        column + 1,
        f"'{escape}' is not an escape sequence in a double-quoted string",
        "use single quotes where a backslash is literal ('C:\\data'), or write '\\\\'",
    )


def _flow(source: _Text, exc: yaml.MarkedYAMLError) -> Explained | None:
    line, column = _mark(exc.problem_mark)
    opened, opened_at = _mark(exc.context_mark)
    close = "]" if "sequence" in (exc.context or "") else "}"
    open_char = "[" if close == "]" else "{"
    if line != opened or exc.context_mark is None:
        return Explained(
            opened + 1,
            opened_at + 1,
            f"the {open_char!r} opened here is never closed",
            f"add {close!r} at the end of line {opened + 1}",
        )
    return Explained(
        line + 1,
        column + 1,
        f"expected ',' or {close!r} here",
        "separate the items with ', '; quote an item that holds a space and ':' or ','",
    )


def _mapping_value(source: _Text, exc: yaml.MarkedYAMLError) -> Explained | None:
    line, column = _mark(exc.problem_mark)
    before = source.get(line)[:column]
    if _KEY.match(before.strip() + " ") and source.key_of(line) is not None:
        key = source.key_of(line)
        value = source.get(line)[source.key_column(line) + len(key or "") + 1 :].strip()
        return Explained(
            line + 1,
            column + 1,
            "a value that holds ': ' must be quoted",
            f'quote the value: {key}: "{value}"',
        )
    if source.key_of(line) is None and _NO_SPACE.match(source.get(line).strip()):
        return _no_colon(source, line)  # 'key:[a, b]' on the line itself
    above = source.previous(line)
    if above is None:
        return None
    return _no_colon(source, above) or _too_deep(source, above, line)


def _no_colon(source: _Text, index: int) -> Explained | None:
    body = source.get(index).strip()
    if source.key_of(index) is not None or body.startswith(("{", "[", '"', "'")):
        return None
    column = source.key_column(index)
    squeezed = _NO_SPACE.match(body)
    if squeezed and squeezed.group(2)[0] in _BRACKETS:
        key, after = squeezed.group(1), squeezed.group(2)[0]
        return Explained(
            index + 1,
            column + len(key) + 2,
            f"'{key}:' is followed by {after!r} without a space, so YAML reads it as text, "
            "not as a key",
            f"put a space after '{key}:' (and check that the {after!r} belongs there)",
        )
    if squeezed:
        key = squeezed.group(1)
        return Explained(
            index + 1,
            column + len(key) + 2,
            f"'{key}:' needs a space after the colon",
            f"write '{key}: {squeezed.group(2)}'",
        )
    return Explained(
        index + 1,
        column + 1,
        "this line has no ':' after its key",
        "write it as 'key: value'",
    )


def _too_deep(source: _Text, above: int, line: int) -> Explained | None:
    key = source.key_of(above)
    deeper = source.indent(source.get(line)) > source.key_column(above)
    if key is None or not deeper:
        return None
    return Explained(
        line + 1,
        source.indent(source.get(line)) + 1,
        f"this line is indented deeper than '{key}' on line {above + 1}, which already has a "
        "value, so YAML reads it as part of that value",
        f"line it up with '{key}' (column {source.key_column(above) + 1})",
    )


def _stray_start(source: _Text, line: int) -> Explained | None:
    """A line that starts with a closing bracket, a comma or a bare ':'."""
    text = source.get(line)
    column = source.indent(text)
    char = text[column : column + 1]
    if char in ("]", "}"):
        return _inside_line(source, line, column)
    closer = {"[": "]", "{": "}"}.get(char)
    if closer is not None and text.count(char) > text.count(closer):
        return Explained(
            line + 1,
            column + 1,
            f"the {char!r} opened here is never closed",
            f"add {closer!r} at the end of line {line + 1}",
        )
    if char in (":", ","):
        return Explained(
            line + 1,
            column + 1,
            f"this line starts with {char!r}, where a key or '- ' is expected",
            "remove it" if char == "," else "write the key before the colon: 'key: value'",
        )
    return None


def _expected_key(source: _Text, exc: yaml.MarkedYAMLError) -> Explained | None:
    if "block collection" in (exc.context or ""):  # PyYAML's words for a missing '- '
        return _expected_dash(source, exc)
    line, column = _mark(exc.problem_mark)
    stray = _stray_start(source, line)
    if stray is not None:
        return stray
    text = source.get(line)
    if column > source.indent(text):  # the mistake is inside the line, not its indentation
        return _inside_line(source, line, column)
    return _misaligned(source, exc, line)


def _inside_line(source: _Text, line: int, column: int) -> Explained:
    text = source.get(line)
    char = text[column : column + 1]
    if char in "]}":
        return Explained(
            line + 1, column + 1, f"{char!r} closes a bracket that is not open", "remove it"
        )
    opened = _open_quote_above(source, line, column)
    if opened is not None:
        return opened
    if text[:column].rstrip().endswith(('"', "'")):
        return Explained(
            line + 1,
            column + 1,
            "text follows the closing quote",
            "put the whole value inside the quotes",
        )
    return Explained(line + 1, column + 1, "unexpected text here", "check the line's syntax")


def _open_quote_above(source: _Text, line: int, column: int) -> Explained | None:
    """A string left open on an earlier line that a quote on this line closed."""
    before = source.get(line)[:column]
    for quote in ('"', "'"):
        if before.count(quote) % 2 == 0:
            continue
        for probe in range(line - 1, -1, -1):
            text = source.get(probe)
            if text.count(quote) % 2:
                return Explained(
                    probe + 1,
                    text.index(quote) + 1,
                    f"the string opened with {quote} here is not closed on this line",
                    f"add the closing {quote} at the end of line {probe + 1}",
                )
    return None


def _misaligned(source: _Text, exc: yaml.MarkedYAMLError, line: int) -> Explained:
    indent = source.indent(source.get(line))
    levels = [(i, n) for i, n in _levels_around(source, line, indent) if i >= 0]
    text = source.get(line).lstrip()
    what = source.key_of(line)
    subject = "this list item" if text.startswith("- ") else f"'{what}'" if what else "this line"
    places = " and ".join(
        f"{_name(source, i, n)} (line {i + 1}, {abs(n)} spaces)" for i, n in levels
    )
    return Explained(
        line + 1,
        indent + 1,
        f"{subject} is indented {indent} space(s), which lines up with no line above it"
        + (f": it falls between {places}" if len(levels) == 2 else ""),
        " or ".join(
            f"indent it by {abs(n)} like {_name(source, i, n)} (line {i + 1})"
            for i, n in levels[::-1]
        )
        or None,
    )


def _name(source: _Text, index: int, level: int = 0) -> str:
    if level >= 0 and source.get(index).lstrip().startswith("- "):
        return "the list item"
    return f"'{source.key_of(index) or source.get(index).strip()}'"


def _levels_around(source: _Text, line: int, indent: int) -> list[tuple[int, int]]:
    """The nearest less indented line above `line`, and the least indented line between them
    that is deeper than `indent` (the two levels the line falls between)."""
    deeper, shallower = (-1, 0), (-1, 0)
    probe = source.previous(line)
    while probe is not None:
        level = source.indent(source.get(probe))
        if level < indent:
            shallower = (probe, level)
            column = source.key_column(probe)
            if column > indent and (deeper[0] < 0 or column <= deeper[1]):
                deeper = (probe, -column)  # the key of this list item, not its '-'
            break
        if level > indent and (deeper[0] < 0 or level <= deeper[1]):
            deeper = (probe, level)
        probe = source.previous(probe)
    return [shallower, deeper]


def _expected_dash(source: _Text, exc: yaml.MarkedYAMLError) -> Explained | None:
    line, _ = _mark(exc.problem_mark)
    stray = _stray_start(source, line)
    if stray is not None:
        return stray
    start, _ = _mark(exc.context_mark)
    item = max(
        (i for i in range(start, line) if source.get(i).lstrip().startswith("- ")),
        default=start,
    )
    inner = source.key_column(item) + 1
    indent = source.indent(source.get(line))
    if indent != source.indent(source.get(item)):
        return _misaligned(source, exc, line)
    return Explained(
        line + 1,
        indent + 1,
        f"this line is indented like the list items above (line {item + 1}) but does not "
        "start with '- '",
        f"indent it to column {inner} to add it to the item on line {item + 1}, or start it "
        "with '- ' for a new item",
    )


def _node_content(source: _Text, exc: yaml.MarkedYAMLError) -> Explained | None:
    line, column = _mark(exc.problem_mark)
    char = source.get(line)[column : column + 1]
    if char in ("]", "}"):
        return _inside_line(source, line, column)
    return Explained(
        line + 1,
        column + 1,
        "a value is missing here" + (f" (found {char!r})" if char.strip() else ""),
        "write the value, or remove the stray punctuation before it",
    )


def _inline_dash(source: _Text, exc: yaml.MarkedYAMLError) -> Explained | None:
    line, column = _mark(exc.problem_mark)
    key = source.key_of(line)
    return Explained(
        line + 1,
        column + 1,
        "a '- ' list item cannot start on the line of its key" + (f" '{key}'" if key else ""),
        "put each '- ' item on a line of its own below the key, indented, or write the "
        "list as [a, b]",
    )


def _document_start(source: _Text, exc: yaml.MarkedYAMLError) -> Explained | None:
    first = next((i for i, text in enumerate(source.lines) if source.significant(text)), None)
    if first is None or not source.indent(source.get(first)):
        return None
    return Explained(
        first + 1,
        1,
        f"the first line is indented {source.indent(source.get(first))} space(s); the "
        "top-level keys of a spec start in column 1",
        f"remove the spaces before '{source.key_of(first) or 'the key'}'",
    )


def _expected_colon(source: _Text, exc: yaml.MarkedYAMLError) -> Explained | None:
    line, _ = _mark(exc.context_mark)
    return (
        _stray_start(source, line)
        or _no_colon(source, line)
        or Explained(
            line + 1,
            source.key_column(line) + 1,
            "this line has no ':' after its key",
            "write it as 'key: value'",
        )
    )


_EXPLAINERS: tuple[
    tuple[Callable[[str], bool], Callable[[_Text, yaml.MarkedYAMLError], Explained | None]], ...
] = (
    (lambda p: "tab" in p, _tab),
    (lambda p: "cannot start any token" in p, _bad_start),
    (lambda p: "end of stream" in p, _open_quote),
    (lambda p: "unknown escape" in p, _bad_escape),
    (lambda p: "expected ','" in p, _flow),
    (lambda p: p.startswith("mapping values are not allowed"), _mapping_value),
    (lambda p: p.startswith(("did not find expected key", "expected <block end>")), _expected_key),
    (lambda p: "expected '-' indicator" in p, _expected_dash),
    (lambda p: "could not find expected ':'" in p, _expected_colon),
    (lambda p: "<document start>" in p, _document_start),
    (lambda p: "expected node content" in p, _node_content),
    (lambda p: "sequence entries are not allowed" in p, _inline_dash),
)
