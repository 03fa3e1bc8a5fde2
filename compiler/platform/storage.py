"""The model storage root a spec inherits when it leaves out `deploy.model_uri`.

The training pipeline publishes each version once, under `deploy.model_uri`, and every
environment serves from there (promotion changes `model_version`, not the storage). So the
platform root a spec inherits must be the same for all of the spec's environments: each
environment's root is its platform environment's `model_storage_root`, else
`defaults.environment.model_storage_root`; environments without one do not object. The spec's
model_uri is that root with `{team}` and `{spec}` filled in, followed by `/<spec>` unless the root
names `{spec}` itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from compiler.diagnostics import Diagnostic, JsonPath, Location, Severity
from compiler.loader import LoadedSpec
from compiler.model.spec import MLPipeline
from compiler.platform.load import LoadedPlatform
from compiler.platform.merge import Layer

LAYER = "platform model storage root"


@dataclass(frozen=True, slots=True)
class ModelRoot:
    value: str  # the deploy.model_uri it gives the spec
    source: str  # where the platform sets it: its defaults, or one of its environments
    location: Location  # where the root is written

    def layer_at(self, path: JsonPath) -> Layer:
        """A layer setting model_uri at `path` (in the spec, or in an environment document)."""
        data: dict[str, Any] = {str(path[-1]): self.value}
        for part in reversed(path[:-1]):
            data = {str(part): data}
        return Layer(LAYER, data, lambda _: self.location)


def model_root(
    platform: LoadedPlatform | None, spec: MLPipeline, loaded: LoadedSpec
) -> tuple[ModelRoot | None, list[Diagnostic]]:
    """The root the spec inherits (None: none, or no single one) and, when the spec leaves out
    model_uri and its environments disagree, PLT014."""
    if platform is None:
        return None, []
    found: dict[str, ModelRoot] = {}
    for env in spec.deploy.environments:
        root = _root_of(platform, spec, env.name)
        if root is not None:
            found.setdefault(root.value, root)
    if len(found) == 1:
        return next(iter(found.values())), []
    if not found or spec.deploy.model_uri is not None:
        return None, []
    roots = list(found.values())
    shown = ", ".join(f"{r.value} from {r.source}" for r in roots)
    return None, [
        Diagnostic(
            "PLT014",
            Severity.ERROR,
            "the platform keeps this spec's environments' models under different storage roots "
            f"({shown}), but the pipeline publishes each version to one place",
            loaded.locate(("deploy",), key=True),
            "set deploy.model_uri in the spec, or give the platform one root "
            "(defaults.environment.model_storage_root)",
            tuple(r.location for r in roots),
        )
    ]


def _root_of(platform: LoadedPlatform, spec: MLPipeline, env: str) -> ModelRoot | None:
    position = platform.environment_index(env)
    entry = platform.platform.environments[position] if position is not None else None
    path: JsonPath
    if entry is not None and entry.model_storage_root is not None:
        root, layer = entry.model_storage_root, f"platform environment {env}"
        path = ("environments", position or 0, "model_storage_root")
    elif platform.platform.defaults.environment.model_storage_root is not None:
        root, layer = platform.platform.defaults.environment.model_storage_root, "platform defaults"
        path = ("defaults", "environment", "model_storage_root")
    else:
        return None
    values = {"team": spec.metadata.team, "spec": spec.metadata.name}
    filled = root.replace("{team}", values["team"]).replace("{spec}", values["spec"])
    if "{spec}" not in root:
        filled = f"{filled.rstrip('/')}/{values['spec']}"
    return ModelRoot(filled, layer, platform.locate(path))
