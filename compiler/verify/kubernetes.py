"""Kubernetes verifiers: every object in a manifest checked the way a cluster would check it.

`k8s`: built-in kinds against the strict schemas kubernetes-validate ships for
KUBERNETES_VERSION (unknown fields are errors, as with `kubernetes-validate --strict`); any other
kind is a custom resource and is checked as `crd` checks it.
`crd`: custom resources against the openAPIV3Schema of their CRD, from the --crd-dir paths or,
for a kind those do not define, the CRD schemas shipped with specops (compiler.verify.crds).

A kind with no schema is added to VerifyContext.unverified, so the CLI can say what went
unchecked. Both verifiers also check object metadata as the API server does (name, namespace,
label and annotation syntax), which neither kind of schema covers: a label value YAML read as a
bool, or a hash too long for a label, fails here rather than at sync time.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import cached_property
from typing import TYPE_CHECKING, Any

import yaml

from compiler.diagnostics import Diagnostic, Location, error
from compiler.verify import VerifyContext, file_location, verifier
from compiler.verify.crd import CrdIndex, load_index
from compiler.verify.documents import load_documents

if TYPE_CHECKING:
    from compiler.render import RenderedFile

KUBERNETES_VERSION = "1.35"  # the newest schemas kubernetes-validate has at or below this
MAX_FINDINGS = 20  # per object: the first few say enough
_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

Path_ = tuple[str | int, ...]
Finding = tuple[str, Path_, str]  # (code, path inside the object, message)
Checked = tuple[list[Finding], str] | None  # findings and what they were checked against


@verifier("k8s")
def verify_kubernetes(file: RenderedFile, context: VerifyContext) -> list[Diagnostic]:
    """Built-in kinds against Kubernetes' own schemas (strict); other kinds against their CRD."""
    return _verify(file, context, builtin=True)


@verifier("crd")
def verify_custom_resources(file: RenderedFile, context: VerifyContext) -> list[Diagnostic]:
    """Custom resources against the openAPIV3Schema of their CRD (--crd-dir, else shipped)."""
    return _verify(file, context, builtin=False)


def _verify(file: RenderedFile, context: VerifyContext, *, builtin: bool) -> list[Diagnostic]:
    try:
        documents = load_documents(file.content)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = file_location(file, mark.line + 1, mark.column + 1) if mark else file_location(file)
        return [error("K8S001", f"manifest does not parse: {exc.problem}", where)]
    diagnostics: list[Diagnostic] = []
    locator = _Locator(file)
    for index, document in enumerate(documents):
        if document is not None:
            findings, source = _check(context, document, builtin=builtin)
            diagnostics += [locator.diagnostic(index, document, f, source) for f in findings]
    return _new_crd_problems(context) + diagnostics


def _check(context: VerifyContext, document: Any, *, builtin: bool) -> tuple[list[Finding], str]:
    if not isinstance(document, dict):
        return [("K8S002", (), "a Kubernetes object must be a mapping")], ""
    api_version, kind = document.get("apiVersion"), document.get("kind")
    if not (isinstance(api_version, str) and api_version and isinstance(kind, str) and kind):
        return [("K8S002", (), "a Kubernetes object needs apiVersion and kind")], ""
    findings = list(_metadata_findings(document))
    checked = _core_findings(context, document) if builtin and is_builtin(api_version) else None
    if checked is None:
        checked = _crd_findings(context, document)
    if checked is None:
        reason = (
            "kubernetes-validate is not installed"
            if builtin and is_builtin(api_version)
            else "no CRD for it; pass --crd-dir"
        )
        context.unverified.add(f"{kind} ({api_version}): {reason}")
        return findings, ""
    schema_findings, source = checked
    return (findings + schema_findings)[:MAX_FINDINGS], source


def is_builtin(api_version: str) -> bool:
    """Kubernetes' own API groups have no dot (`apps`, `policy`) or end in `.k8s.io`."""
    group = api_version.rpartition("/")[0]
    return "." not in group or group.endswith(".k8s.io")


# --- built-in kinds -------------------------------------------------------------------------


class CoreSchemas:
    """kubernetes-validate's strict schemas for one Kubernetes version, loaded once per run.

    Its `validate()` re-reads the 1.5 MB definitions file on every call; this keeps one
    reference registry and one validator per kind instead, with the same schemas and the same
    draft 2020-12 validation.
    """

    def __init__(self) -> None:
        from kubernetes_validate import utils

        wanted = _version_key(KUBERNETES_VERSION)
        available = [v for v in utils.all_versions() if _version_key(v) <= wanted]
        self.version = available[-1] if available else utils.latest_version()
        self._folder = f"kubernetes-json-schema/v{self.version}-local-strict"
        self._validators: dict[tuple[str, str], Any] = {}

    def validator(self, api_version: str, kind: str) -> Any:
        """The validator for a kind, or None when Kubernetes has no such kind at this version."""
        key = (api_version, kind)
        if key not in self._validators:
            self._validators[key] = self._build(api_version, kind)
        return self._validators[key]

    @cached_property
    def _registry(self) -> Any:
        from kubernetes_validate import utils
        from referencing import Registry, Resource

        definitions = utils.schema_contents(f"{self._folder}/_definitions.json", self.version)
        return Resource.from_contents(definitions) @ Registry()

    def _build(self, api_version: str, kind: str) -> Any:
        from jsonschema import Draft202012Validator
        from kubernetes_validate import utils
        from referencing import Resource

        group_version = re.sub(r"^([^./]*)(?:\.[^/]*)?/", r"\1-", api_version)
        name = f"{self._folder}/{kind.lower()}-{group_version}.json"
        try:
            schema = utils.schema_contents(name, self.version)
        except FileNotFoundError:
            return None
        registry = Resource.from_contents(schema) @ self._registry
        return Draft202012Validator(schema, registry=registry)


def _version_key(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split(".")[:2])


def _core_findings(context: VerifyContext, document: dict[str, Any]) -> Checked:
    schemas = context.cache.get("kubernetes.core")
    if schemas is None:
        try:
            schemas = CoreSchemas()
        except ImportError:
            schemas = False  # not installed: built-in kinds go unverified, with a note
        context.cache["kubernetes.core"] = schemas
    if not isinstance(schemas, CoreSchemas):
        return None
    validator = schemas.validator(document["apiVersion"], document["kind"])
    if validator is None:
        return None
    source = f"Kubernetes {schemas.version} schema (kubernetes-validate, strict)"
    return _schema_findings("K8S004", validator, document), source


def _schema_findings(code: str, validator: Any, document: dict[str, Any]) -> list[Finding]:
    errors = sorted(validator.iter_errors(document), key=lambda e: [str(p) for p in e.path])
    return [(code, tuple(e.absolute_path), e.message) for e in errors[:MAX_FINDINGS]]


# --- custom resources -----------------------------------------------------------------------


def crd_index(context: VerifyContext) -> CrdIndex:
    """The CRDs under context.crd_dirs and the shipped ones, indexed once per run."""
    index = context.cache.get("kubernetes.crds")
    if not isinstance(index, CrdIndex):
        index = load_index(context.crd_dirs)
        context.cache["kubernetes.crds"] = index
    return index


def _new_crd_problems(context: VerifyContext) -> list[Diagnostic]:
    """The CRD problems not reported yet: each is reported once per run."""
    problems = crd_index(context).problems
    reported = context.cache.get("kubernetes.crd-problems-reported", 0)
    assert isinstance(reported, int)
    context.cache["kubernetes.crd-problems-reported"] = len(problems)
    return [
        error("K8S007", f"cannot read CRDs: {problem}", Location(path), hint)
        for path, problem, hint in problems[reported:]
    ]


def _crd_findings(context: VerifyContext, document: dict[str, Any]) -> Checked:
    index = crd_index(context)
    group, _, version = document["apiVersion"].rpartition("/")
    crd = index.lookup(group, document["kind"])
    if crd is None:
        return None
    source = crd.source
    if version not in crd.schemas:
        served = ", ".join(sorted(crd.schemas)) or "none"
        message = f"the CRD serves no version {version!r} (served: {served})"
        return [("K8S006", ("apiVersion",), message)], source
    if crd.schemas[version] is None:
        return None  # a CRD without a schema accepts anything: nothing to verify against
    validator = index.validator(crd, version)
    return _schema_findings("K8S005", validator, document), source


# --- metadata -------------------------------------------------------------------------------

_DNS_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
_DNS_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
_NAME_PART = re.compile(r"([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]")
MAX_ANNOTATIONS_BYTES = 256 * 1024


def _metadata_findings(document: dict[str, Any]) -> Iterator[Finding]:
    metadata = document.get("metadata")
    if not isinstance(metadata, dict):
        yield "K8S003", ("metadata",), "metadata must be a mapping with a name"
        return
    name, namespace = metadata.get("name"), metadata.get("namespace")
    if not _matches(_DNS_SUBDOMAIN, name, 253):
        yield "K8S003", ("metadata", "name"), f"name {name!r} is not a DNS-1123 subdomain"
    if namespace is not None and not _matches(_DNS_LABEL, namespace, 63):
        yield "K8S003", ("metadata", "namespace"), f"namespace {namespace!r} is not a DNS label"
    for field in ("labels", "annotations"):
        entries = metadata.get(field)
        if entries is not None and not isinstance(entries, dict):
            yield "K8S003", ("metadata", field), f"{field} must be a mapping"
        for key, value in (entries or {}).items() if isinstance(entries, dict) else ():
            problem = _key_problem(key) or _value_problem(field, value)
            if problem:
                yield "K8S003", ("metadata", field, key), f"{field[:-1]} {key!r}: {problem}"
    yield from _annotations_size(metadata.get("annotations"))


def _matches(pattern: re.Pattern[str], value: Any, limit: int) -> bool:
    return isinstance(value, str) and len(value) <= limit and bool(pattern.fullmatch(value))


def _key_problem(key: Any) -> str | None:
    """A qualified name: an optional DNS subdomain prefix and '/', then a name of <= 63."""
    if not isinstance(key, str):
        return f"the key must be a string, not {type(key).__name__}"
    prefix, _, name = key.rpartition("/")
    if prefix and not _matches(_DNS_SUBDOMAIN, prefix, 253):
        return "the key's prefix is not a DNS-1123 subdomain"
    if not _matches(_NAME_PART, name, 63):
        return "the key's name must be 1-63 alphanumerics, '-', '_' or '.' (alphanumeric ends)"
    return None


def _value_problem(field: str, value: Any) -> str | None:
    if not isinstance(value, str):
        return f"the value must be a string, not {type(value).__name__} {value!r}"
    if field == "labels" and value and not _matches(_NAME_PART, value, 63):
        return (
            f"{value!r} is not a label value (at most 63 alphanumerics, '-', '_' or '.', "
            "alphanumeric at the ends); put it in an annotation"
        )
    return None


def _annotations_size(annotations: Any) -> Iterator[Finding]:
    if isinstance(annotations, dict):
        size = sum(len(str(k).encode()) + len(str(v).encode()) for k, v in annotations.items())
        if size > MAX_ANNOTATIONS_BYTES:
            message = f"annotations total {size} bytes, more than 256 KiB"
            yield "K8S003", ("metadata", "annotations"), message


# --- locations ------------------------------------------------------------------------------


class _Locator:
    """Finds the line of a path inside a rendered file; composes the YAML only on a finding."""

    def __init__(self, file: RenderedFile) -> None:
        self.file = file

    @cached_property
    def _nodes(self) -> list[Any]:
        try:
            return list(yaml.compose_all(self.file.content, Loader=_LOADER))
        except yaml.YAMLError:  # pragma: no cover - the file parsed a moment ago
            return []

    def diagnostic(self, index: int, document: Any, finding: Finding, source: str) -> Diagnostic:
        code, path, message = finding
        line, column = self._position(index, path)
        kind = document.get("kind", "object") if isinstance(document, dict) else "object"
        name = _object_name(document)
        where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path) or "."
        return error(
            code,
            f"{kind} {name}: {where.lstrip('.') or '.'}: {message}",
            file_location(self.file, line, column),
            hint=f"checked against {source}; template {self.file.template}"
            if source
            else f"template {self.file.template}",
        )

    def _position(self, index: int, path: Path_) -> tuple[int, int]:
        node = self._nodes[index] if index < len(self._nodes) else None
        mark = node.start_mark if node is not None else None
        for part in path:
            child = _child(node, part)
            if child is None:
                break
            node, mark = child
        return (mark.line + 1, mark.column + 1) if mark is not None else (0, 0)


def _child(node: Any, part: str | int) -> tuple[Any, Any] | None:
    """The node at one path step and the mark to report: a mapping key's, a list item's."""
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            if key.value == str(part):
                return value, key.start_mark
    if isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
        return node.value[part], node.value[part].start_mark
    return None


def _object_name(document: Any) -> str:
    metadata = document.get("metadata") if isinstance(document, dict) else None
    name = metadata.get("name") if isinstance(metadata, dict) else None
    return str(name) if name is not None else "(unnamed)"
