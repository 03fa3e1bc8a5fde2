"""Layers and their merge rules, declared once.

A layer is plain data in the shape of the document being built (the spec, or one environment)
plus a way back to where each value was written. Layers merge lowest first; a field's rule says
how a higher layer combines with what is below it:

- replace: the highest layer that sets the field wins, whole (the rule for every field not
  listed below);
- deep: mappings merge key by key, each key by its own rule;
- by_key: lists of mappings merge by an identifying key; an item from a higher layer replaces the
  lower item with the same key, new items follow in order.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from compiler.diagnostics import JsonPath, Location
from compiler.loader import LoadedSpec

Strategy = Literal["replace", "deep", "by_key"]
MISSING: Any = object()


@dataclass(frozen=True, slots=True)
class MergeRule:
    path: str  # dotted field names; list items are not addressed
    strategy: Strategy
    key: str | None = None
    why: str = ""


SPEC_RULES: tuple[MergeRule, ...] = (
    MergeRule("metadata.labels", "deep", why="platform labels plus the spec's; the spec wins"),
    MergeRule("model.resources", "deep", why="cpu, memory and gpu are chosen independently"),
    MergeRule("model.resources.gpu", "replace", why="a GPU count and type belong together"),
    MergeRule("model.node_selector", "deep", why="the spec adds or overrides single labels"),
    MergeRule(
        "model.tolerations", "by_key", key="key", why="the spec replaces a toleration by its key"
    ),
    MergeRule("deploy", "deep", why="the platform gives runtime and model_uri, the spec the rest"),
)
ENVIRONMENT_RULES: tuple[MergeRule, ...] = (
    MergeRule("replicas", "deep", why="min and max are chosen independently"),
    MergeRule("autoscaling", "deep", why="metric and target are chosen independently"),
    MergeRule("resources", "deep", why="cpu, memory and gpu are chosen independently"),
    MergeRule("resources.gpu", "replace", why="a GPU count and type belong together"),
    MergeRule(
        "batch",
        "deep",
        why="the platform gives batch resources, the spec the rest; only an "
        "environment whose spec entry sets batch scores in batch",
    ),
    MergeRule("batch.resources", "deep", why="cpu and memory are chosen independently"),
)


class RuleBook:
    """Looks up the rule of a path; containers on the way to a declared rule merge deeply."""

    def __init__(self, rules: Sequence[MergeRule]) -> None:
        self.rules = {rule.path: rule for rule in rules}

    def rule(self, path: JsonPath) -> MergeRule:
        dotted = dotted_fields(path)
        declared = self.rules.get(dotted)
        if declared is not None:
            return declared
        if not dotted or any(name.startswith(dotted + ".") for name in self.rules):
            return MergeRule(dotted, "deep")
        return MergeRule(dotted, "replace")


def dotted_fields(path: JsonPath) -> str:
    return ".".join(part for part in path if isinstance(part, str))


# --- layers ----------------------------------------------------------------------------------

Origin = Callable[[JsonPath], Location]
Mount = tuple[JsonPath, JsonPath]  # (where in the document, where in the file)


@dataclass(frozen=True, slots=True)
class Layer:
    name: str
    data: dict[str, Any]
    origin: Origin  # document path -> where the value is written


def mounted(
    name: str,
    loaded: LoadedSpec,
    mounts: Sequence[Mount],
    transform: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
) -> Layer:
    """A layer built from parts of a loaded file placed at document paths."""
    data: dict[str, Any] = {}
    for doc_prefix, file_prefix in mounts:
        value = value_at(loaded.data, file_prefix)
        if value is not MISSING:
            data = _placed(data, doc_prefix, value)
    if transform is not None:
        data = transform(data)
    ordered = sorted(mounts, key=lambda m: len(m[0]), reverse=True)

    def origin(path: JsonPath) -> Location:
        for doc_prefix, file_prefix in ordered:
            if path[: len(doc_prefix)] == doc_prefix:
                return loaded.locate((*file_prefix, *path[len(doc_prefix) :]))
        return Location(loaded.source.path)

    return Layer(name, data, origin)


def _placed(data: dict[str, Any], path: JsonPath, value: Any) -> dict[str, Any]:
    if not path:
        return dict(value) if isinstance(value, dict) else data
    head, rest = str(path[0]), path[1:]
    child = data.get(head, {})
    result = dict(data)
    result[head] = _placed(child, rest, value) if rest else value
    return result


def value_at(node: Any, path: JsonPath) -> Any:
    """The value at a path, or MISSING."""
    for part in path:
        if isinstance(node, dict) and isinstance(part, str) and part in node:
            node = node[part]
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            node = node[part]
        else:
            return MISSING
    return node


# --- merging ---------------------------------------------------------------------------------


def merge_layers(layers: Sequence[Layer], book: RuleBook) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for layer in layers:
        result = merge_value(result, layer.data, (), book)
    return result


def merge_value(base: Any, incoming: Any, path: JsonPath, book: RuleBook) -> Any:
    rule = book.rule(path)
    if rule.strategy == "deep" and isinstance(base, dict) and isinstance(incoming, dict):
        merged = dict(base)
        for key, value in incoming.items():
            child = (*path, key)
            merged[key] = merge_value(base[key], value, child, book) if key in base else value
        return merged
    if rule.strategy == "by_key" and isinstance(base, list) and isinstance(incoming, list):
        return _merge_by_key(base, incoming, rule.key or "name")
    return incoming


def _merge_by_key(base: list[Any], incoming: list[Any], key: str) -> list[Any]:
    def ident(item: Any) -> Any:
        value = item.get(key, MISSING) if isinstance(item, dict) else MISSING
        return value if isinstance(value, str | int) else MISSING

    replacements = {ident(item): item for item in incoming if ident(item) is not MISSING}
    result = [replacements.pop(ident(item), item) for item in base]
    result += [item for item in incoming if ident(item) is MISSING or ident(item) in replacements]
    return result


# --- tracing ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Contribution:
    layer: str
    value: Any
    location: Location
    overridden: bool  # a higher layer replaced this value (or a field around it) whole


def contributions(layers: Sequence[Layer], book: RuleBook, path: JsonPath) -> list[Contribution]:
    """Every layer that set a value at `path` (or inside it), lowest first."""
    found = []
    for index, layer in enumerate(layers):
        value = value_at(layer.data, path)
        if value is MISSING:
            continue
        overridden = _overridden(layers[index + 1 :], book, path, value)
        found.append(Contribution(layer.name, value, layer.origin(path), overridden))
    return found


def _overridden(later: Sequence[Layer], book: RuleBook, path: JsonPath, value: Any) -> bool:
    """Whether higher layers replaced every part of `value` (a deep mapping part by part)."""
    if book.rule(path).strategy == "deep" and isinstance(value, dict) and value:
        return all(_overridden(later, book, (*path, k), v) for k, v in value.items())
    return any(_replaces(layer, book, path) for layer in later)


def _replaces(layer: Layer, book: RuleBook, path: JsonPath) -> bool:
    for depth in range(len(path) + 1):
        prefix = path[:depth]
        found = value_at(layer.data, prefix)
        if found is MISSING:
            return False
        if book.rule(prefix).strategy != "deep":
            return True
        if depth == len(path):
            return not isinstance(found, dict)
    return False


def origin_of(layers: Sequence[Layer], path: JsonPath) -> Location | None:
    """Where the winning value at `path` was written (None: nobody set it)."""
    for layer in reversed(layers):
        if value_at(layer.data, path) is not MISSING:
            return layer.origin(path)
    return None


def describe(rule: MergeRule) -> str:
    """A rule in words: `replace`, `deep merge` or `merge list by key 'name'`."""
    if rule.strategy == "by_key":
        return f"merge list by key '{rule.key}'"
    return "deep merge" if rule.strategy == "deep" else "replace"


def iter_paths(node: Any, path: JsonPath = ()) -> Iterator[JsonPath]:
    """Every path inside plain data (used by tests and explain's field check)."""
    yield path
    if isinstance(node, dict):
        for key, value in node.items():
            yield from iter_paths(value, (*path, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from iter_paths(value, (*path, index))
