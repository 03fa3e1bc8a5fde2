"""Policies as code: rules a platform switches on in `platform.yaml`, each with a stable code.

A rule finds problems in the effective spec (platform layers applied); the runner turns each
finding into an ordinary diagnostic whose severity comes from the platform, per environment,
located where the value was written and related to where the policy was.

A finding about one environment takes that environment's level. A finding about the whole spec
(an image, a data source, the owners) takes the strictest level among the spec's environments,
so "image pinned by digest in prod" applies to every spec that deploys to prod.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Any, TypeVar
from urllib.parse import urlsplit

from compiler.diagnostics import Diagnostic, JsonPath, Location, Severity
from compiler.loader import LoadedSpec
from compiler.model.spec import MLPipeline
from compiler.model.types import image_is_pinned_by_digest, image_registry
from compiler.platform.defaults import BUILTIN_LOCATION, DEFAULTS_BOOK
from compiler.platform.defaults import ROOT as DEFAULTS_ROOT
from compiler.platform.load import LoadedPlatform
from compiler.platform.merge import Layer, merge_layers, origin_of, value_at
from compiler.platform.model import (
    AllowedDataSources,
    AllowedRegistries,
    CanaryLimit,
    ChampionGateRequired,
    GpuLimits,
    MonitoringRequired,
    OwnersRequired,
    Policy,
)
from compiler.platform.resolve import EnvironmentResolution, Resolution, ResolvedSpec

P = TypeVar("P", bound=Policy)


@dataclass(frozen=True, slots=True)
class Finding:
    message: str
    location: Location
    environment: str | None = None  # None: about the whole spec
    hint: str | None = None


@dataclass(frozen=True)
class Context:
    spec: MLPipeline  # effective
    loaded: LoadedSpec
    resolution: Resolution
    platform: LoadedPlatform
    defaults_layers: tuple[Layer, ...]  # the built-in settings, then the platform's

    def where(self, path: JsonPath) -> Location:
        """Where the spec-wide value at `path` was written (the spec, or a platform default)."""
        return origin_of(self.resolution.layers, path) or self.loaded.locate(path, key=True)

    def where_in(self, env: EnvironmentResolution, path: JsonPath) -> Location:
        found = origin_of(env.layers, path)
        return found or self.loaded.locate(("deploy", "environments", env.index, "name"))


Check = Callable[[Any, Context], Iterator[Finding]]


@dataclass(frozen=True, slots=True)
class PolicyRule:
    code: str
    key: str  # its key under `policies:` in platform.yaml
    title: str
    check: Check


POLICY_RULES: dict[str, PolicyRule] = {}


def policy(code: str, key: str, title: str) -> Callable[[Check], Check]:
    def register(check: Check) -> Check:
        POLICY_RULES[key] = PolicyRule(code, key, title, check)
        return check

    return register


def run_policies(platform: LoadedPlatform, resolved: ResolvedSpec) -> list[Diagnostic]:
    """Every enabled policy's findings for one spec, as diagnostics."""
    resolution = resolved.layered
    context = Context(
        resolved.effective, resolved.loaded, resolution, platform, resolved.defaults_layers
    )
    names = [e.name for e in resolution.environments]
    result = []
    for key, rule in POLICY_RULES.items():
        config = getattr(platform.platform.policies, key)
        if config is None:
            continue
        for finding in rule.check(config, context):
            diagnostic = _diagnostic(rule, config, finding, names, platform)
            if diagnostic is not None:
                result.append(diagnostic)
    return result


def _diagnostic(
    rule: PolicyRule, config: Policy, finding: Finding, names: list[str], platform: LoadedPlatform
) -> Diagnostic | None:
    scope = [finding.environment] if finding.environment else names
    levels = {name: config.level_for(name) for name in scope}
    level = "error" if "error" in levels.values() else "warning"
    if level not in levels.values():
        return None
    decided_by = next(n for n, lv in levels.items() if lv == level)
    related = [platform.locate(("policies", rule.key), key=True)]
    if decided_by in config.environments:
        related.append(platform.locate(("policies", rule.key, "environments", decided_by)))
    hint = finding.hint or ""
    hint += f"{'; ' if hint else ''}policy {rule.key} at {related[-1]}"
    return Diagnostic(
        rule.code,
        Severity(level),
        f"{finding.message} (policy {rule.key}: {rule.title})",
        finding.location,
        hint,
        tuple(related),
    )


@dataclass(frozen=True, slots=True)
class GovernedImage:
    image: str
    location: Location
    setting: str | None = None  # a platform setting that chose it; None: the spec wrote it
    builtin: bool = False  # nobody set it: specops' built-in default

    def describe(self) -> str:
        if self.setting is None:
            return f"image {self.image!r}"
        source = "the built-in default of" if self.builtin else "platform setting"
        return f"image {self.image!r} ({source} defaults.{self.setting})"

    def hint(self, fix: str) -> str:
        if not self.builtin:
            return fix
        return f"{fix}; add defaults.{self.setting} to platform.yaml with such an image"


def _images(ctx: Context) -> Iterator[GovernedImage]:
    """Every image the spec's outputs run: the spec's own, then those platform settings choose."""
    spec = ctx.spec
    if spec.model.image is not None:
        yield GovernedImage(spec.model.image, ctx.where(("model", "image")))
    if spec.deploy.serving is not None:
        yield GovernedImage(spec.deploy.serving.image, ctx.where(("deploy", "serving", "image")))
    explainer = spec.validation.explainability
    for setting in PLATFORM_IMAGES:
        if setting == "explainer_image" and not (explainer and explainer.serve):
            continue
        yield _platform_image(ctx, setting)


# Defaults fields naming an image that generated files run (KFP steps, the explainer, GitLab CI).
PLATFORM_IMAGES = ("kfp_base_image", "explainer_image", "ci.gitlab_image")


def _platform_image(ctx: Context, setting: str) -> GovernedImage:
    path = (DEFAULTS_ROOT, *setting.split("."))
    value = value_at(merge_layers(ctx.defaults_layers, DEFAULTS_BOOK), path)
    where = origin_of(ctx.defaults_layers, path)
    if where is None or where == BUILTIN_LOCATION:  # at the platform's defaults, where it goes
        key: JsonPath = ("defaults",) if "defaults" in ctx.platform.loaded.data else ()
        return GovernedImage(str(value), ctx.platform.locate(key, key=True), setting, True)
    return GovernedImage(str(value), where, setting)


@policy("POL001", "image_digest", "images are pinned by digest")
def image_digest(config: Policy, ctx: Context) -> Iterator[Finding]:
    for found in _images(ctx):
        if not image_is_pinned_by_digest(found.image):
            yield Finding(
                f"{found.describe()} is not pinned by digest",
                found.location,
                hint=found.hint(
                    "write it as repository@sha256:<digest> so every run uses the same bytes"
                ),
            )


def _normalised_image(image: str) -> str:
    name = image.split("@")[0]
    last = name.rsplit("/", 1)
    if ":" in last[-1]:
        name = name[: name.rindex(":")]
    registry = image_registry(image)
    if name.startswith(registry + "/"):
        return name
    return f"docker.io/{name if '/' in name else 'library/' + name}"


@policy("POL002", "allowed_registries", "images come from allowed registries")
def allowed_registries(config: AllowedRegistries, ctx: Context) -> Iterator[Finding]:
    allowed = config.registries or ctx.platform.platform.defaults.registries
    if not allowed:
        return
    for found in _images(ctx):
        name = _normalised_image(found.image)
        if not any(name == entry or name.startswith(entry + "/") for entry in allowed):
            yield Finding(
                f"{found.describe()} is not from an allowed registry",
                found.location,
                hint=found.hint(f"allowed: {', '.join(allowed)}"),
            )


@policy("POL003", "allowed_data_sources", "data comes from allowed schemes and buckets")
def allowed_data_sources(config: AllowedDataSources, ctx: Context) -> Iterator[Finding]:
    for index, source in enumerate(ctx.spec.data.sources):
        where = ctx.where(("data", "sources", index, "uri"))
        yield from _data_uri(config, f"data source {source.name!r}", source.uri, where, None)
    for env in ctx.resolution.environments:  # batch scoring reads data too
        batch = ctx.spec.deploy.environments[env.index].batch
        if batch is not None:
            where = ctx.where_in(env, ("batch", "input", "uri"))
            label = f"the batch input of environment {env.name!r}"
            yield from _data_uri(config, label, batch.input.uri, where, env.name)


def _data_uri(
    config: AllowedDataSources, label: str, uri: str, where: Location, env: str | None
) -> Iterator[Finding]:
    parts = urlsplit(uri) if "://" in uri else None
    scheme = parts.scheme if parts else "file"
    if config.schemes and scheme not in config.schemes:
        yield Finding(
            f"{label} uses scheme {scheme!r}",
            where,
            env,
            hint=f"allowed schemes: {', '.join(config.schemes)} (a relative path is 'file')",
        )
    host = parts.hostname if parts else None
    if config.buckets and host and not any(fnmatchcase(host, p) for p in config.buckets):
        yield Finding(
            f"{label} reads from {host!r}",
            where,
            env,
            hint=f"allowed buckets and hosts: {', '.join(config.buckets)}",
        )


@policy("POL004", "canary_limit", "canary traffic stays under a limit")
def canary_limit(config: CanaryLimit, ctx: Context) -> Iterator[Finding]:
    for env in ctx.resolution.environments:
        canary = env.value.get("canary")
        percent = canary.get("traffic_percent") if isinstance(canary, dict) else None
        if isinstance(percent, int) and percent > config.max_percent:
            yield Finding(
                f"environment {env.name!r} sends {percent}% of traffic to the canary, more than "
                f"{config.max_percent}%",
                ctx.where_in(env, ("canary", "traffic_percent")),
                env.name,
                f"lower canary.traffic_percent to at most {config.max_percent}",
            )


@policy("POL005", "monitoring_required", "deployed models are monitored")
def monitoring_required(config: MonitoringRequired, ctx: Context) -> Iterator[Finding]:
    monitoring = ctx.spec.monitoring
    missing = [
        f"monitoring.{name}"
        for name, wanted, present in (
            ("drift", config.drift, monitoring.drift is not None),
            ("alerts", config.alerts, monitoring.alerts is not None),
        )
        if wanted and not present
    ]
    if not missing:
        return
    for env in ctx.resolution.environments:
        yield Finding(
            f"environment {env.name!r} needs {' and '.join(missing)}",
            ctx.loaded.locate(("deploy", "environments", env.index, "name")),
            env.name,
            f"add {' and '.join(missing)} to the spec",
        )


@policy("POL006", "approval_required", "deploys wait for an approval")
def approval_required(config: Policy, ctx: Context) -> Iterator[Finding]:
    for env in ctx.resolution.environments:
        if env.value.get("approval") != "required":
            yield Finding(
                f"environment {env.name!r} deploys without an approval",
                ctx.where_in(env, ("approval",)),
                env.name,
                "set approval: required on the environment",
            )


@policy("POL007", "gpu_limits", "GPU counts stay within the team's limit")
def gpu_limits(config: GpuLimits, ctx: Context) -> Iterator[Finding]:
    team = ctx.spec.metadata.team
    limit = config.teams.get(team, config.max_gpus)
    source = "" if team in config.teams else _unlisted_limit(config)
    gpu = ctx.spec.model.resources.gpu
    if gpu is not None and gpu.count > limit:
        yield Finding(
            f"training asks for {gpu.count} GPU(s); team {team!r} may use {limit}{source}",
            ctx.where(("model", "resources", "gpu", "count")),
            hint="ask the platform team to raise the limit under policies.gpu_limits.teams",
        )
    for env in ctx.resolution.environments:
        count = _gpu_count(env.value.get("resources"))
        if count > limit:
            yield Finding(
                f"environment {env.name!r} serves with {count} GPU(s); team {team!r} may use "
                f"{limit}{source}",
                ctx.where_in(env, ("resources", "gpu", "count")),
                env.name,
            )


def _unlisted_limit(config: GpuLimits) -> str:
    """Where the limit of a team without an entry comes from: max_gpus, set or defaulted."""
    if "max_gpus" in config.model_fields_set:
        return " (policies.gpu_limits.max_gpus, the limit for teams not listed)"
    return f" (policies.gpu_limits.max_gpus, which defaults to {config.max_gpus})"


def _gpu_count(resources: Any) -> int:
    gpu = resources.get("gpu") if isinstance(resources, dict) else None
    count = gpu.get("count") if isinstance(gpu, dict) else 0
    return count if isinstance(count, int) else 0


@policy("POL008", "owners_required", "every spec names its owners")
def owners_required(config: OwnersRequired, ctx: Context) -> Iterator[Finding]:
    owners = ctx.spec.metadata.owners
    if len(owners) < config.min_owners:
        path: JsonPath = ("metadata", "owners") if owners else ("metadata",)
        yield Finding(
            f"the spec names {len(owners)} owner(s); at least {config.min_owners} required",
            ctx.loaded.locate(path, key=True),
            hint="list owner email addresses under metadata.owners",
        )


@policy("POL009", "champion_gate", "a new model is compared with the one each environment serves")
def champion_gate(config: ChampionGateRequired, ctx: Context) -> Iterator[Finding]:
    gates = list(enumerate(ctx.spec.validation.metrics))
    for env in ctx.resolution.environments:
        against = [(index, gate) for index, gate in gates if gate.against == env.name]
        if not against:
            yield Finding(
                f"no metric gate compares the new model with the one environment {env.name!r} "
                "serves",
                ctx.loaded.locate(("deploy", "environments", env.index, "name")),
                env.name,
                f"add a gate like {{name: roc_auc, against: {env.name}, max_drop: 0.01}} to "
                "validation.metrics",
            )
        limit = config.max_drop
        for index, gate in against:
            drop = gate.max_drop or 0.0
            if limit is not None and drop > limit:
                yield Finding(
                    f"gate {gate.name!r} lets the new model be {drop:g} worse than "
                    f"{env.name!r}'s champion; the platform allows at most {limit:g}",
                    ctx.loaded.locate(("validation", "metrics", index, "max_drop")),
                    env.name,
                    f"lower max_drop to at most {limit:g}",
                )


@policy("POL010", "registry_required", "every model version is registered in a model registry")
def registry_required(config: Policy, ctx: Context) -> Iterator[Finding]:
    if ctx.spec.registry is not None:
        return
    for env in ctx.resolution.environments:
        yield Finding(
            f"environment {env.name!r} serves a model no registry records",
            ctx.loaded.locate(("deploy", "environments", env.index, "name")),
            env.name,
            "add registry: {kind: mlflow} to the spec (the platform's "
            "defaults.registry_tracking_uri gives its tracking URI)",
        )


def platform_diagnostics(resolved: ResolvedSpec) -> list[Diagnostic]:
    """What layering a valid spec under its platform found, and the platform's policies (none
    without a platform)."""
    if resolved.platform is None:
        return []
    return [*resolved.diagnostics, *run_policies(resolved.platform, resolved)]
