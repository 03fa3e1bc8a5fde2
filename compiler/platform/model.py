"""The Platform file, v1: what a platform team decides once for every spec.

Same envelope and strictness as the spec (frozen, `extra="forbid"`, strict). Layering reads which
keys a file actually wrote from the loaded data, so a key left out here means "this layer does
not set it", never "reset to a default".
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Annotated, Literal

from pydantic import AfterValidator, Field, StringConstraints

from compiler.catalog import Estimator
from compiler.model.batch import BatchResources
from compiler.model.spec import Autoscaling, Canary, Replicas, Resources, Strict, Toleration
from compiler.model.types import (
    DataUri,
    DnsLabel,
    DottedPath,
    Duration,
    Email,
    FreeText,
    GitRef,
    Identifier,
    ImageRef,
    LabelKey,
    LabelValue,
    Percent,
    RepoUri,
    SecretName,
    StorageUri,
)
from compiler.platform.defaults import with_settings

NamespacePattern = Annotated[
    str,
    StringConstraints(pattern=r"^([a-z0-9]|\{(team|spec|env)\})([-a-z0-9]|\{(team|spec|env)\})*$",
                      max_length=63),
]  # fmt: skip
HttpUrl = Annotated[
    str,
    StringConstraints(
        pattern=r"^https?://[A-Za-z0-9]([-A-Za-z0-9.]*[A-Za-z0-9])?(:[0-9]{1,5})?(/[-A-Za-z0-9._~/]*)?$",
        max_length=512,
    ),
]
Registry = Annotated[
    str,
    StringConstraints(
        pattern=r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?(:[0-9]{1,5})?(/[a-z0-9]([-a-z0-9._]*[a-z0-9])?)*$",
        max_length=255,
    ),
]
HostPattern = Annotated[
    str, StringConstraints(pattern=r"^[a-z0-9*?][-a-z0-9.*?_]*$", max_length=255)
]
TemplateDir = Annotated[str, StringConstraints(pattern=r"^[-A-Za-z0-9_./]+$", max_length=512)]
Level = Literal["error", "warning", "off"]
_ROOT_PLACEHOLDER = re.compile(r"\{(team|spec)\}")


def _root_placeholders(text: str) -> str:
    if "{" in _ROOT_PLACEHOLDER.sub("", text) or "}" in _ROOT_PLACEHOLDER.sub("", text):
        raise ValueError("the only placeholders are {team} and {spec}")
    return text


# A spec that leaves out deploy.model_uri publishes to <root>/<spec>, or to the root with its
# {team} and {spec} filled in when it names {spec}.
StorageRoot = Annotated[StorageUri, AfterValidator(_root_placeholders)]
Scheme = Literal["gs", "s3", "https", "http", "file"]


class PlatformMetadata(Strict):
    name: DnsLabel
    owners: list[Email] = Field(default_factory=list, max_length=20)
    description: FreeText = ""


class BatchSettings(Strict):
    """What a platform sets for the batch scoring of an environment."""

    resources: BatchResources | None = Field(
        default=None, description="Limits of the predict step of batch scoring."
    )


class EnvironmentSettings(Strict):
    """What a platform sets for an environment; a layer sets only the keys it names."""

    cluster: DnsLabel | None = Field(default=None, description="Argo CD destination cluster name.")
    namespace: NamespacePattern | None = Field(
        default=None, description="Namespace, with optional {team}, {spec} and {env} placeholders."
    )
    argocd_project: DnsLabel | None = None
    kfp_host: HttpUrl | None = Field(default=None, description="The KFP API endpoint.")
    model_storage_root: StorageRoot | None = Field(
        default=None,
        description="Storage root of models: a spec without deploy.model_uri publishes to "
        "<root>/<spec>, or to the root with {team} and {spec} filled in.",
    )
    replicas: Replicas | None = None
    autoscaling: Autoscaling | None = None
    resources: Resources | None = Field(default=None, description="Serving resources.")
    canary: Canary | None = None
    approval: Literal["none", "required"] | None = None
    batch: BatchSettings | None = Field(
        default=None,
        description="Batch scoring defaults; they apply only where the spec's environment "
        "sets batch.",
    )


class PlatformEnvironment(EnvironmentSettings):
    name: DnsLabel


class TrainingDefaults(Strict):
    """Layered under a spec's `model` section."""

    resources: Resources | None = None
    retries: int | None = Field(default=None, ge=0, le=10)
    timeout: Duration | None = None
    node_selector: dict[LabelKey, LabelValue] | None = Field(default=None, max_length=20)
    tolerations: list[Toleration] | None = Field(default=None, max_length=20)


class Images(Strict):
    kfp_base: ImageRef | None = Field(default=None, description="Base image of KFP components.")


class GitOps(Strict):
    repo_url: RepoUri | None = None
    target_revision: GitRef | None = None
    project: DnsLabel | None = Field(default=None, description="Default Argo CD project.")


class Kfp(Strict):
    host_secret: SecretName | None = Field(
        default=None, description="CI secret that holds the KFP host."
    )


class GroupedDefaults(Strict):
    """What every spec inherits, plus (derived, see compiler.platform.defaults) one key per
    field of compiler.plan.Defaults."""

    images: Images = Images()
    registries: list[Registry] = Field(
        default_factory=list, max_length=50, description="Registries images may come from."
    )
    runtime: Literal["kserve"] | None = Field(default=None, description="Serving runtime.")
    labels: dict[LabelKey, LabelValue] | None = Field(default=None, max_length=32)
    training: TrainingDefaults = TrainingDefaults()
    environment: EnvironmentSettings = Field(
        default=EnvironmentSettings(), description="Defaults for every environment."
    )
    data_root: DataUri | None = Field(
        default=None, description="Where new specs' data lives (used by `specops init`)."
    )
    gitops: GitOps = GitOps()
    kfp: Kfp = Kfp()


if TYPE_CHECKING:
    PlatformDefaults = GroupedDefaults
else:
    PlatformDefaults = with_settings(GroupedDefaults, "PlatformDefaults")


# --- estimators ------------------------------------------------------------------------------


class ExtraEstimator(Strict):
    """A class the platform lets specs train, beyond the built-in estimator catalog."""

    framework: Literal["sklearn", "xgboost", "lightgbm"]
    class_: DottedPath = Field(alias="class", description="Its dotted import path.")
    task: Literal["classifier", "regressor"]
    params: list[Identifier] = Field(
        default_factory=list,
        max_length=200,
        description="The constructor parameters a spec may set (the training step refuses others).",
    )


class EstimatorSettings(Strict):
    extra: list[ExtraEstimator] = Field(
        default_factory=list,
        max_length=200,
        description="Classes specs may use besides the built-in catalog (trusted: their code "
        "runs in the training step).",
    )

    def entries(self, platform_file: str) -> tuple[Estimator, ...]:
        """The extra classes as catalog entries, each recording which file added it."""
        return tuple(
            Estimator(e.class_, e.framework, e.task, tuple(sorted(set(e.params))), platform_file)
            for e in self.extra
        )


# --- policies --------------------------------------------------------------------------------


class Policy(Strict):
    """A rule's severity, by default and per environment (`off` turns it off)."""

    severity: Level = "error"
    environments: dict[DnsLabel, Level] = Field(default_factory=dict, max_length=50)

    def level_for(self, environment: str) -> Level:
        return self.environments.get(environment, self.severity)


class AllowedRegistries(Policy):
    registries: list[Registry] = Field(
        default_factory=list, max_length=50, description="Empty: defaults.registries."
    )


class AllowedDataSources(Policy):
    schemes: list[Scheme] = Field(default_factory=list, description="Empty: any scheme.")
    buckets: list[HostPattern] = Field(
        default_factory=list, description="Bucket or host globs (gs, s3, http[s]); empty: any."
    )


class CanaryLimit(Policy):
    max_percent: Percent


class MonitoringRequired(Policy):
    drift: bool = True
    alerts: bool = True


class GpuLimits(Policy):
    max_gpus: int = Field(default=0, ge=0, le=64, description="Limit for teams not listed.")
    teams: dict[DnsLabel, Annotated[int, Field(ge=0, le=64)]] = Field(default_factory=dict)


class OwnersRequired(Policy):
    min_owners: int = Field(default=1, ge=1, le=20)


class ChampionGateRequired(Policy):
    """Each environment at error or warning level needs a gate `against` it (see MetricGate)."""

    max_drop: float | None = Field(
        default=None,
        ge=0,
        description="The most a champion gate against the environment may let the new model "
        "drop, in the metric's units. Omitted: any.",
    )


class Policies(Strict):
    image_digest: Policy | None = None
    allowed_registries: AllowedRegistries | None = None
    allowed_data_sources: AllowedDataSources | None = None
    canary_limit: CanaryLimit | None = None
    monitoring_required: MonitoringRequired | None = None
    approval_required: Policy | None = None
    gpu_limits: GpuLimits | None = None
    owners_required: OwnersRequired | None = None
    champion_gate: ChampionGateRequired | None = None
    registry_required: Policy | None = None


class Platform(Strict):
    """Environments, defaults, template directories and policies every spec inherits."""

    api_version: Literal["specops/v1"] = Field(alias="apiVersion")
    kind: Literal["Platform"]
    metadata: PlatformMetadata
    templates: list[TemplateDir] = Field(
        default_factory=list,
        max_length=20,
        description="Template directories relative to this file, highest priority first.",
    )
    # a factory, not an instance: the schema would show every unset setting as null
    defaults: PlatformDefaults = Field(default_factory=PlatformDefaults)
    environments: list[PlatformEnvironment] = Field(default_factory=list, max_length=20)
    policies: Policies = Policies()
    estimators: EstimatorSettings = EstimatorSettings()
