"""Stage 2: strict YAML -> `LoadedSpec` (plain data plus a position for every JSON path).

Our own loader class composes straight from libyaml's events, so that we see what the default
constructor hides: anchors and aliases, merge keys, explicit tags, duplicate keys and the
position of every key and value. Plain scalars resolve by the YAML 1.2 core schema, so `on`,
`NO`, `22:22` and dates stay strings; numbers stay numbers and the strict model refuses them
where it wants a string, with a hint to quote them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import yaml

from compiler.diagnostics import Diagnostic, JsonPath, Location, error
from compiler.sources import SourceFile

_BaseLoader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
MAX_DEPTH = 64

_INT = re.compile(r"^[-+]?[0-9]+$")
_FLOAT = re.compile(r"^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$")
_NULLS = frozenset({"", "~", "null", "Null", "NULL"})
_BOOLS = {"true": True, "True": True, "TRUE": True, "false": False, "False": False, "FALSE": False}
_STR_TAGS = frozenset({None, "!", "tag:yaml.org,2002:str"})

Position = tuple[int, int]


@dataclass(frozen=True, slots=True)
class LoadedSpec:
    source: SourceFile
    data: dict[str, Any]
    value_positions: dict[JsonPath, Position] = field(repr=False)
    key_positions: dict[JsonPath, Position] = field(repr=False)
    plain_text: dict[JsonPath, str] = field(repr=False)  # source text of unquoted non-strings

    def locate(self, path: JsonPath, *, key: bool = False) -> Location:
        """The closest known position of a JSON path (its key's, when `key` and known)."""
        probe = path
        while True:
            position = (key and self.key_positions.get(probe)) or self.value_positions.get(probe)
            if position is not None or not probe:
                break
            probe = probe[:-1]
        line, column = position or (1, 1)
        return Location(self.source.path, line, column, path)


def resolve_plain(text: str) -> Any:
    """A plain scalar by the YAML 1.2 core schema."""
    if text in _NULLS:
        return None
    if text in _BOOLS:
        return _BOOLS[text]
    if _INT.match(text):
        return int(text)
    if _FLOAT.match(text):
        return float(text)
    if text.startswith(("0x", "0o")):
        try:
            return int(text[2:], 16 if text[1] == "x" else 8)
        except ValueError:
            return text
    return text


class _Stop(Exception):
    def __init__(self, diagnostic: Diagnostic) -> None:
        self.diagnostic = diagnostic


class SpecLoader(_BaseLoader):  # type: ignore[misc]
    """Composes one YAML document into plain data, recording positions and problems."""

    def __init__(self, source: SourceFile) -> None:
        super().__init__(source.text)
        self.source = source
        self.diagnostics: list[Diagnostic] = []
        self.values: dict[JsonPath, Position] = {}
        self.keys: dict[JsonPath, Position] = {}
        self.plain_text: dict[JsonPath, str] = {}

    def where(self, event: Any, path: JsonPath = ()) -> Location:
        mark = event.start_mark
        return Location(self.source.path, mark.line + 1, mark.column + 1, path)

    def report(self, code: str, message: str, event: Any, path: JsonPath, hint: str = "") -> None:
        self.diagnostics.append(error(code, message, self.where(event, path), hint or None))

    def compose_document_data(self) -> Any:
        self.get_event()  # StreamStart
        if isinstance(self.peek_event(), yaml.StreamEndEvent):
            raise _Stop(error("YAML002", "the file is empty", Location(self.source.path, 1, 1)))
        self.get_event()  # DocumentStart
        data = self.node((), 0)
        self.get_event()  # DocumentEnd
        extra = self.peek_event()
        if not isinstance(extra, yaml.StreamEndEvent):
            raise _Stop(
                error(
                    "YAML003",
                    "a spec file holds exactly one YAML document",
                    self.where(extra),
                    hint="remove the '---' and what follows it",
                )
            )
        return data

    def node(self, path: JsonPath, depth: int) -> Any:
        event = self.get_event()
        if depth > MAX_DEPTH:
            raise _Stop(
                error("YAML004", f"nesting deeper than {MAX_DEPTH} levels", self.where(event, path))
            )
        mark = event.start_mark
        self.values[path] = (mark.line + 1, mark.column + 1)
        if isinstance(event, yaml.AliasEvent):
            self.report(
                "YAML005",
                "aliases (*name) are not allowed in specs",
                event,
                path,
                "write the value out in full",
            )
            return None
        if event.anchor is not None:
            self.report(
                "YAML005",
                f"anchors (&{event.anchor}) are not allowed in specs",
                event,
                path,
                "write the value out in full",
            )
        if isinstance(event, yaml.ScalarEvent):
            return self.scalar(event, path)
        if isinstance(event, yaml.SequenceStartEvent):
            self.check_tag(event, path, "tag:yaml.org,2002:seq")
            return self.sequence(path, depth)
        self.check_tag(event, path, "tag:yaml.org,2002:map")
        return self.mapping(path, depth)

    def check_tag(self, event: Any, path: JsonPath, standard: str) -> None:
        if event.tag not in (None, "!", standard):
            self.report(
                "YAML006",
                f"tag {event.tag!r} is not allowed in specs",
                event,
                path,
                "remove the tag; specs hold plain data",
            )

    def scalar(self, event: Any, path: JsonPath) -> Any:
        if event.tag not in _STR_TAGS:
            self.report(
                "YAML006",
                f"tag {event.tag!r} is not allowed in specs",
                event,
                path,
                "remove the tag; quote the value to make it a string",
            )
        if event.style or event.tag == "tag:yaml.org,2002:str":  # "" (libyaml) or None: plain
            return event.value
        value = resolve_plain(event.value)
        if not isinstance(value, str):
            self.plain_text[path] = event.value
        return value

    def sequence(self, path: JsonPath, depth: int) -> list[Any]:
        items: list[Any] = []
        while not isinstance(self.peek_event(), yaml.SequenceEndEvent):
            items.append(self.node((*path, len(items)), depth + 1))
        self.get_event()
        return items

    def mapping(self, path: JsonPath, depth: int) -> dict[str, Any]:
        result: dict[str, Any] = {}
        while not isinstance(self.peek_event(), yaml.MappingEndEvent):
            key_event = self.peek_event()
            key = self.key(key_event, path, depth)
            child = (*path, key)
            if key in result:
                from compiler.credentials import safe_repr  # detect-secrets: only when needed

                first = self.keys[child]
                self.report(
                    "YAML007",
                    f"duplicate key {safe_repr(str(key))} (first defined at line {first[0]})",
                    key_event,
                    child,
                    "remove one of the two entries",
                )
                self.node(("<duplicate>",), depth + 1)
                continue
            self.keys[child] = (key_event.start_mark.line + 1, key_event.start_mark.column + 1)
            result[key] = self.node(child, depth + 1)
        self.get_event()
        return result

    def key(self, event: Any, path: JsonPath, depth: int) -> str:
        if not isinstance(event, yaml.ScalarEvent):
            self.node(("<key>",), depth + 1)
            raise _Stop(
                error("YAML008", "mapping keys must be plain strings", self.where(event, path))
            )
        self.get_event()
        if event.anchor is not None:
            self.report(
                "YAML005", f"anchors (&{event.anchor}) are not allowed in specs", event, path
            )
        if event.value == "<<" and not event.style:
            self.report(
                "YAML009",
                "merge keys (<<) are not allowed in specs",
                event,
                path,
                "write the merged keys out in full",
            )
        return str(event.value)


def load(source: SourceFile) -> tuple[LoadedSpec | None, list[Diagnostic]]:
    """Parse one spec file; every problem is returned as a diagnostic, never raised."""
    loader = SpecLoader(source)
    try:
        data = loader.compose_document_data()
    except _Stop as stop:
        return None, [*loader.diagnostics, stop.diagnostic]
    except yaml.MarkedYAMLError as exc:
        return None, [*loader.diagnostics, _syntax_error(source, exc)]
    except yaml.YAMLError as exc:
        return None, [error("YAML001", f"invalid YAML: {exc}", Location(source.path))]
    finally:
        loader.dispose()
    if loader.diagnostics:
        return None, loader.diagnostics
    if not isinstance(data, dict):
        kind = "a list" if isinstance(data, list) else "a single value"
        return None, [
            error(
                "YAML010",
                f"the document is {kind}; a spec is a mapping",
                Location(source.path, 1, 1),
                hint="start with 'apiVersion: specops/v1'",
            )
        ]
    return LoadedSpec(source, data, loader.values, loader.keys, loader.plain_text), []


def _syntax_error(source: SourceFile, exc: yaml.MarkedYAMLError) -> Diagnostic:
    from compiler.yaml_errors import explain  # only once a parse has failed

    found = explain(source.text, exc)
    where = Location(source.path, found.line, found.column)
    return error("YAML001", found.message, where, found.hint)
