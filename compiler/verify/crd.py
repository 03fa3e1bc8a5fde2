"""CustomResourceDefinitions: find them, load each once, validate custom resources against them.

A CRD's `openAPIV3Schema` is an OpenAPI v3 "structural schema": JSON Schema draft 4 plus the
Kubernetes extensions the API server applies. jsonschema's draft 4 validator is extended with
those (`nullable`, `x-kubernetes-int-or-string`, `x-kubernetes-preserve-unknown-fields`,
`x-kubernetes-embedded-resource`) and with the API server's pruning turned into errors: a field
no schema declares would be dropped silently by the cluster, so it is reported as unknown.
The schema itself is never converted or copied (the KServe CRD is about 2 MB): validation only
visits the subschemas an instance reaches. CEL rules (`x-kubernetes-validations`) are not run.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

CRD_SUFFIXES = frozenset({".yaml", ".yml", ".json"})
_IMPLICIT_FIELDS = {"apiVersion": {"type": "string"}, "kind": {"type": "string"}}
_OPEN_OBJECT = {"type": "object", "x-kubernetes-preserve-unknown-fields": True}


@dataclass(frozen=True, slots=True)
class Crd:
    path: str
    group: str
    kind: str
    schemas: dict[str, Any]  # served version name -> openAPIV3Schema (None: the CRD has none)


@dataclass
class CrdIndex:
    """Every CRD under the --crd-dir paths, by (group, kind); the first path to define one wins."""

    crds: dict[tuple[str, str], Crd] = field(default_factory=dict)
    problems: list[tuple[str, str]] = field(default_factory=list)  # (file, what went wrong)
    _validators: dict[tuple[str, str, str], Any] = field(default_factory=dict)

    def validator(self, crd: Crd, version: str) -> Any:
        """A jsonschema validator for one served version, built on first use."""
        key = (crd.group, crd.kind, version)
        if key not in self._validators:
            self._validators[key] = _validator_class()(_root_schema(crd.schemas[version]))
        return self._validators[key]


def load_index(paths: Iterable[Path]) -> CrdIndex:
    index = CrdIndex()
    for path in paths:
        if not path.exists():
            index.problems.append((str(path), "no such file or directory"))
            continue
        files = [path] if path.is_file() else sorted(_crd_files(path))
        for file in files:
            _load_file(index, file)
    return index


def _crd_files(directory: Path) -> Iterator[Path]:
    return (p for p in directory.rglob("*") if p.suffix in CRD_SUFFIXES and p.is_file())


def _load_file(index: CrdIndex, file: Path) -> None:
    try:
        documents = load_documents(file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        index.problems.append((str(file), f"cannot read: {exc}"))
        return
    for document in documents:
        # `kubectl get crd -o yaml` writes a List of them
        items = document.get("items") if _is(document, "List") else [document]
        for item in items or ():
            if _is(item, "CustomResourceDefinition"):
                _add(index, file, item)


def _is(document: Any, kind: str) -> bool:
    return isinstance(document, dict) and document.get("kind") == kind


def _add(index: CrdIndex, file: Path, crd: dict[str, Any]) -> None:
    spec = crd.get("spec") or {}
    names = spec.get("names") or {}
    group, kind = spec.get("group"), names.get("kind")
    if crd.get("apiVersion") != "apiextensions.k8s.io/v1" or not (group and kind):
        index.problems.append((str(file), "not an apiextensions.k8s.io/v1 CRD with group and kind"))
        return
    schemas = {
        version["name"]: (version.get("schema") or {}).get("openAPIV3Schema")
        for version in spec.get("versions") or ()
        if isinstance(version, dict) and version.get("served", True)
    }
    index.crds.setdefault((group, kind), Crd(str(file), group, kind, schemas))


def _root_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """The API server checks apiVersion, kind and metadata itself, whatever the schema says."""
    properties = {**_IMPLICIT_FIELDS, **schema.get("properties", {}), "metadata": _OPEN_OBJECT}
    return {**schema, "properties": properties}


# --- validation ---------------------------------------------------------------------------


def _allows_unknown(schema: dict[str, Any]) -> bool:
    return bool(schema.get("x-kubernetes-preserve-unknown-fields")) or (
        "additionalProperties" in schema
    )


def _unknown_fields(schema: dict[str, Any], instance: dict[str, Any]) -> Iterator[Any]:
    from jsonschema import ValidationError

    known = schema.get("properties", {})
    embedded = schema.get("x-kubernetes-embedded-resource")
    for key in instance:
        if key not in known and not (embedded and key in ("apiVersion", "kind", "metadata")):
            yield ValidationError(f"unknown field {key!r}", path=[key])


@functools.lru_cache(maxsize=2048)
def _regex(pattern: str) -> re.Pattern[str] | None:
    """Go's RE2 accepts inline flags anywhere (`^(?i)(abort|warn)?$`); Python wants them first."""
    try:
        return re.compile(pattern)
    except re.error:
        flags = "".join(re.findall(r"\(\?([aiLmsux]+)\)", pattern))
        stripped = re.sub(r"\(\?[aiLmsux]+\)", "", pattern)
        try:
            return re.compile(f"(?{flags}){stripped}" if flags else stripped)
        except re.error:
            return None  # a pattern Python cannot read is not checked rather than misread


@functools.cache
def _validator_class() -> Any:
    from jsonschema import Draft4Validator, ValidationError, validators

    base = Draft4Validator.VALIDATORS

    def type_(validator: Any, types: Any, instance: Any, schema: dict[str, Any]) -> Iterator[Any]:
        if instance is None and schema.get("nullable"):
            return
        yield from base["type"](validator, types, instance, schema)
        closed_object = types == "object" and "properties" not in schema
        if closed_object and isinstance(instance, dict) and not _allows_unknown(schema):
            yield from _unknown_fields(schema, instance)

    def enum(validator: Any, enums: Any, instance: Any, schema: dict[str, Any]) -> Iterator[Any]:
        if not (instance is None and schema.get("nullable")):
            yield from base["enum"](validator, enums, instance, schema)

    def properties(validator: Any, props: Any, instance: Any, schema: Any) -> Iterator[Any]:
        yield from base["properties"](validator, props, instance, schema)
        if isinstance(instance, dict) and not _allows_unknown(schema):
            yield from _unknown_fields(schema, instance)

    def int_or_string(validator: Any, on: Any, instance: Any, schema: Any) -> Iterator[Any]:
        if not on or "anyOf" in schema or (instance is None and schema.get("nullable")):
            return
        if isinstance(instance, bool) or not isinstance(instance, int | str):
            yield ValidationError(f"{instance!r} is not an integer or a string")

    def pattern(validator: Any, text: str, instance: Any, schema: Any) -> Iterator[Any]:
        regex = _regex(text)
        if isinstance(instance, str) and regex is not None and not regex.search(instance):
            yield ValidationError(f"{instance!r} does not match {text!r}")

    return validators.extend(
        Draft4Validator,
        {
            "type": type_,
            "enum": enum,
            "properties": properties,
            "pattern": pattern,
            "x-kubernetes-int-or-string": int_or_string,
        },
    )


# --- fast YAML ----------------------------------------------------------------------------

_STR = "tag:yaml.org,2002:str"
_resolver = yaml.resolver.Resolver()
_constructor = yaml.constructor.SafeConstructor()


class _NeedsFullLoader(Exception):
    """Anchors, aliases or explicit tags: leave those to the safe loader."""


def load_documents(text: str) -> list[Any]:
    """Every document of a YAML stream, as the safe loader reads it.

    Built straight from libyaml's parse events, which is about three times faster than the safe
    constructor on a 2 MB CRD; streams with anchors, aliases or tags use the safe loader.
    Raises yaml.YAMLError for invalid YAML.
    """
    loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        return _from_events(loader(text))
    except _NeedsFullLoader:
        return list(yaml.load_all(text, Loader=loader))


def _from_events(parser: Any) -> list[Any]:
    documents: list[Any] = []
    stack: list[Any] = []  # open containers
    keys: list[Any] = []  # per open container: the mapping key awaiting its value
    while True:
        event = parser.get_event()
        kind = type(event)
        if kind is yaml.ScalarEvent:
            value = event.value if event.style else _plain(event)
        elif kind is yaml.MappingStartEvent or kind is yaml.SequenceStartEvent:
            if event.anchor or (event.tag and not event.implicit):
                raise _NeedsFullLoader
            value = {} if kind is yaml.MappingStartEvent else []
        elif kind is yaml.MappingEndEvent or kind is yaml.SequenceEndEvent:
            stack.pop()
            keys.pop()
            continue
        elif kind is yaml.StreamEndEvent:
            return documents
        elif kind is yaml.AliasEvent:
            raise _NeedsFullLoader
        else:
            continue
        _attach(documents, stack, keys, value)
        if type(value) is dict or type(value) is list:
            stack.append(value)
            keys.append(_NO_KEY)


_NO_KEY = object()


def _attach(documents: list[Any], stack: list[Any], keys: list[Any], value: Any) -> None:
    if not stack:
        documents.append(value)
    elif type(stack[-1]) is list:
        stack[-1].append(value)
    elif keys[-1] is not _NO_KEY:
        stack[-1][keys[-1]] = value
        keys[-1] = _NO_KEY
    elif isinstance(value, dict | list):
        raise _NeedsFullLoader  # a complex mapping key
    else:
        keys[-1] = value


def _plain(event: Any) -> Any:
    if event.anchor or (event.tag and not event.implicit[0]):
        raise _NeedsFullLoader
    return _resolve_plain(event.value)


@functools.lru_cache(maxsize=4096)
def _resolve_plain(text: str) -> Any:
    """A plain scalar as the safe loader resolves it (keys and types repeat: cached)."""
    tag: str = _resolver.resolve(yaml.ScalarNode, text, (True, False))  # type: ignore[no-untyped-call]
    if tag == _STR or tag.endswith(":timestamp"):  # JSON has no dates; kubectl sends text
        return text
    return _constructor.yaml_constructors[tag](_constructor, yaml.ScalarNode(tag, text))
