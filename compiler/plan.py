"""The plan's types: everything templates see, with defaults merged and environments resolved.

Templates never reach back into raw spec data: a value a template needs is either on the
validated `MLPipeline` (`plan.spec`) or derived once by compiler.planner, which builds a `Plan`
from a resolved spec (compiler.platform.resolve). `Defaults` is declared here, where templates
read it as `plan.defaults`; platform.yaml sets its fields (compiler.platform.defaults). This
module depends on the spec model only, so every stage may import it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from compiler._version import __version__
from compiler.catalog import Estimator
from compiler.model.batch import Batch
from compiler.model.registry import RegistryPlan, RegistryToken, TrackingUri
from compiler.model.spec import Autoscaling, MLPipeline, Replicas, Resources
from compiler.model.types import (
    ActionRepo,
    CiName,
    DnsLabel,
    GitRef,
    GitRevision,
    ImageRef,
    InstallRequirement,
    LabelKey,
    PackageName,
    RepoGlob,
    RepoPath,
    RepoUri,
    Requirement,
    SecretName,
    Version,
    WebUri,
)


@dataclass(frozen=True, slots=True)
class Provenance:
    spec_path: str
    spec_sha256: str
    compiler_version: str = __version__


@dataclass(frozen=True, slots=True)
class PinnedAction:
    """A third-party GitHub Action pinned by full commit SHA; `version` is the tag it was."""

    repository: ActionRepo  # owner/name[/path]
    sha: GitRevision
    version: Version


@dataclass(frozen=True, slots=True)
class CiDefaults:
    """Settings of the generated CI workflows. Secrets are named here, never held."""

    python_version: Version = "3.11"
    # What CI pip-installs; None: derived from how this specops was installed
    # (compiler.install_source), `specops==<version>` with a compile-time note when unknown.
    specops_requirement: InstallRequirement | None = None
    output_dir: RepoPath = "."  # where the repository commits `specops compile` output
    watch_paths: tuple[RepoGlob, ...] = ("templates/**", "platform.yaml")  # beyond spec, data
    kfp_pipeline_path: RepoPath = "kubeflow/{spec}/pipeline.yaml"  # the IR, inside output_dir
    kfp_monitoring_path: RepoPath = "kubeflow/{spec}/monitoring.yaml"  # drift pipeline IR
    kfp_batch_path: RepoPath = "kubeflow/{spec}/batch-{env}.yaml"  # batch scoring IR
    kfp_token_secret: SecretName = "KFP_TOKEN"
    kfp_environment: CiName = "kubeflow"  # the CI environment that holds the Kubeflow secrets
    kfp_namespace: DnsLabel | Literal[""] = ""  # empty: single-user Kubeflow Pipelines
    gitops_token_secret: SecretName = "GITOPS_TOKEN"
    # GitLab: an api-scope project access token (a masked variable) that lets the merge request
    # summary job keep its note; without it the summary is the job's artifact only.
    gitlab_note_token_secret: SecretName = "SPECOPS_GITLAB_TOKEN"
    promote_paths: tuple[RepoPath, ...] = ("deploy/{env}/{spec}", "argocd/{env}/{spec}.yaml")
    github_runner: CiName = "ubuntu-24.04"
    gitlab_image: ImageRef = "python:3.11-bookworm"  # needs git for promotion commits
    checkout: PinnedAction = PinnedAction(
        "actions/checkout", "11bd71901bbe5b1630ceea73d27597364c9af683", "v4.2.2"
    )
    setup_python: PinnedAction = PinnedAction(
        "actions/setup-python", "a26af69be951a213d495a4c3e4e4022e16d87065", "v5.6.0"
    )
    upload_sarif: PinnedAction = PinnedAction(
        "github/codeql-action/upload-sarif", "ff0a06e83cb2de871e5a09832bc6a81e7276941f", "v3.28.18"
    )
    create_pull_request: PinnedAction = PinnedAction(
        "peter-evans/create-pull-request", "271a8d0340265f705b14b6d32b9829c1cb33d45e", "v7.0.8"
    )


@dataclass(frozen=True, slots=True)
class Defaults:
    """Platform-wide settings a spec does not choose (a platform.yaml may override them)."""

    serving_resources: Resources = field(default_factory=lambda: Resources(cpu="1", memory="2Gi"))
    # No built-in value (a placeholder would deploy somewhere nobody chose): the spec, the
    # platform or the checkout's git remote gives them, else validation fails (CHK024-CHK026,
    # compiler.platform.checks).
    argocd_project: DnsLabel | None = None
    argocd_repo_url: RepoUri | None = None
    argocd_target_revision: GitRef = "main"
    # Serving and GitOps: where Argo CD Applications live, where the compiled output sits in the
    # GitOps repository, and the cluster facts the serving templates need.
    argocd_namespace: DnsLabel = "argocd"
    argocd_path_prefix: RepoPath = ""  # the output directory's path inside argocd_repo_url
    kserve_model_formats: dict[DnsLabel, DnsLabel] = field(
        default_factory=lambda: {"sklearn": "sklearn", "xgboost": "xgboost", "lightgbm": "lightgbm"}
    )
    gpu_node_label: LabelKey = "cloud.google.com/gke-accelerator"  # node label naming GPU type
    explainer_image: ImageRef = "ghcr.io/acme/specops-explainer:0.1.0"  # serves importances
    runbook_base_url: WebUri | None = None  # see argocd_project
    kfp_host_secret: SecretName = "KFP_HOST"
    ci: CiDefaults = field(default_factory=CiDefaults)
    # Kubeflow components: an explicit base image (no kfp default-image drift) and the exact
    # versions each component installs at run time, so a retrain next year gets the same stack.
    kfp_base_image: ImageRef = "python:3.11-slim"
    kfp_packages: dict[PackageName, Requirement] = field(
        default_factory=lambda: {
            "pandas": "pandas==2.2.3",
            "pyarrow": "pyarrow==18.1.0",
            "scikit-learn": "scikit-learn==1.5.2",
            "xgboost": "xgboost==2.1.3",
            "lightgbm": "lightgbm==4.5.0",
            "fsspec": "fsspec==2024.10.0",
            "gcsfs": "gcsfs==2024.10.0",
            "s3fs": "s3fs==2024.10.0",
            # The register and champion steps of a spec with a registry (the MLflow client,
            # and what it opens a sqlite store with).
            "mlflow": "mlflow-skinny==3.17.2",
            "sqlalchemy": "sqlalchemy==2.1.9",
            "alembic": "alembic==1.20.1",
        }
    )
    # A spec names a GPU model (nvidia-l4); Kubernetes schedules a vendor resource on nodes
    # labelled with that model (gpu_node_label).
    kfp_accelerator_resources: dict[DnsLabel, LabelKey] = field(
        default_factory=lambda: {
            "nvidia": "nvidia.com/gpu",
            "amd": "amd.com/gpu",
            "tpu": "google.com/tpu",
        }
    )
    # KServe's xgboost server refuses a folder holding more than one .bst/.json/.ubj file, and a
    # published version holds metadata.json: native boosters go alone into this subfolder,
    # which the InferenceService's storageUri names for the xgboost and lightgbm formats.
    kserve_booster_dir: DnsLabel = "booster"
    # Where the drift pipeline pushes its gauges: a Prometheus Pushgateway base URL (e.g.
    # http://pushgateway.monitoring:9091), the default of its pushgateway_url parameter.
    # Empty: the scores are not pushed, and the ModelDriftDetected alert cannot fire.
    pushgateway_url: WebUri | Literal[""] = ""
    # The MLflow registry of specs with `registry: {kind: mlflow}` (a spec's own value wins):
    # its tracking URI, the Kubernetes Secret key the pipeline reads its token from, and the CI
    # secret that holds the token the promotion jobs set aliases with.
    registry_tracking_uri: TrackingUri | None = None
    registry_token: RegistryToken | None = None
    registry_token_secret: SecretName = "MLFLOW_TRACKING_TOKEN"


@dataclass(frozen=True, slots=True)
class ResolvedEnvironment:
    name: str
    namespace: str
    cluster: str
    index: int
    previous: str | None
    model_version: str
    storage_uri: str
    replicas: Replicas
    autoscaling: Autoscaling
    resources: Resources
    canary_percent: int | None
    approval_required: bool
    is_last: bool
    serve: bool  # an InferenceService serves it (false: batch-only)
    # The last environment that serves online: drift monitoring watches its model, and its
    # PrometheusRule holds the drift alert (a batch-only environment has no rule file).
    is_last_serving: bool
    batch: Batch | None  # scored on a schedule (resources layered: platform, then spec)
    # Settings only a platform.yaml gives (its environment of the same name). They have
    # defaults, so fields without a default belong above this comment.
    argocd_project: str = ""  # compiler.planner sets it (CHK025: a valid spec has one)
    kfp_host: str | None = None  # the KFP API endpoint of this environment
    model_storage_root: str | None = None


@dataclass(frozen=True, slots=True)
class ChampionGate:
    """A metric gate against the model an environment serves (its champion)."""

    name: str  # the metric
    against: str  # the environment
    max_drop: float  # how much worse the new model may be, in the metric's units
    higher_is_better: bool
    champion_version: str  # the model_version the environment serves
    champion_uri: str  # where that version is published (deploy.model_uri/<version>)

    def as_json(self) -> dict[str, str | float | bool]:
        """What the pipeline's champion step is given for this gate."""
        return {
            "name": self.name,
            "against": self.against,
            "max_drop": self.max_drop,
            "higher_is_better": self.higher_is_better,
            "champion_version": self.champion_version,
        }

    @property
    def record(self) -> dict[str, str | float | bool]:
        """The gate with where its champion is published (the model card's entry)."""
        return {**self.as_json(), "champion_uri": self.champion_uri}


@dataclass(frozen=True, slots=True)
class Plan:
    spec: MLPipeline
    provenance: Provenance
    defaults: Defaults
    environments: tuple[ResolvedEnvironment, ...]
    # The catalog entry of a built-in framework's estimator: the training component refuses
    # any other class, and any parameter not listed, before it imports anything.
    estimator: Estimator | None = None
    # The training step's effective per-column preprocessing (compiler.preprocessing), JSON.
    preprocessing_json: str = "[]"
    champion_gates: tuple[ChampionGate, ...] = ()
    registry: RegistryPlan | None = None  # the spec's model registry (None: it has none)

    @property
    def name(self) -> str:
        return self.spec.metadata.name

    @property
    def identifier(self) -> str:
        """The spec name as a Python identifier (DNS labels only add '-')."""
        return self.name.replace("-", "_")
