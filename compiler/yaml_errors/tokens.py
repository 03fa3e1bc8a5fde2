"""Mistakes inside a line: tabs, quotes, brackets, colons, escapes."""

from __future__ import annotations

import yaml

from compiler.yaml_errors.text import BRACKETS, KEY, NO_SPACE, Explained, Lines, mark_of


def tab(source: Lines, exc: yaml.MarkedYAMLError) -> Explained | None:
    line, column = mark_of(exc.problem_mark)
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


def bad_start(source: Lines, exc: yaml.MarkedYAMLError) -> Explained | None:
    found = tab(source, exc)
    if found is not None:
        return found
    line, column = mark_of(exc.problem_mark)
    char = source.get(line)[column : column + 1]
    if not char:
        return None
    return Explained(
        line + 1,
        column + 1,
        f"a value cannot start with {char!r} unless it is quoted",
        'put the value in double quotes, e.g. "' + source.get(line)[column:].strip() + '"',
    )


def open_quote(source: Lines, exc: yaml.MarkedYAMLError) -> Explained | None:
    if "quoted scalar" not in (exc.context or ""):
        return None
    line, column = mark_of(exc.context_mark)
    quote = source.get(line)[column : column + 1] or '"'
    return Explained(
        line + 1,
        column + 1,
        f"the string opened with {quote} here is never closed",
        f"add the closing {quote} at the end of the value on line {line + 1}",
    )


def bad_escape(source: Lines, exc: yaml.MarkedYAMLError) -> Explained | None:
    line, column = mark_of(exc.problem_mark)
    if source.get(line)[column : column + 1] != "\\":  # PyYAML marks the letter after it
        column -= 1
    escape = source.get(line)[column : column + 2]
    return Explained(
        line + 1,
        column + 1,
        f"'{escape}' is not an escape sequence in a double-quoted string",
        "use single quotes where a backslash is literal ('C:\\data'), or write '\\\\'",
    )


def flow(source: Lines, exc: yaml.MarkedYAMLError) -> Explained | None:
    line, column = mark_of(exc.problem_mark)
    opened, opened_at = mark_of(exc.context_mark)
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


def mapping_value(source: Lines, exc: yaml.MarkedYAMLError) -> Explained | None:
    line, column = mark_of(exc.problem_mark)
    before = source.get(line)[:column]
    if KEY.match(before.strip() + " ") and source.key_of(line) is not None:
        key = source.key_of(line)
        value = source.get(line)[source.key_column(line) + len(key or "") + 1 :].strip()
        return Explained(
            line + 1,
            column + 1,
            "a value that holds ': ' must be quoted",
            f'quote the value: {key}: "{value}"',
        )
    if source.key_of(line) is None and NO_SPACE.match(source.get(line).strip()):
        return _no_colon(source, line)  # 'key:[a, b]' on the line itself
    above = source.previous(line)
    if above is None:
        return None
    return _no_colon(source, above) or _too_deep(source, above, line)


def _no_colon(source: Lines, index: int) -> Explained | None:
    body = source.get(index).strip()
    if source.key_of(index) is not None or body.startswith(("{", "[", '"', "'")):
        return None
    column = source.key_column(index)
    squeezed = NO_SPACE.match(body)
    if squeezed and squeezed.group(2)[0] in BRACKETS:
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


def _too_deep(source: Lines, above: int, line: int) -> Explained | None:
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


def stray_start(source: Lines, line: int) -> Explained | None:
    """A line that starts with a closing bracket, a comma or a bare ':'."""
    text = source.get(line)
    column = source.indent(text)
    char = text[column : column + 1]
    if char in ("]", "}"):
        return inside_line(source, line, column)
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


def inside_line(source: Lines, line: int, column: int) -> Explained:
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


def _open_quote_above(source: Lines, line: int, column: int) -> Explained | None:
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


def node_content(source: Lines, exc: yaml.MarkedYAMLError) -> Explained | None:
    line, column = mark_of(exc.problem_mark)
    char = source.get(line)[column : column + 1]
    if char in ("]", "}"):
        return inside_line(source, line, column)
    return Explained(
        line + 1,
        column + 1,
        "a value is missing here" + (f" (found {char!r})" if char.strip() else ""),
        "write the value, or remove the stray punctuation before it",
    )


def expected_colon(source: Lines, exc: yaml.MarkedYAMLError) -> Explained | None:
    line, _ = mark_of(exc.context_mark)
    return (
        stray_start(source, line)
        or _no_colon(source, line)
        or Explained(
            line + 1,
            source.key_column(line) + 1,
            "this line has no ':' after its key",
            "write it as 'key: value'",
        )
    )
