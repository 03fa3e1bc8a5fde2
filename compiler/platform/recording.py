"""Recording what templates read while they render: a Jinja environment whose attribute and item
lookups note the spec path of what they return, so `templates check` knows which spec field a
failing template was reading and which fields the examples exercised."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import jinja2
from pydantic import BaseModel

from compiler.diagnostics import JsonPath
from compiler.layers import ReadingEnvironment
from compiler.plan import Plan
from compiler.platform.usage import ENV_FIELDS, PLAN_FIELDS, Reads


class Recorder:
    """Maps the objects of one plan to their spec paths and records what templates look up."""

    def __init__(self) -> None:
        self.paths: dict[int, JsonPath] = {}
        self.envs: dict[int, int] = {}
        self.plan_id = 0
        self.reads = Reads()
        self.last: JsonPath | None = None

    def start(self, plan: Plan) -> None:
        self.paths, self.envs, self.plan_id = {}, {}, id(plan)
        _register(self.paths, plan.spec, ())
        self.envs = {id(e): index for index, e in enumerate(plan.environments)}

    def note(self, owner: Any, key: Any, value: Any) -> None:
        if isinstance(value, jinja2.Undefined):
            base = self.paths.get(id(owner))
            if base is not None:  # the read that will fail: name it, but it reads nothing
                self.last = (*base, _key_name(owner, key))
            return
        if id(owner) in self.envs:
            index = self.envs[id(owner)]
            paths = [tuple(index if p == "[]" else p for p in f) for f in ENV_FIELDS.get(key, ())]
        elif id(owner) == self.plan_id:
            paths = list(PLAN_FIELDS.get(key, ()))[:1] if key in ("name", "identifier") else []
        elif id(owner) in self.paths:
            paths = [(*self.paths[id(owner)], _key_name(owner, key))]
        else:
            return
        for path in paths:
            self.reads.touched.add(path)
            self.last = path
        if paths and isinstance(value, BaseModel | list | tuple | dict):
            self.paths.setdefault(id(value), paths[0])

    def consume(self, value: Any) -> None:
        path = self.paths.get(id(value))
        if path is not None:
            self.reads.whole.add(path)


def _key_name(owner: Any, key: Any) -> str | int:
    if isinstance(owner, BaseModel) and isinstance(key, str):
        info = type(owner).model_fields.get(key)
        return (info.alias or key) if info else key
    return key if isinstance(key, str | int) else str(key)


def _register(paths: dict[int, JsonPath], value: Any, path: JsonPath) -> None:
    if isinstance(value, BaseModel):
        paths.setdefault(id(value), path)
        for name, info in type(value).model_fields.items():
            _register(paths, getattr(value, name), (*path, info.alias or name))
    elif isinstance(value, list | tuple):
        paths.setdefault(id(value), path)
        for index, item in enumerate(value):
            _register(paths, item, (*path, index))
    elif isinstance(value, dict):
        paths.setdefault(id(value), path)
        for key, item in value.items():
            _register(paths, item, (*path, str(key)))


class RecordingEnvironment(ReadingEnvironment):
    """The renderer's sandbox, recording every attribute and item lookup."""

    recorder: Recorder

    def getattr(self, obj: Any, attribute: str) -> Any:
        value = super().getattr(obj, attribute)
        self.recorder.note(obj, attribute, value)
        return value

    def getitem(self, obj: Any, argument: Any) -> Any:
        value = super().getitem(obj, argument)
        self.recorder.note(obj, argument, value)
        return value


def recording(env: ReadingEnvironment) -> RecordingEnvironment:
    """A recording copy of a renderer's environment: same loader, options and filters."""
    copy = RecordingEnvironment(
        loader=env.loader,
        undefined=env.undefined,
        autoescape=env.autoescape,
        keep_trailing_newline=env.keep_trailing_newline,
        trim_blocks=env.trim_blocks,
        lstrip_blocks=env.lstrip_blocks,
        finalize=env.finalize,
    )
    copy.recorder = Recorder()
    copy.filters.update({n: _consuming(f, copy.recorder) for n, f in env.filters.items()})
    return copy


def _consuming(func: Callable[..., Any], recorder: Recorder) -> Callable[..., Any]:
    position = 1 if getattr(func, "jinja_pass_arg", None) is not None else 0

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if len(args) > position:
            recorder.consume(args[position])
        return func(*args, **kwargs)

    return wrapper
