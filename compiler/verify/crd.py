"""CustomResourceDefinitions: find them, load each once, validate custom resources against them.

A CRD's `openAPIV3Schema` is an OpenAPI v3 "structural schema": JSON Schema draft 4 plus the
Kubernetes extensions the API server applies. jsonschema's draft 4 validator is extended with
those (`nullable`, `x-kubernetes-int-or-string`, `x-kubernetes-preserve-unknown-fields`,
`x-kubernetes-embedded-resource`) and with the API server's pruning turned into errors: a field
no schema declares would be dropped silently by the cluster, so it is reported as unknown.
The schema itself is never converted or copied (the KServe CRD is about 2 MB): validation only
visits the subschemas an instance reaches. CEL rules (`x-kubernetes-validations`) are not run.

The CRDs come from the --crd-dir paths, then from the schemas shipped with specops
(compiler.verify.crds) for any kind those paths do not define: the user's cluster CRDs win.
A shipped kind's schemas are read on its first lookup.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from compiler.verify.crds import BuiltinCrd, BuiltinDataError
from compiler.verify.crds import builtin_index as _builtin_index
from compiler.verify.crds import load_schemas as _load_builtin
from compiler.verify.documents import load_documents

CRD_SUFFIXES = frozenset({".yaml", ".yml", ".json"})
_IMPLICIT_FIELDS = {"apiVersion": {"type": "string"}, "kind": {"type": "string"}}
_OPEN_OBJECT = {"type": "object", "x-kubernetes-preserve-unknown-fields": True}


CRD_DIR_HINT = "check --crd-dir"
BROKEN_INSTALL_HINT = "the specops installation is damaged: reinstall it, or pass --crd-dir"


@dataclass(frozen=True, slots=True)
class Crd:
    source: str  # what diagnostics say it is: `CRD <file>`, or the built-in CRD and its pin
    group: str
    kind: str
    schemas: dict[str, Any]  # served version name -> openAPIV3Schema (None: the CRD has none)


@dataclass
class CrdIndex:
    """Every CRD under the --crd-dir paths, by (group, kind); the first path to define one wins.
    `builtin` holds the shipped CRDs not read yet, for the kinds no path defines."""

    crds: dict[tuple[str, str], Crd] = field(default_factory=dict)
    problems: list[tuple[str, str, str]] = field(default_factory=list)  # (file, problem, hint)
    builtin: dict[tuple[str, str], BuiltinCrd] = field(default_factory=dict)
    _validators: dict[tuple[str, str, str], Any] = field(default_factory=dict)

    def lookup(self, group: str, kind: str) -> Crd | None:
        """The CRD of a kind: from --crd-dir, else the shipped one (read now, once)."""
        key = (group, kind)
        entry = self.builtin.pop(key, None) if key not in self.crds else None
        if entry is not None:
            try:
                schemas = _load_builtin(entry)
            except BuiltinDataError as exc:
                self.problems.append((str(exc.file), str(exc), BROKEN_INSTALL_HINT))
                return None
            self.crds[key] = Crd(entry.source, group, kind, schemas)
        return self.crds.get(key)

    def validator(self, crd: Crd, version: str) -> Any:
        """A jsonschema validator for one served version, built on first use."""
        key = (crd.group, crd.kind, version)
        if key not in self._validators:
            self._validators[key] = _validator_class()(_root_schema(crd.schemas[version]))
        return self._validators[key]


def load_index(paths: Iterable[Path], *, builtin: bool = True) -> CrdIndex:
    """The CRDs under paths, and (unless builtin is false) the shipped ones behind them."""
    index = CrdIndex()
    for path in paths:
        if not path.exists():
            index.problems.append((str(path), "no such file or directory", CRD_DIR_HINT))
            continue
        files = [path] if path.is_file() else sorted(_crd_files(path))
        for file in files:
            _load_file(index, file)
    if builtin:
        try:
            shipped = _builtin_index()
        except BuiltinDataError as exc:
            index.problems.append((str(exc.file), str(exc), BROKEN_INSTALL_HINT))
            shipped = ()
        index.builtin = {
            (e.group, e.kind): e for e in shipped if (e.group, e.kind) not in index.crds
        }
    return index


def _crd_files(directory: Path) -> Iterator[Path]:
    return (p for p in directory.rglob("*") if p.suffix in CRD_SUFFIXES and p.is_file())


def _load_file(index: CrdIndex, file: Path) -> None:
    try:
        documents = load_documents(file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        index.problems.append((str(file), f"cannot read: {exc}", CRD_DIR_HINT))
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
        problem = "not an apiextensions.k8s.io/v1 CRD with group and kind"
        index.problems.append((str(file), problem, CRD_DIR_HINT))
        return
    schemas = {
        version["name"]: (version.get("schema") or {}).get("openAPIV3Schema")
        for version in spec.get("versions") or ()
        if isinstance(version, dict) and version.get("served", True)
    }
    index.crds.setdefault((group, kind), Crd(f"CRD {file}", group, kind, schemas))


def _root_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """The API server checks apiVersion, kind and metadata itself, whatever the schema says."""
    properties = {**_IMPLICIT_FIELDS, **schema.get("properties", {}), "metadata": _OPEN_OBJECT}
    return {**schema, "properties": properties}


# --- validation ---------------------------------------------------------------------------


def _allows_unknown(schema: dict[str, Any]) -> bool:
    """Whether fields beyond `properties` are kept: preserved, or a map of some value schema."""
    extra = schema.get("additionalProperties", False)
    return bool(schema.get("x-kubernetes-preserve-unknown-fields")) or extra is not False


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


# A scalar under a schema of only these keywords is checked inline, with the messages jsonschema
# gives: a jsonschema descend per leaf is most of the cost of validating a manifest.
_LEAF_KEYWORDS = frozenset({"type", "format", "description", "title", "default", "example",
                            "enum", "pattern", "nullable", "minLength", "maxLength", "minimum",
                            "maximum", "exclusiveMinimum", "exclusiveMaximum"})  # fmt: skip
_SCALARS = (str, int, float, bool, type(None))
_INT_OR_STRING = [{"type": "integer"}, {"type": "string"}]
_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,), "integer": (int,), "number": (int, float), "boolean": (bool,),
    "object": (dict,), "array": (list,), "null": (type(None),),
}  # fmt: skip


def _is_type(value: Any, kind: str) -> bool:
    if isinstance(value, bool) and kind != "boolean":
        return False
    return isinstance(value, _TYPES.get(kind, object))


def _is_leaf(schema: dict[str, Any]) -> bool:
    keys = schema.keys()
    if keys <= _LEAF_KEYWORDS:
        return True
    return (
        bool(schema.get("x-kubernetes-int-or-string"))
        and keys <= _LEAF_KEYWORDS | {"x-kubernetes-int-or-string", "anyOf"}
        and schema.get("anyOf", _INT_OR_STRING) == _INT_OR_STRING
    )


def leaf_problem(schema: dict[str, Any], value: Any) -> str | None:
    """What is wrong with a scalar under a leaf schema (draft 4 plus `nullable` and
    `x-kubernetes-int-or-string`), if anything."""
    if value is None and schema.get("nullable"):
        return None
    integer_or_string = _is_type(value, "integer") or isinstance(value, str)
    if schema.get("x-kubernetes-int-or-string") and not integer_or_string:
        return f"{value!r} is not an integer or a string"
    kind = schema.get("type")
    if kind is not None and not _is_type(value, kind):
        return f"{value!r} is not of type {kind!r}"
    enum = schema.get("enum")
    if enum is not None and not any(type(value) is type(e) and value == e for e in enum):
        return f"{value!r} is not one of {enum!r}"
    if isinstance(value, str):
        return _string_problem(schema, value)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return _number_problem(schema, value)
    return None


def _string_problem(schema: dict[str, Any], value: str) -> str | None:
    regex = _regex(schema["pattern"]) if "pattern" in schema else None
    if regex is not None and not regex.search(value):
        return f"{value!r} does not match {schema['pattern']!r}"
    if len(value) < schema.get("minLength", 0):
        return f"{value!r} is too short"
    if "maxLength" in schema and len(value) > schema["maxLength"]:
        return f"{value!r} is too long"
    return None


def _number_problem(schema: dict[str, Any], value: float) -> str | None:
    if "minimum" in schema:
        low, exclusive = schema["minimum"], schema.get("exclusiveMinimum", False)
        if value < low or (exclusive and value == low):
            return f"{value!r} is less than {_or_equal(exclusive)}the minimum of {low!r}"
    if "maximum" in schema:
        high, exclusive = schema["maximum"], schema.get("exclusiveMaximum", False)
        if value > high or (exclusive and value == high):
            return f"{value!r} is greater than {_or_equal(exclusive)}the maximum of {high!r}"
    return None


def _or_equal(exclusive: bool) -> str:
    return "or equal to " if exclusive else ""


@functools.cache
def _validator_class() -> Any:
    from jsonschema import Draft4Validator, validators

    return validators.extend(Draft4Validator, _Keywords().table())


class _Keywords:
    """The draft 4 keywords that structural schemas change, as jsonschema keyword functions."""

    def __init__(self) -> None:
        from jsonschema import Draft4Validator, ValidationError

        self.base = Draft4Validator.VALIDATORS
        self.error = ValidationError

    def table(self) -> dict[str, Any]:
        return {
            "type": self.type,
            "enum": self.enum,
            "properties": self.properties,
            "additionalProperties": self.additional,
            "items": self.items,
            "pattern": self.pattern,
            "x-kubernetes-int-or-string": self.int_or_string,
        }

    def type(self, validator: Any, types: Any, instance: Any, schema: Any) -> Iterator[Any]:
        if instance is None and schema.get("nullable"):
            return
        yield from self.base["type"](validator, types, instance, schema)
        closed_object = types == "object" and "properties" not in schema
        if closed_object and isinstance(instance, dict) and not _allows_unknown(schema):
            yield from self.unknown_fields(schema, instance)

    def enum(self, validator: Any, enums: Any, instance: Any, schema: Any) -> Iterator[Any]:
        if not (instance is None and schema.get("nullable")):
            yield from self.base["enum"](validator, enums, instance, schema)

    def properties(self, validator: Any, props: Any, instance: Any, schema: Any) -> Iterator[Any]:
        if not isinstance(instance, dict):
            return
        for key, value in instance.items():
            if key in props:
                yield from self.child(validator, value, props[key], key)
        if not _allows_unknown(schema):
            yield from self.unknown_fields(schema, instance)

    def additional(self, validator: Any, extra: Any, instance: Any, schema: Any) -> Iterator[Any]:
        if not isinstance(extra, dict) or not isinstance(instance, dict):
            return  # a boolean: `properties` reports unknown fields, or allows them all
        known = schema.get("properties", {})
        for key, value in instance.items():
            if key not in known:
                yield from self.child(validator, value, extra, key)

    def items(self, validator: Any, each: Any, instance: Any, schema: Any) -> Iterator[Any]:
        if not isinstance(each, dict) or not isinstance(instance, list):
            yield from self.base["items"](validator, each, instance, schema)
            return
        for index, value in enumerate(instance):
            yield from self.child(validator, value, each, index)

    def child(self, validator: Any, value: Any, schema: Any, at: str | int) -> Iterator[Any]:
        """One property or item: a scalar under a leaf schema inline, anything else by descent."""
        if isinstance(value, _SCALARS) and _is_leaf(schema):
            problem = leaf_problem(schema, value)
            if problem:
                yield self.error(problem, path=[at])
        else:
            yield from validator.descend(value, schema, path=at)

    def unknown_fields(self, schema: Any, instance: dict[str, Any]) -> Iterator[Any]:
        known = schema.get("properties", {})
        embedded = schema.get("x-kubernetes-embedded-resource")
        for key in instance:
            if key not in known and not (embedded and key in ("apiVersion", "kind", "metadata")):
                yield self.error(f"unknown field {key!r}", path=[key])

    def int_or_string(self, validator: Any, on: Any, instance: Any, schema: Any) -> Iterator[Any]:
        if not on or "anyOf" in schema or (instance is None and schema.get("nullable")):
            return  # an anyOf of integer and string says it already
        if not (_is_type(instance, "integer") or isinstance(instance, str)):
            yield self.error(f"{instance!r} is not an integer or a string")

    def pattern(self, validator: Any, text: str, instance: Any, schema: Any) -> Iterator[Any]:
        problem = (
            _string_problem({"pattern": text}, instance) if isinstance(instance, str) else None
        )
        if problem:
            yield self.error(problem)
