"""Stage 2: strict YAML -> `LoadedSpec` (plain data plus a position for every JSON path).

Our own loader classes compose straight from libyaml's events, so that we see what the default
constructor hides: anchors and aliases, merge keys, explicit tags, duplicate keys and the
position of every key and value. Plain scalars resolve by the YAML 1.2 core schema, so `on`,
`NO`, `22:22` and dates stay strings; numbers stay numbers and the strict model refuses them
where it wants a string, with a hint to quote them.

Two passes, because positions are only ever read for a diagnostic: `load` first builds the data
alone (`_DataLoader`), which is all a valid spec needs, and gives up at anything out of the
ordinary; then, or when a diagnostic first asks where a path is, `SpecLoader` walks the same
text recording every position and problem. Both read scalars with `_scalar_value`.
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
# Every null, bool and number above starts with one of these; any other plain text is a string.
_TYPED_START = frozenset("~nNtTfF+-.0123456789")
_STR = "tag:yaml.org,2002:str"
_STR_TAGS = frozenset({None, "!", _STR})
# libyaml builds events of exactly these classes: `is` on the class is the cheap test.
_Scalar, _Alias = yaml.ScalarEvent, yaml.AliasEvent
_SequenceStart, _SequenceEnd = yaml.SequenceStartEvent, yaml.SequenceEndEvent
_MappingStart, _MappingEnd = yaml.MappingStartEvent, yaml.MappingEndEvent
_COLLECTION_TAGS = {
    _SequenceStart: frozenset({None, "!", "tag:yaml.org,2002:seq"}),
    _MappingStart: frozenset({None, "!", "tag:yaml.org,2002:map"}),
}

Position = tuple[int, int]


@dataclass(frozen=True, slots=True)
class Positions:
    values: dict[JsonPath, Position]
    keys: dict[JsonPath, Position]
    plain_text: dict[JsonPath, str]  # source text of unquoted non-strings


@dataclass(frozen=True, slots=True)
class LoadedSpec:
    source: SourceFile
    data: dict[str, Any]
    # Found by a second pass over `source.text` when first asked for (see the module's doc).
    _positions: Positions | None = field(default=None, repr=False, compare=False)

    @property
    def positions(self) -> Positions:
        if self._positions is None:
            object.__setattr__(self, "_positions", _track(self.source))
        assert self._positions is not None
        return self._positions

    @property
    def value_positions(self) -> dict[JsonPath, Position]:
        return self.positions.values

    @property
    def key_positions(self) -> dict[JsonPath, Position]:
        return self.positions.keys

    @property
    def plain_text(self) -> dict[JsonPath, str]:
        return self.positions.plain_text

    def locate(self, path: JsonPath, *, key: bool = False) -> Location:
        """The closest known position of a JSON path (its key's, when `key` and known)."""
        values, keys = self.positions.values, self.positions.keys
        probe = path
        while True:
            position = (key and keys.get(probe)) or values.get(probe)
            if position is not None or not probe:
                break
            probe = probe[:-1]
        line, column = position or (1, 1)
        return Location(self.source.path, line, column, path)


def resolve_plain(text: str) -> Any:
    """A plain scalar by the YAML 1.2 core schema."""
    if text and text[0] not in _TYPED_START:
        return text
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


def _scalar_value(event: Any) -> Any:
    """A scalar's value: quoted and `!!str` text as written, plain text resolved."""
    text = event.value
    if event.style or event.tag == _STR:  # "" (libyaml) or None: plain
        return text
    return text if text and text[0] not in _TYPED_START else resolve_plain(text)


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
        kind = event.__class__
        if kind is _Alias:
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
        if kind is _Scalar:
            return self.scalar(event, path)
        self.check_tag(event, path)
        if kind is _SequenceStart:
            return self.sequence(path, depth)
        return self.mapping(path, depth)

    def check_tag(self, event: Any, path: JsonPath) -> None:
        if event.tag not in _COLLECTION_TAGS[event.__class__]:
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
        value = _scalar_value(event)
        if value.__class__ is not str:
            self.plain_text[path] = event.value
        return value

    def sequence(self, path: JsonPath, depth: int) -> list[Any]:
        items: list[Any] = []
        while self.peek_event().__class__ is not _SequenceEnd:
            items.append(self.node((*path, len(items)), depth + 1))
        self.get_event()
        return items

    def mapping(self, path: JsonPath, depth: int) -> dict[str, Any]:
        result: dict[str, Any] = {}
        while (key_event := self.peek_event()).__class__ is not _MappingEnd:
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
        if event.__class__ is not _Scalar:
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


class _Unusual(Exception):
    """Something `SpecLoader` would report: let it, with every position it needs."""


class _DataLoader(_BaseLoader):  # type: ignore[misc]
    """The data of an ordinary spec, and no positions: `_Unusual` at whatever `SpecLoader`
    might report (an alias, anchor, tag, merge or duplicate key, a key that is not a scalar,
    deep nesting, anything but one document holding a mapping). Each event is taken once,
    and a scalar is read where it is found: this pass is most of what validating costs."""

    def document(self) -> Any:
        self.get_event()  # StreamStart
        if self.peek_event().__class__ is not yaml.DocumentStartEvent:
            raise _Unusual
        self.get_event()
        root = self.get_event()
        if root.__class__ is not _MappingStart:
            raise _Unusual
        data = self.collection(root, 0)
        self.get_event()  # DocumentEnd
        if self.peek_event().__class__ is not yaml.StreamEndEvent:
            raise _Unusual
        return data

    def collection(self, start: Any, depth: int) -> Any:
        """The sequence or mapping that `start` opens, at `depth` (its items one deeper)."""
        kind = start.__class__
        if (
            depth >= MAX_DEPTH
            or start.anchor is not None
            or start.tag not in _COLLECTION_TAGS[kind]
        ):
            raise _Unusual
        get = self.get_event
        if kind is _SequenceStart:
            items = []
            while (event := get()).__class__ is not _SequenceEnd:
                items.append(self.value(event, depth + 1))
            return items
        mapping: dict[str, Any] = {}
        while (key := get()).__class__ is not _MappingEnd:
            if key.__class__ is not _Scalar or key.anchor is not None:
                raise _Unusual
            name = key.value
            if name in mapping or (name == "<<" and not key.style):
                raise _Unusual
            mapping[name] = self.value(get(), depth + 1)
        return mapping

    def value(self, event: Any, depth: int) -> Any:
        kind = event.__class__
        if kind is _Scalar:
            if event.anchor is not None or event.tag not in _STR_TAGS:
                raise _Unusual
            return _scalar_value(event)
        if kind is _Alias:
            raise _Unusual
        return self.collection(event, depth)


def load(source: SourceFile) -> tuple[LoadedSpec | None, list[Diagnostic]]:
    """Parse one spec file; every problem is returned as a diagnostic, never raised."""
    loader = _DataLoader(source.text)
    try:
        return LoadedSpec(source, loader.document()), []
    except (_Unusual, yaml.YAMLError):
        return _compose(source)  # the tracking pass says what is wrong, and where
    finally:
        loader.dispose()


def _track(source: SourceFile) -> Positions:
    """The positions in a text that `load` read without a problem."""
    loader = SpecLoader(source)
    try:
        loader.compose_document_data()
    finally:
        loader.dispose()
    return Positions(loader.values, loader.keys, loader.plain_text)


def _compose(source: SourceFile) -> tuple[LoadedSpec | None, list[Diagnostic]]:
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
    positions = Positions(loader.values, loader.keys, loader.plain_text)
    return LoadedSpec(source, data, positions), []


def _syntax_error(source: SourceFile, exc: yaml.MarkedYAMLError) -> Diagnostic:
    from compiler.yaml_errors import explain  # only once a parse has failed

    found = explain(source.text, exc)
    where = Location(source.path, found.line, found.column)
    return error("YAML001", found.message, where, found.hint)
