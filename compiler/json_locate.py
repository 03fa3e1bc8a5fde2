"""Where a JSON path points in a JSON text: the line and column a diagnostic names.

The text is one specops read and parsed already (so it is valid JSON); the walk follows object
keys and array indexes, skipping every other value with the standard decoder.
"""

from __future__ import annotations

import json
import re

from compiler.diagnostics import JsonPath

_SPACE = re.compile(r"[ \t\n\r]*")
_DECODER = json.JSONDecoder()


def _skip(text: str, pos: int) -> int:
    match = _SPACE.match(text, pos)
    return match.end() if match else pos


def _member(text: str, pos: int, key: str) -> tuple[int, int] | None:
    """The starts of `key` and of its value in the object starting at `pos`."""
    pos = _skip(text, pos + 1)
    while pos < len(text) and text[pos] == '"':
        start = pos
        name, pos = _DECODER.raw_decode(text, pos)
        pos = _skip(text, _skip(text, pos) + 1)  # past the colon
        if name == key:
            return start, pos
        pos = _skip(text, _DECODER.raw_decode(text, pos)[1])
        pos = _skip(text, pos + 1) if text[pos : pos + 1] == "," else pos
    return None


def _item(text: str, pos: int, index: int) -> int | None:
    """The start of item `index` of the array starting at `pos`."""
    pos = _skip(text, pos + 1)
    for _ in range(index):
        if text[pos : pos + 1] in ("]", ""):
            return None
        pos = _skip(text, _DECODER.raw_decode(text, pos)[1])
        pos = _skip(text, pos + 1) if text[pos : pos + 1] == "," else pos
    return None if text[pos : pos + 1] in ("]", "") else pos


def position(text: str, json_path: JsonPath) -> int | None:
    """The offset of the deepest part of `json_path` found in `text` (a key's own name for an
    object member, the item for an array index); None when not even the first part is."""
    pos, found = _skip(text, 0), None
    try:
        for part in json_path:
            opener = text[pos : pos + 1]
            if isinstance(part, int) and opener == "[":
                item = _item(text, pos, part)
                places = None if item is None else (item, item)
            elif isinstance(part, str) and opener == "{":
                places = _member(text, pos, part)
            else:
                places = None
            if places is None:
                break
            found, pos = places
    except (ValueError, IndexError):  # not the JSON specops parsed: the deepest part found so far
        pass
    return found


def line_column(text: str, offset: int) -> tuple[int, int]:
    """The 1-based line and column of `offset`."""
    return text.count("\n", 0, offset) + 1, offset - (text.rfind("\n", 0, offset) + 1) + 1
