"""Per-component work that kfp repeats for every generated module, done once per run instead.

Every spec's pipeline.py defines the same lightweight components (same template, same source
text); kfp's `@dsl.component` derives each one's ComponentSpec again from the function's source
(`inspect.getsource`, which tokenizes the block in pure Python) and signature. While a module
runs, `reusing_components` answers that call from a cache keyed by the component's source text
and every value kfp reads besides it (decorator arguments, parameter defaults, annotations); a
miss runs kfp's own code. kfp's resource setters call `inspect.stack()` (a full source lookup of
every frame) only to name the setter in an error message; the same name comes from the caller's
frame at once. Both replacements are in place only while a module runs, under a lock.

The cache holds plain data keyed by content (no per-process assumptions); a worker process
builds its own.
"""

from __future__ import annotations

import ast
import copy
import hashlib
import sys
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

_LOCK = threading.RLock()
_CAPACITY = 512
_SPECS: OrderedDict[tuple[Any, ...], Any] = OrderedDict()  # key -> ComponentSpec
# Decorator arguments whose effect kfp derives from the function alone; anything else set
# (a target image, embedded files, extra functions, a component file to write) runs kfp's code.
_KEYED: tuple[str, ...] = ("base_image", "packages_to_install", "pip_index_urls")
_KEYED += ("install_kfp_package", "kfp_package_path", "pip_trusted_hosts", "use_venv")
_PLAIN = (str, int, float, bool, type(None))


class _Module:
    """The source of one running module, and the text span of each top-level statement in it.

    A statement's span runs from its first line (decorators included) to the next top-level
    statement: it holds the whole block `inspect.getsource` returns for a function defined there,
    so equal spans give equal sources. Spans seen in earlier modules are tried first: one that
    matches here, followed by a line that can only start a statement, is this statement's span
    (the tokenizer is between statements where it ends, as it was where it was found). Only a
    component not seen before costs a parse of the module.
    """

    def __init__(self, source: str, filename: str) -> None:
        self.filename = filename
        self.lines = source.splitlines(keepends=True)  # as kfp_steps registers them in linecache
        # A line break Python does not count would make line numbers disagree: no reuse then.
        self.usable = all(line.endswith("\n") for line in self.lines[:-1])
        self._parsed: dict[int, str] | None = None

    def span(self, first: int, name: str) -> str | None:
        if not self.usable or not 0 < first <= len(self.lines):
            return None
        if len(_SPANS) > _CAPACITY:
            _SPANS.clear()
        seen = _SPANS.setdefault((name, self.lines[first - 1]), [])
        for known in seen:
            if self._matches(first, known):
                return known
        span = self._statements().get(first)
        if span is not None and len(seen) < 8:
            seen.append(span)
        return span

    def _matches(self, first: int, known: str) -> bool:
        after = first - 1 + known.count("\n") + (not known.endswith("\n"))
        if after > len(self.lines) or "".join(self.lines[first - 1 : after]) != known:
            return False
        return after == len(self.lines) or self.lines[after][:1] not in _NOT_A_STATEMENT

    def _statements(self) -> dict[int, str]:
        if self._parsed is None:
            tree = ast.parse("".join(self.lines), self.filename)
            starts = [min([s.lineno, *(d.lineno for d in _decorators(s))]) for s in tree.body]
            ends = [*starts[1:], len(self.lines) + 1]
            pairs = zip(starts, ends, strict=True)
            self._parsed = {a: "".join(self.lines[a - 1 : b - 1]) for a, b in pairs}
        return self._parsed


_SPANS: dict[tuple[str, str], list[str]] = {}  # (function name, first line) -> spans seen
_NOT_A_STATEMENT = ("", " ", "\t", "\f", "#", "\n", "\r")  # what a line may start with otherwise


def _decorators(statement: ast.stmt) -> list[ast.expr]:
    if isinstance(statement, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
        return statement.decorator_list
    return []


@contextmanager
def reusing_components(source: str, filename: str) -> Iterator[None]:
    """While the module `filename` runs, kfp's component factory and task setters take the cheap
    paths."""
    from kfp.dsl import component_factory
    from kfp.dsl.pipeline_task import PipelineTask

    module = _Module(source, filename)
    original = component_factory.create_component_from_func
    ensure = PipelineTask.__dict__["_ensure_container_spec_exists"]

    def create(func: Callable[..., Any], **kwargs: Any) -> Any:
        key = _key(func, kwargs, module, component_factory)
        if key is None:
            return original(func, **kwargs)
        return _cached(key, func, lambda: original(func, **kwargs))

    with _LOCK:
        component_factory.create_component_from_func = create
        PipelineTask._ensure_container_spec_exists = _ensure_container_spec_exists
        try:
            yield
        finally:
            component_factory.create_component_from_func = original
            PipelineTask._ensure_container_spec_exists = ensure


def _ensure_container_spec_exists(self: Any) -> None:
    """kfp's check with its message, naming the caller from its frame (`inspect.stack()[1][3]`)."""
    caller_method_name = sys._getframe(1).f_code.co_name
    if self.container_spec is None:
        raise ValueError(
            f"{caller_method_name} can only be used on single-step components, not pipelines used "
            "as components, or special components like importers."
        )


def _key(
    func: Callable[..., Any], kwargs: dict[str, Any], module: _Module, factory: Any
) -> tuple[Any, ...] | None:
    """What the ComponentSpec depends on, or None where only kfp's own path is safe."""
    code = getattr(func, "__code__", None)
    if code is None or code.co_filename != module.filename:
        return None
    if factory.REGISTERED_MODULES is not None:  # `kfp component build` records each one
        return None
    if kwargs.get("base_image") is None:  # kfp warns about its default image: not reused
        return None
    if any(kwargs.get(name) for name in kwargs if name not in _KEYED):
        return None
    span = module.span(code.co_firstlineno, func.__name__)
    if span is None:  # not a top-level function
        return None
    try:
        settings = tuple((name, _plain(kwargs.get(name))) for name in _KEYED)
        defaults = (_plain(func.__defaults__), _plain(func.__kwdefaults__))
        annotations = tuple((name, _annotation(a)) for name, a in func.__annotations__.items())
        hash(annotations)
    except (TypeError, ValueError):
        return None
    digest = hashlib.sha256(span.encode("utf-8", "surrogatepass")).hexdigest()
    return (digest, func.__name__, func.__qualname__, settings, defaults, annotations)


def _annotation(annotation: Any) -> Any:
    """An annotation as kfp reads it. A `NamedTuple(...)` return type is a new class each time
    the module runs: kfp reads only its name, fields and their types, so those are the key."""
    fields = getattr(annotation, "_fields", None)
    if isinstance(annotation, type) and issubclass(annotation, tuple) and type(fields) is tuple:
        hints = getattr(annotation, "__annotations__", {})
        types = tuple((field, _annotation(hints.get(field))) for field in fields)
        return ("NamedTuple", annotation.__name__, types)
    return annotation


def _plain(value: Any) -> Any:
    """A hashable, type-exact form of plain data; ValueError for anything else."""
    if isinstance(value, list | tuple):
        return (type(value).__name__, *(_plain(v) for v in value))
    if isinstance(value, dict):
        return ("dict", *((_plain(k), _plain(v)) for k, v in value.items()))
    if type(value) in _PLAIN:  # repr: 0.0 and -0.0 are equal, and hash alike
        return (type(value).__name__, repr(value))
    raise ValueError(f"not plain data: {type(value).__name__}")


def _cached(key: tuple[Any, ...], func: Callable[..., Any], build: Callable[[], Any]) -> Any:
    from kfp.dsl import python_component

    spec = _SPECS.get(key)
    if spec is None:
        component = build()
        _SPECS[key] = copy.deepcopy(component.component_spec)
        if len(_SPECS) > _CAPACITY:
            _SPECS.popitem(last=False)
        return component
    _SPECS.move_to_end(key)
    # A copy each: every module gets a ComponentSpec of its own, as kfp would have built it.
    return python_component.PythonComponent(component_spec=copy.deepcopy(spec), python_func=func)
