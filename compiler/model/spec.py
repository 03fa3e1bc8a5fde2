"""The MLPipeline spec, v1: the contract between ML teams and specops.

Frozen, `extra="forbid"` and strict (no silent coercion of `3.10` into a float where a string is
wanted: the loader keeps YAML 1.2 core types and the model refuses the wrong one, with a hint).
Cross-field rules that need a whole view of the spec live in `compiler.check`, not here.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator

from compiler.model.batch import Batch
from compiler.model.names import FITS_INT64, INT64_MAX, at_most
from compiler.model.preprocessing import Preprocessing, ScalarValue
from compiler.model.registry import Registry
from compiler.model.strict import Strict as Strict  # re-exported: every model's base
from compiler.model.strict import model_default
from compiler.model.types import (
    AcceleratorType,
    Cron,
    DataUri,
    DnsLabel,
    DottedPath,
    Duration,
    Email,
    EnvVarName,
    Fraction,
    FreeText,
    GitRevision,
    Identifier,
    ImageRef,
    Int64,
    LabelKey,
    LabelValue,
    Percent,
    PipelineName,
    Quantity,
    RepoUri,
    SafeStr,
    Sha256,
    StorageUri,
    Version,
    WebUri,
)

# --- metadata --------------------------------------------------------------------------------


class Metadata(Strict):
    name: PipelineName = Field(
        description="The model's name: a DNS-1123 label used in every output, and the name of "
        "the pipeline function (so not a Python keyword, builtin or a name pipeline.py uses)."
    )
    team: DnsLabel
    owners: list[Email] = Field(default_factory=list, max_length=20)
    labels: dict[LabelKey, LabelValue] = Field(default_factory=dict, max_length=32)
    description: FreeText = ""


class Code(Strict):
    """The training code's version, recorded in published model metadata."""

    repository: RepoUri | None = None
    revision: GitRevision | None = None


# --- data ------------------------------------------------------------------------------------

ColumnType = Literal["int", "float", "string", "bool", "category", "datetime"]


class DataSource(Strict):
    name: DnsLabel
    uri: DataUri = Field(
        description="gs://, s3://, https://, file:/// or a path relative to the spec."
    )
    format: Literal["csv", "parquet", "json", "jsonl"]
    version: Version | None = Field(default=None, description="Data version label; or give sha256.")
    sha256: Sha256 | None = None


class Column(Strict):
    name: Identifier
    type: ColumnType
    nullable: bool = False
    min: float | None = None
    max: float | None = None
    allowed: list[ScalarValue] | None = Field(default=None, min_length=1, max_length=1000)


# The schema is copied into every pipeline step that checks data, and kfp's cost grows with
# each value it carries: 2,000 columns x 88 allowed values took 27 s and wrote a 14 MB IR. The
# total keeps any legal spec within a few seconds (see bench/large_spec.py).
MAX_ALLOWED_VALUES = 10_000


class DataSchema(Strict):
    columns: list[Column] = Field(
        min_length=1,
        max_length=2000,
        description=f"At most {MAX_ALLOWED_VALUES} allowed values across all columns.",
    )
    min_rows: int = Field(default=1, ge=1, le=INT64_MAX)

    @model_validator(mode="after")
    def _bounded_allowed_values(self) -> DataSchema:
        total = 0
        for column in self.columns:
            total += len(column.allowed or ())
            if total > MAX_ALLOWED_VALUES:
                raise ValueError(
                    f"columns list more than {MAX_ALLOWED_VALUES} allowed values in all (column "
                    f"{column.name!r} reaches {total}); type a high-cardinality column as "
                    "string instead of listing its values"
                )
        return self


class Split(Strict):
    test_fraction: Fraction = 0.2
    seed: int = Field(default=0, ge=0, le=2**31 - 1)
    stratify: bool = False


class Data(Strict):
    sources: list[DataSource] = Field(min_length=1, max_length=50)
    data_schema: DataSchema = Field(alias="schema")
    target: Identifier
    split: Split = Split()
    preprocessing: Preprocessing = model_default(
        Preprocessing,
        description="Imputation, scaling, encoding and dropping of feature columns; part of "
        "the published model.",
    )


# --- model -----------------------------------------------------------------------------------


class Gpu(Strict):
    count: int = Field(ge=0, le=16)
    type: AcceleratorType | None = None


class Resources(Strict):
    cpu: Quantity | None = None
    memory: Quantity | None = None
    gpu: Gpu | None = None


SecretUse = Literal["data", "storage", "training"]
SECRET_USES: tuple[SecretUse, ...] = ("data", "storage", "training")


class SecretEnv(Strict):
    """An environment variable filled from a Kubernetes Secret, referenced by name only."""

    env: EnvVarName
    secret: DnsLabel
    key: Annotated[str, Field(pattern=r"^[-._a-zA-Z0-9]{1,253}$")]
    used_by: list[SecretUse] = Field(
        default_factory=lambda: list(SECRET_USES),
        min_length=1,
        max_length=3,
        description="The pipeline steps that get this variable: data (the ingest steps of the "
        "training and monitoring pipelines), storage (publish, and the drift step that reads "
        "the published reference), training (train, evaluate and the gates). Omitted: all three.",
    )

    @field_validator("used_by")
    @classmethod
    def _distinct_uses(cls, value: list[SecretUse]) -> list[SecretUse]:
        twice = sorted({use for use in value if value.count(use) > 1})
        if twice:
            raise ValueError(f"used_by lists {', '.join(twice)} twice")
        return value


class Toleration(Strict):
    key: LabelKey
    operator: Literal["Equal", "Exists"] = "Equal"
    value: LabelValue | None = None
    effect: Literal["NoSchedule", "PreferNoSchedule", "NoExecute"] | None = None


ParamScalar = SafeStr | Int64 | float | bool
ParamList = Annotated[list[ParamScalar], Field(max_length=1000)]
ParamValue = Annotated[ParamScalar | ParamList | None, FITS_INT64, at_most(1000)]

Framework = Literal["sklearn", "xgboost", "lightgbm", "custom"]
BUILTIN_FRAMEWORKS: tuple[Framework, ...] = ("sklearn", "xgboost", "lightgbm")
# Their native booster is what KServe serves, alone: no transformer runs in front of it.
BOOSTER_FRAMEWORKS: tuple[Framework, ...] = ("xgboost", "lightgbm")


class Model(Strict):
    framework: Framework
    task: Literal["classification", "regression"]
    estimator: DottedPath | None = Field(
        default=None,
        description="Built-in frameworks: the estimator class, e.g. sklearn.linear_model.Ridge: "
        "a classifier or regressor of the framework in specops' estimator catalog, or one the "
        "platform adds (estimators.extra).",
    )
    params: dict[Identifier, ParamValue] = Field(
        default_factory=dict,
        max_length=100,
        description="Constructor parameters of the estimator (names from the catalog).",
    )
    image: ImageRef | None = Field(default=None, description="custom: the training image.")
    command: list[SafeStr] | None = Field(default=None, min_length=1, max_length=50)
    args: list[SafeStr] = Field(default_factory=list, max_length=100)
    resources: Resources = Resources()
    retries: int = Field(default=0, ge=0, le=10)
    timeout: Duration | None = None
    caching: bool = True
    node_selector: dict[LabelKey, LabelValue] = Field(default_factory=dict, max_length=20)
    tolerations: list[Toleration] = Field(default_factory=list, max_length=20)
    secrets: list[SecretEnv] = Field(default_factory=list, max_length=50)


# --- validation gates ------------------------------------------------------------------------

CLASSIFICATION_METRICS = ("accuracy", "precision", "recall", "f1", "roc_auc", "log_loss")
REGRESSION_METRICS = ("rmse", "mae", "r2", "mape")
MetricName = Literal["accuracy", "precision", "recall", "f1", "roc_auc", "log_loss",
                     "rmse", "mae", "r2", "mape"]  # fmt: skip


# Which way is better, per metric: a "drop" of a champion gate is a change for the worse, so a
# decrease of these and an increase of the others (losses and errors).
HIGHER_IS_BETTER = frozenset({"accuracy", "precision", "recall", "f1", "roc_auc", "r2"})
# Metrics that lie in [0, 1]: a max_drop of 1 or more could never fail.
UNIT_INTERVAL_METRICS = frozenset({"accuracy", "precision", "recall", "f1", "roc_auc"})


class MetricGate(Strict):
    name: MetricName
    min: float | None = None
    max: float | None = None
    against: DnsLabel | None = Field(
        default=None,
        description="Champion/challenger: an environment of deploy.environments whose current "
        "model (the model_version it serves) the new model is compared with, on the same test "
        "rows. No published model there yet (a first release): the gate passes and says why.",
    )
    max_drop: float | None = Field(
        default=None,
        ge=0,
        description="With `against`: how much worse than the champion the new model may be, in "
        "the metric's units: a decrease of accuracy, precision, recall, f1, roc_auc and r2, an "
        "increase of log_loss, rmse, mae and mape. Omitted: 0 (no worse at all).",
    )

    @model_validator(mode="after")
    def _drop_needs_champion(self) -> MetricGate:
        if self.max_drop is not None and self.against is None:
            raise ValueError("max_drop is measured against a champion: add against: <environment>")
        return self

    @property
    def higher_is_better(self) -> bool:
        return self.name in HIGHER_IS_BETTER


class DataCheck(Strict):
    kind: Literal["row_count", "null_fraction", "unique"]
    column: Identifier | None = None
    min: float | None = None
    max: float | None = None


class Latency(Strict):
    p50_ms: float | None = Field(default=None, gt=0)
    p95_ms: float | None = Field(default=None, gt=0)
    p99_ms: float | None = Field(default=None, gt=0)
    samples: int = Field(default=200, ge=10, le=100_000)


class Explainability(Strict):
    method: Literal["permutation_importance"] = "permutation_importance"
    serve: bool = Field(
        default=False, description="Also deploy an explainer next to the predictor."
    )


class Validation(Strict):
    metrics: list[MetricGate] = Field(default_factory=list, max_length=20)
    data_checks: list[DataCheck] = Field(default_factory=list, max_length=100)
    latency: Latency | None = None
    explainability: Explainability | None = None


# --- deploy ----------------------------------------------------------------------------------


class Replicas(Strict):
    min: int = Field(default=1, ge=0, le=1000)
    max: int = Field(default=1, ge=1, le=1000)


class Autoscaling(Strict):
    metric: Literal["concurrency", "rps", "cpu", "memory"] = "concurrency"
    target: int = Field(default=10, ge=1, le=100_000)


class Canary(Strict):
    traffic_percent: Percent


class Environment(Strict):
    name: DnsLabel
    namespace: DnsLabel | None = Field(
        default=None,
        description="Kubernetes namespace. Omitted: the platform's namespace pattern for this "
        "environment.",
    )
    cluster: DnsLabel = Field(default="in-cluster", description="Argo CD destination cluster name.")
    model_version: Version = Field(
        description="The published model version this environment serves."
    )
    replicas: Replicas = Replicas()
    autoscaling: Autoscaling = Autoscaling()
    resources: Resources | None = None
    canary: Canary | None = None
    approval: Literal["none", "required"] = "none"
    serve: bool = Field(
        default=True,
        description="Serve the model online (an InferenceService). false: a batch-only "
        "environment, which needs batch.",
    )
    batch: Batch | None = Field(
        default=None,
        description="Also score files on a schedule with this model_version (a KFP batch "
        "pipeline and its recurring run).",
    )


class Serving(Strict):
    """custom framework: the image that serves the model (built-ins use KServe runtimes)."""

    image: ImageRef
    port: int = Field(default=8080, ge=1, le=65535)
    command: list[SafeStr] | None = Field(default=None, min_length=1, max_length=50)


class ArgoCd(Strict):
    """Where Argo CD reads the compiled output from, and the project its Applications join."""

    repo_url: RepoUri | None = Field(
        default=None,
        description="The GitOps repository. Omitted: the platform's defaults.gitops.repo_url, "
        "else the spec checkout's git remote (origin).",
    )
    project: DnsLabel | None = Field(
        default=None,
        description="The Argo CD project of every environment the platform gives none "
        "(a platform environment's argocd_project wins: a project is an access boundary). "
        "Omitted: the platform's defaults.gitops.project.",
    )


class Deploy(Strict):
    runtime: Literal["kserve"] = "kserve"
    model_uri: StorageUri | None = Field(
        default=None,
        description="Storage root where the pipeline publishes versions. Omitted: the "
        "platform's model storage root with the spec name.",
    )
    service_account: DnsLabel | None = Field(
        default=None, description="Service account that holds the storage credentials secret."
    )
    serving: Serving | None = None
    argocd: ArgoCd = ArgoCd()
    environments: list[Environment] = Field(min_length=1, max_length=20)


# --- monitoring, schedule, CI ----------------------------------------------------------------


class Drift(Strict):
    schedule: Cron
    method: Literal["psi", "ks"] = "psi"
    threshold: float = Field(gt=0, le=10)
    window: Duration = "24h"


class Alerts(Strict):
    latency_p95_ms: float | None = Field(default=None, gt=0)
    error_rate: float | None = Field(default=None, gt=0, le=1)
    drift: bool = True
    runbook_url: WebUri | None = Field(
        default=None,
        description="Base URL of the alerts' runbooks (each alert links <url>/<AlertName>). "
        "Omitted: the platform's defaults.runbook_base_url.",
    )


class Monitoring(Strict):
    drift: Drift | None = None
    alerts: Alerts | None = None


class Schedule(Strict):
    retrain: Cron | None = None


class Ci(Strict):
    providers: list[Literal["github", "gitlab"]] = Field(default=["github"], min_length=1)
    default_branch: Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,99}$")] = "main"
    sarif: bool = False


class MLPipeline(Strict):
    """One model's delivery: data, training, gates, deployment and monitoring."""

    api_version: Literal["specops/v1"] = Field(alias="apiVersion")
    kind: Literal["MLPipeline"]
    metadata: Metadata
    code: Code = Code()
    data: Data
    model: Model
    validation: Validation = Validation()
    deploy: Deploy
    monitoring: Monitoring = Monitoring()
    schedule: Schedule = Schedule()
    ci: Ci = model_default(Ci)
    registry: Registry | None = Field(
        default=None,
        description="A model registry every published version is registered in, and whose "
        "aliases promotion moves (MLflow). Omitted: none.",
    )
