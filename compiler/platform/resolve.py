"""Stage 4: resolve one spec against its platform, once, into a `ResolvedSpec`.

Spec-wide values: platform defaults -> the platform's model storage root (as
`deploy.model_uri`, see compiler.platform.storage) -> spec. Each environment: platform defaults
(`defaults.environment`) -> the platform's environment of the same name -> the model storage root
-> the spec (its `deploy.model_uri`) -> the spec's environment entry. Platform-wide settings:
specops' built-in `Defaults` -> the platform's `defaults:` (compiler.platform.settings). Delivery
settings: the spec, the platform, the checkout's git remote (compiler.platform.delivery).

The semantic rules, the policies and the plan all read the one `ResolvedSpec` made here; none of
them resolves again.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from compiler.catalog import Estimator
from compiler.diagnostics import Diagnostic, JsonPath, error, warning
from compiler.loader import LoadedSpec
from compiler.model.spec import Environment, MLPipeline
from compiler.model.types import DNS_LABEL
from compiler.plan import Defaults
from compiler.platform.defaults import to_data
from compiler.platform.delivery import DeliverySettings, delivery_settings
from compiler.platform.load import LoadedPlatform
from compiler.platform.merge import (
    ENVIRONMENT_RULES,
    SPEC_RULES,
    Layer,
    RuleBook,
    merge_layers,
    mounted,
    origin_of,
)
from compiler.platform.settings import defaults_from_layers, defaults_layers
from compiler.platform.storage import ModelRoot, model_root

SPEC_BOOK = RuleBook(SPEC_RULES)
ENVIRONMENT_BOOK = RuleBook(ENVIRONMENT_RULES)
# Environment settings only a platform gives; they reach templates on ResolvedEnvironment.
ENVIRONMENT_EXTRAS = ("argocd_project", "kfp_host", "model_storage_root")
_SPEC_ENVIRONMENT_KEYS = frozenset(f.alias or n for n, f in Environment.model_fields.items())
_DNS = re.compile(DNS_LABEL)

# Where platform defaults sit under the spec: (spec path, platform file path).
SPEC_DEFAULT_MOUNTS: tuple[tuple[JsonPath, JsonPath], ...] = (
    (("metadata", "labels"), ("defaults", "labels")),
    (("model",), ("defaults", "training")),
    (("deploy", "runtime"), ("defaults", "runtime")),
)


@dataclass(frozen=True, slots=True)
class EnvironmentResolution:
    name: str
    index: int  # position in the spec's deploy.environments
    layers: tuple[Layer, ...]
    value: dict[str, Any]  # the merged environment document

    @property
    def extras(self) -> dict[str, Any]:
        return {key: self.value.get(key) for key in ENVIRONMENT_EXTRAS}


@dataclass(frozen=True, slots=True)
class Resolution:
    """The layers of the spec and of each of its environments, merged."""

    effective: MLPipeline | None  # platform defaults under the spec's values; None: PLT020
    layers: tuple[Layer, ...]
    value: dict[str, Any]
    environments: tuple[EnvironmentResolution, ...]
    diagnostics: tuple[Diagnostic, ...]

    def environment(self, name: str) -> EnvironmentResolution | None:
        return next((e for e in self.environments if e.name == name), None)


@dataclass(frozen=True, slots=True)
class ResolvedSpec:
    """One spec resolved against its platform (or none): everything checks, policies and the
    plan read, made once per spec per run by `resolve_spec`."""

    loaded: LoadedSpec
    # As written, with the namespaces and model_uri it leaves out filled in from the platform:
    # what the semantic rules check (compiler.check).
    spec: MLPipeline
    # Every platform layer under the spec's own values: what policies and the plan read.
    effective: MLPipeline
    # With a platform, its layers and the spec's, merged. Without one it is None, and `layered`
    # makes the spec's own layers when asked: only explain asks, and validate need not pay.
    platform_layered: Resolution | None
    defaults: Defaults  # specops' built-in settings with the platform's over them
    defaults_layers: tuple[Layer, ...]  # where each of those came from
    delivery: DeliverySettings
    estimators: tuple[Estimator, ...]  # the classes the platform adds to the catalog
    platform: LoadedPlatform | None

    @property
    def layered(self) -> Resolution:
        """Where each spec and environment value came from (explain, policies)."""
        return self.platform_layered or layer_spec(None, self.spec, self.loaded)

    @property
    def diagnostics(self) -> tuple[Diagnostic, ...]:
        """What layering found (PLT0xx): conflicts between the platform and the spec."""
        return self.platform_layered.diagnostics if self.platform_layered else ()

    def fingerprint(self) -> str:
        """The sha256 of everything here the plan reads (compiler.planner), which an incremental
        build can key the spec's outputs on: a platform change the spec does not read (another
        environment, a policy) leaves it as it is."""
        estimator = self.effective.model.estimator
        read = {
            "spec": [self.loaded.source.path, self.loaded.source.sha256],
            "effective": self.effective.model_dump(mode="json", by_alias=True),
            "defaults": to_data(self.defaults),
            "delivery": to_data(self.delivery),
            "extras": [e.extras for e in self.platform_layered.environments]
            if self.platform_layered
            else [],
            "estimators": to_data([e for e in self.estimators if e.path == estimator]),
        }
        text = json.dumps(read, sort_keys=True, ensure_ascii=True, separators=(",", ":"))
        return hashlib.sha256(text.encode("utf-8")).hexdigest()


def resolve_spec(
    spec: MLPipeline,
    loaded: LoadedSpec,
    platform: LoadedPlatform | None = None,
    *,
    defaults: Defaults | None = None,
) -> ResolvedSpec:
    """Resolve one modelled spec under `platform`; `defaults` replaces specops' built-in
    settings (under the platform's). Layering problems are in `.diagnostics`; raises nothing."""
    layered = layer_spec(platform, spec, loaded) if platform is not None else None
    filled = _filled(spec, layered) if layered is not None else spec
    layers = defaults_layers(platform, defaults)
    merged = defaults_from_layers(layers) if platform is not None else defaults or Defaults()
    envs = layered.environments if layered is not None else ()
    projects = {e.name: e.extras["argocd_project"] for e in envs}
    return ResolvedSpec(
        loaded,
        filled,
        layered.effective or filled if layered is not None else spec,
        layered,
        merged,
        layers,
        delivery_settings(merged, filled, loaded, projects),
        platform.platform.estimators.entries(platform.path) if platform else (),
        platform,
    )


def layer_spec(platform: LoadedPlatform | None, spec: MLPipeline, loaded: LoadedSpec) -> Resolution:
    """Merge the layers of one valid spec; layering problems come back as diagnostics."""
    root, problems = model_root(platform, spec, loaded)
    layers = _spec_layers(platform, loaded, root)
    value = merge_layers(layers, SPEC_BOOK)
    environments = tuple(
        _resolve_environment(platform, spec, loaded, index, problems, root)
        for index in range(len(spec.deploy.environments))
    )
    if platform is None:
        return Resolution(spec, layers, value, environments, ())
    effective_doc = dict(value)
    effective_doc["deploy"] = {
        **value["deploy"],
        "environments": [
            {k: v for k, v in e.value.items() if k in _SPEC_ENVIRONMENT_KEYS} for e in environments
        ],
    }
    effective = _validate_effective(effective_doc, loaded, problems)
    problems.extend(_layer_checks(platform, loaded, environments))
    return Resolution(effective, layers, value, environments, tuple(problems))


def _spec_layers(
    platform: LoadedPlatform | None, loaded: LoadedSpec, root: ModelRoot | None
) -> tuple[Layer, ...]:
    spec_layer = mounted("spec", loaded, [((), ())])
    if platform is None:
        return (spec_layer,)
    layers = [mounted("platform defaults", platform.loaded, SPEC_DEFAULT_MOUNTS)]
    if root is not None:
        layers.append(root.layer_at(("deploy", "model_uri")))
    return (*layers, spec_layer)


def _resolve_environment(
    platform: LoadedPlatform | None,
    spec: MLPipeline,
    loaded: LoadedSpec,
    index: int,
    problems: list[Diagnostic],
    root: ModelRoot | None = None,
) -> EnvironmentResolution:
    name = spec.deploy.environments[index].name
    layers: list[Layer] = []
    if platform is not None:
        fill = _namespace_filler(platform, spec, name, problems)
        layers.append(
            mounted("platform defaults", platform.loaded, [((), ("defaults", "environment"))], fill)
        )
        position = platform.environment_index(name)
        if position is not None:
            mount = [((), ("environments", position))]
            layers.append(mounted(f"platform environment {name}", platform.loaded, mount, fill))
    if root is not None:
        layers.append(root.layer_at(("model_uri",)))
    layers.append(mounted("spec", loaded, [(("model_uri",), ("deploy", "model_uri"))]))
    entry = [((), ("deploy", "environments", index))]
    layers.append(mounted(f"spec environment {name}", loaded, entry))
    value = merge_layers(layers, ENVIRONMENT_BOOK)
    if "batch" not in layers[-1].data:  # the platform's batch defaults do not turn batch on
        value.pop("batch", None)
    return EnvironmentResolution(name, index, tuple(layers), value)


def _namespace_filler(
    platform: LoadedPlatform, spec: MLPipeline, env: str, problems: list[Diagnostic]
) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """Fills {team}, {spec} and {env} in a platform's namespace pattern for this spec."""
    values = {"team": spec.metadata.team, "spec": spec.metadata.name, "env": env}

    def fill(data: dict[str, Any]) -> dict[str, Any]:
        data = {k: v for k, v in data.items() if k != "name"}  # an entry's name is its identity
        pattern = data.get("namespace")
        if not isinstance(pattern, str):
            return data
        namespace = pattern.format_map(values)
        if _DNS.match(namespace) and len(namespace) <= 63:
            return {**data, "namespace": namespace}
        problems.append(
            error(
                "PLT010",
                f"namespace pattern {pattern!r} gives {namespace!r} for spec "
                f"{spec.metadata.name}, which is not a DNS-1123 label",
                platform.locate(_namespace_path(platform, env)),
                "shorten the pattern; a namespace has at most 63 characters",
            )
        )
        return {k: v for k, v in data.items() if k != "namespace"}

    return fill


def _namespace_path(platform: LoadedPlatform, env: str) -> JsonPath:
    position = platform.environment_index(env)
    entry = platform.platform.environments[position] if position is not None else None
    if entry is not None and entry.namespace is not None:
        return ("environments", position or 0, "namespace")
    return ("defaults", "environment", "namespace")


def _validate_effective(
    doc: dict[str, Any], loaded: LoadedSpec, problems: list[Diagnostic]
) -> MLPipeline | None:
    try:
        return MLPipeline.model_validate(doc)
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        where = ".".join(str(p) for p in first["loc"])
        problems.append(
            error(
                "PLT020",
                f"the spec with the platform's defaults is not valid: {where}: {first['msg']}",
                loaded.locate(()),
                "a platform default conflicts with the spec; set the field in the spec",
            )
        )
        return None


def _layer_checks(
    platform: LoadedPlatform, loaded: LoadedSpec, environments: tuple[EnvironmentResolution, ...]
) -> Iterator[Diagnostic]:
    known = [e.name for e in platform.platform.environments]
    for env in environments:
        if known and env.name not in known:
            yield warning(
                "PLT011",
                f"environment {env.name!r} is not one the platform defines",
                loaded.locate(("deploy", "environments", env.index, "name")),
                f"platform environments: {', '.join(known)}",
            )
        yield from _first_canary(env)
        yield from _replicas_order(env, loaded)


def _first_canary(env: EnvironmentResolution) -> Iterator[Diagnostic]:
    """CHK012 for a canary the platform adds (the spec's own one is CHK012's)."""
    spec_entry = env.layers[-1]
    if env.index or env.value.get("canary") is None or "canary" in spec_entry.data:
        return
    where = origin_of(env.layers, ("canary",))
    assert where is not None  # a platform layer set it
    yield error(
        "PLT013",
        f"the platform gives the first environment {env.name!r} a canary, but there is no "
        "earlier environment to compare with",
        where,
        "set canary: null in the spec's first environment, or move the platform's canary",
    )


def _replicas_order(env: EnvironmentResolution, loaded: LoadedSpec) -> Iterator[Diagnostic]:
    replicas = env.value.get("replicas") or {}
    low, high = replicas.get("min", 1), replicas.get("max", 1)
    if isinstance(low, int) and isinstance(high, int) and low > high:
        where = origin_of(env.layers, ("replicas", "min")) or loaded.locate(())
        other = origin_of(env.layers, ("replicas", "max"))
        yield error(
            "PLT012",
            f"after layering, environment {env.name!r} has replicas min {low} > max {high}"
            + (f" (max set at {other})" if other else f" (max defaults to {high})"),
            where,
            "set both replicas.min and replicas.max in the spec's environment entry",
        )


def _filled(spec: MLPipeline, layered: Resolution) -> MLPipeline:
    """The spec with the namespaces and model_uri it leaves out filled in from the platform's
    layers (what the semantic rules check; CHK018/CHK019 report what nothing fills)."""
    omitted = [e.namespace is None for e in spec.deploy.environments]
    if not (any(omitted) or spec.deploy.model_uri is None):
        return spec
    environments = [
        env.model_copy(update={"namespace": layered.environments[i].value.get("namespace")})
        if omitted[i]
        else env
        for i, env in enumerate(spec.deploy.environments)
    ]
    model_uri = spec.deploy.model_uri or layered.value["deploy"].get("model_uri")
    deploy = spec.deploy.model_copy(update={"environments": environments, "model_uri": model_uri})
    return spec.model_copy(update={"deploy": deploy})
