"""Mistakes of indentation: a key between two levels, a missing '- ', an indented first line."""

from __future__ import annotations

import yaml

from compiler.yaml_errors.text import Explained, Lines, mark_of
from compiler.yaml_errors.tokens import inside_line, stray_start


def expected_key(source: Lines, exc: yaml.MarkedYAMLError) -> Explained | None:
    if "block collection" in (exc.context or ""):  # PyYAML's words for a missing '- '
        return expected_dash(source, exc)
    line, column = mark_of(exc.problem_mark)
    stray = stray_start(source, line)
    if stray is not None:
        return stray
    text = source.get(line)
    if column > source.indent(text):  # the mistake is inside the line, not its indentation
        return inside_line(source, line, column)
    return _misaligned(source, exc, line)


def _misaligned(source: Lines, exc: yaml.MarkedYAMLError, line: int) -> Explained:
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


def _name(source: Lines, index: int, level: int = 0) -> str:
    if level >= 0 and source.get(index).lstrip().startswith("- "):
        return "the list item"
    return f"'{source.key_of(index) or source.get(index).strip()}'"


def _levels_around(source: Lines, line: int, indent: int) -> list[tuple[int, int]]:
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


def expected_dash(source: Lines, exc: yaml.MarkedYAMLError) -> Explained | None:
    line, _ = mark_of(exc.problem_mark)
    stray = stray_start(source, line)
    if stray is not None:
        return stray
    start, _ = mark_of(exc.context_mark)
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


def inline_dash(source: Lines, exc: yaml.MarkedYAMLError) -> Explained | None:
    line, column = mark_of(exc.problem_mark)
    key = source.key_of(line)
    return Explained(
        line + 1,
        column + 1,
        "a '- ' list item cannot start on the line of its key" + (f" '{key}'" if key else ""),
        "put each '- ' item on a line of its own below the key, indented, or write the "
        "list as [a, b]",
    )


def document_start(source: Lines, exc: yaml.MarkedYAMLError) -> Explained | None:
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
