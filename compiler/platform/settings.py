"""The layers of the platform-wide settings templates read as `plan.defaults`: specops' built-in
`Defaults` (compiler.plan), then what the platform file writes under `defaults:`, merged by the
rules compiler.platform.defaults derives. Part of resolution (compiler.platform.resolve); the same
for every spec under one platform.
"""

from __future__ import annotations

import dataclasses
import functools

from compiler.diagnostics import JsonPath
from compiler.plan import Defaults
from compiler.platform.defaults import (
    ALIASES,
    BUILTIN_LAYER,
    BUILTIN_LOCATION,
    DEFAULTS_BOOK,
    PLATFORM_LAYER,
    ROOT,
    from_data,
    to_data,
)
from compiler.platform.load import LoadedPlatform
from compiler.platform.merge import MISSING, Layer, merge_layers, mounted, value_at


def defaults_layers(
    platform: LoadedPlatform | None, base: Defaults | None = None
) -> tuple[Layer, ...]:
    """The built-in values, then what the platform file writes (each where it writes it)."""
    builtin = _builtin_layer() if base is None else _layer_of(base)
    if platform is None:
        return (builtin,)
    data = platform.loaded.data
    mounts: list[tuple[JsonPath, JsonPath]] = []
    for item in dataclasses.fields(Defaults):
        path: JsonPath = (item.name,)
        alias = ALIASES.get(path)
        written = value_at(data, (ROOT, *path)) is not MISSING
        if not written and alias is not None and value_at(data, (ROOT, *alias)) is not MISSING:
            mounts.append(((ROOT, *path), (ROOT, *alias)))
        elif written:
            mounts.append(((ROOT, *path), (ROOT, *path)))
    return (builtin, mounted(PLATFORM_LAYER, platform.loaded, mounts))


@functools.cache
def _builtin_layer() -> Layer:
    """The same for every spec: made once (merging never changes a layer's data)."""
    return _layer_of(Defaults())


def _layer_of(base: Defaults) -> Layer:
    return Layer(BUILTIN_LAYER, {ROOT: to_data(base)}, lambda _: BUILTIN_LOCATION)


def defaults_from_layers(layers: tuple[Layer, ...]) -> Defaults:
    """The settings `defaults_layers` give, merged by the rules above."""
    result = from_data(Defaults, merge_layers(layers, DEFAULTS_BOOK)[ROOT])
    assert isinstance(result, Defaults)
    return result


def apply_platform_defaults(base: Defaults, platform: LoadedPlatform | None) -> Defaults:
    """`base` with every value the platform file sets layered over it by the rules above."""
    return defaults_from_layers(defaults_layers(platform, base))
