"""What a reviewer compares between two versions of a spec: its resolved plan as named facts.

A fact is one setting as the plan resolved it (platform layers included), with a stable key, a
label for people and its value as display text. Facts that belong together (one data source,
one parameter, one gate) share a group, so a new or removed one reads as one line.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from compiler.model.spec import Column, DataCheck, Gpu, MLPipeline, Resources
from compiler.plan import Plan, ResolvedEnvironment


@dataclass(frozen=True, slots=True)
class Fact:
    key: str  # stable: "model.params.max_depth", "env.canary"
    label: str  # for people: "param max_depth"
    value: str | None  # display text; None when not set
    unit: str = ""  # written once after the values: " ms"
    group: str | None = None  # key of the group: "model.params.max_depth"
    group_label: str = ""  # "param max_depth"


def text(value: Any) -> str:
    """A value as short display text: 0.2, 50, true, [a, b]."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:g}" if abs(value) >= 1e-4 or value == 0 else repr(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(text(v) for v in value) + "]"
    if value is None:
        return "null"
    return str(value)


def _maybe(value: Any) -> str | None:
    return None if value is None else text(value)


def percent(fraction: float | None) -> str | None:
    return None if fraction is None else f"{fraction * 100:g}%"


def _gpu(gpu: Gpu | None) -> str | None:
    if gpu is None:
        return None
    return f"{gpu.count} x {gpu.type}" if gpu.type else str(gpu.count)


def _resources(prefix: str, label: str, resources: Resources | None) -> Iterator[Fact]:
    found = resources or Resources()
    yield Fact(f"{prefix}.cpu", f"{label}cpu", _maybe(found.cpu))
    yield Fact(f"{prefix}.memory", f"{label}memory", _maybe(found.memory))
    yield Fact(f"{prefix}.gpu", f"{label}gpu", _gpu(found.gpu))


def _grouped(
    group: str, group_label: str, items: list[tuple[str, str, str | None]]
) -> Iterator[Fact]:
    for key, label, value in items:
        full = f"{group}.{key}" if key else group
        yield Fact(full, f"{group_label} {label}".strip(), value, "", group, group_label)


def _model(spec: MLPipeline) -> Iterator[Fact]:
    model = spec.model
    yield Fact("model.framework", "framework", model.framework)
    yield Fact("model.task", "task", model.task)
    yield Fact("model.estimator", "estimator", model.estimator)
    for name, value in sorted(model.params.items()):
        yield from _grouped(f"model.params.{name}", f"param {name}", [("", "", text(value))])
    yield Fact("model.image", "training image", model.image)
    yield Fact("model.command", "training command", _maybe(model.command))
    yield Fact("model.args", "training args", text(model.args) if model.args else None)
    yield from _resources("model.resources", "training ", model.resources)
    yield Fact("model.retries", "training retries", text(model.retries))
    yield Fact("model.timeout", "training timeout", model.timeout)
    yield Fact("model.caching", "step caching", "on" if model.caching else "off")


def _column(column: Column) -> list[tuple[str, str, str | None]]:
    return [
        ("type", "type", column.type),
        ("nullable", "nullable", text(column.nullable)),
        ("min", "min", _maybe(column.min)),
        ("max", "max", _maybe(column.max)),
        ("allowed", "allowed", _maybe(column.allowed)),
    ]


def _data(plan: Plan) -> Iterator[Fact]:
    data = plan.spec.data
    for source in sorted(data.sources, key=lambda s: s.name):
        yield from _grouped(
            f"data.sources.{source.name}",
            f"data source {source.name}",
            [
                ("uri", "URI", source.uri),
                ("format", "format", source.format),
                ("version", "version", source.version),
                ("sha256", "sha256", source.sha256),
            ],
        )
    yield Fact("data.target", "target column", data.target)
    yield Fact("data.split.test_fraction", "test fraction", text(data.split.test_fraction))
    yield Fact("data.split.seed", "split seed", text(data.split.seed))
    yield Fact("data.split.stratify", "stratified split", text(data.split.stratify))
    yield Fact("data.schema.min_rows", "minimum rows", text(data.data_schema.min_rows))
    for column in data.data_schema.columns:
        yield from _grouped(f"data.columns.{column.name}", f"column {column.name}", _column(column))
    for feature in json.loads(plan.preprocessing_json):
        name = str(feature.get("name"))
        settings = [(k, k.replace("_", " "), _maybe(v)) for k, v in sorted(feature.items())]
        yield from _grouped(
            f"preprocessing.{name}", f"feature {name}", [s for s in settings if s[0] != "name"]
        )


def _check_name(check: DataCheck) -> str:
    return f"{check.kind}({check.column})" if check.column else check.kind


def _validation(spec: MLPipeline) -> Iterator[Fact]:
    validation = spec.validation
    for gate in validation.metrics:
        yield from _grouped(
            f"validation.metrics.{gate.name}",
            f"gate {gate.name}",
            [
                ("min", "min", _maybe(gate.min)),
                ("max", "max", _maybe(gate.max)),
                ("against", "against", _maybe(gate.against)),
                ("max_drop", "max drop", _maybe(gate.max_drop)),
            ],
        )
    latency = validation.latency
    for quantile in ("p50", "p95", "p99"):
        value = getattr(latency, f"{quantile}_ms") if latency else None
        yield Fact(
            f"validation.latency.{quantile}", f"gate {quantile} latency", _maybe(value), " ms"
        )
    yield Fact("validation.latency.samples", "latency samples", _maybe(latency and latency.samples))
    for check in validation.data_checks:
        name = _check_name(check)
        yield from _grouped(
            f"validation.data_checks.{name}",
            f"data check {name}",
            [("min", "min", _maybe(check.min)), ("max", "max", _maybe(check.max))],
        )
    explain = validation.explainability
    yield Fact("validation.explainability", "explainability", explain.method if explain else None)
    yield Fact("validation.explainer", "explainer served", text(bool(explain and explain.serve)))


def _deploy(plan: Plan) -> Iterator[Fact]:
    deploy = plan.spec.deploy
    yield Fact("deploy.model_uri", "model URI", deploy.model_uri)
    yield Fact("deploy.service_account", "service account", deploy.service_account)
    serving = deploy.serving
    yield Fact("deploy.serving.image", "serving image", serving.image if serving else None)
    yield Fact("deploy.serving.port", "serving port", _maybe(serving and serving.port))
    yield Fact("deploy.argocd.repo_url", "GitOps repository", plan.defaults.argocd_repo_url)


def _monitoring(plan: Plan) -> Iterator[Fact]:
    monitoring = plan.spec.monitoring
    drift = monitoring.drift
    yield Fact("monitoring.drift.schedule", "drift schedule", drift.schedule if drift else None)
    yield Fact("monitoring.drift.method", "drift method", drift.method if drift else None)
    yield Fact("monitoring.drift.threshold", "drift threshold", _maybe(drift and drift.threshold))
    yield Fact("monitoring.drift.window", "drift window", drift.window if drift else None)
    alerts = monitoring.alerts
    latency = alerts.latency_p95_ms if alerts else None
    yield Fact("monitoring.alerts.latency_p95", "alert p95 latency", _maybe(latency), " ms")
    rate = alerts.error_rate if alerts else None
    yield Fact("monitoring.alerts.error_rate", "alert error rate", percent(rate))
    drift_alert = alerts is not None and alerts.drift and drift is not None
    yield Fact("monitoring.alerts.drift", "drift alert", "on" if drift_alert else "off")
    runbook = (alerts.runbook_url if alerts else None) or plan.defaults.runbook_base_url
    yield Fact("monitoring.alerts.runbook_url", "runbook URL", runbook)
    yield Fact("schedule.retrain", "retrain schedule", plan.spec.schedule.retrain)


def _metadata(spec: MLPipeline) -> Iterator[Fact]:
    yield Fact("metadata.team", "team", spec.metadata.team)
    yield Fact("metadata.owners", "owners", text(spec.metadata.owners))
    yield Fact("ci.providers", "CI providers", text(spec.ci.providers))
    yield Fact("ci.default_branch", "default branch", spec.ci.default_branch)
    order = [env.name for env in spec.deploy.environments]
    yield Fact("deploy.environments", "promotion order", ", ".join(order))


def spec_facts(plan: Plan) -> dict[str, Fact]:
    """Every spec-wide fact of the plan, in the order a summary lists their changes."""
    facts = [
        *_model(plan.spec),
        *_data(plan),
        *_validation(plan.spec),
        *_deploy(plan),
        *_monitoring(plan),
        *_metadata(plan.spec),
    ]
    return {f.key: f for f in facts}


def env_facts(env: ResolvedEnvironment) -> dict[str, Fact]:
    """Every fact of one resolved environment."""
    scaling = env.autoscaling
    facts = [
        Fact("model_version", "model", env.model_version),
        Fact("namespace", "namespace", env.namespace),
        Fact("cluster", "cluster", env.cluster),
        Fact("replicas", "replicas", f"{env.replicas.min}-{env.replicas.max}"),
        Fact("autoscaling", "autoscaling", f"{scaling.metric} {scaling.target}"),
        *_resources("resources", "", env.resources),
        Fact("canary", "canary", None if env.canary_percent is None else f"{env.canary_percent}%"),
        Fact("approval", "approval", "required" if env.approval_required else "none"),
        Fact("argocd_project", "Argo CD project", env.argocd_project or None),
        Fact("kfp_host", "Kubeflow host", env.kfp_host),
    ]
    return {f.key: f for f in facts}


# --- what a summary compares: a plan's facts, bounded and printable -------------------------

# Shown as a visible escape instead of itself: control characters, line breaks and bidirectional
# overrides would forge or hide text in a pull request comment ("Trojan Source").
INVISIBLE = re.compile(r"[\x00-\x1f\x7f-\x9f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff]")
MAX_KEY_CHARS = 256
MAX_LABEL_CHARS = 512
MAX_VALUE_CHARS = 1024


def bounded(value: str, limit: int) -> str:
    """`value` with invisible characters escaped and, over `limit` characters, cut and tagged
    with the digest of the whole: two long values that differ still read as different."""
    shown = INVISIBLE.sub(lambda m: f"\\u{ord(m.group()):04x}", value)
    if len(shown) <= limit:
        return shown
    digest = hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()[:16]
    return f"{shown[: limit - 40]}… (sha256 {digest})"


def bounded_fact(fact: Fact) -> Fact:
    """The fact as a summary shows it and an output folder records it."""
    group = None if fact.group is None else bounded(fact.group, MAX_KEY_CHARS)
    return Fact(
        bounded(fact.key, MAX_KEY_CHARS),
        bounded(fact.label, MAX_LABEL_CHARS),
        None if fact.value is None else bounded(fact.value, MAX_VALUE_CHARS),
        bounded(fact.unit, MAX_LABEL_CHARS),
        group,
        bounded(fact.group_label, MAX_LABEL_CHARS),
    )


@dataclass(frozen=True, slots=True)
class PlanFacts:
    """Everything `diff --summary` compares of one plan: a pure function of the plan, so a
    compile can record it in the output folder (whatever targets it renders) and a later
    summary can compare with it as a base."""

    name: str
    spec_path: str
    spec: dict[str, Fact]
    environments: dict[str, dict[str, Fact]]  # in promotion order


def _bounded_facts(facts: dict[str, Fact]) -> dict[str, Fact]:
    found: dict[str, Fact] = {}
    for fact in map(bounded_fact, facts.values()):
        found.setdefault(fact.key, fact)
    return found


def plan_facts(plan: Plan) -> PlanFacts:
    """The facts of `plan` as a summary compares them."""
    return PlanFacts(
        plan.name,
        plan.provenance.spec_path,
        _bounded_facts(spec_facts(plan)),
        {env.name: _bounded_facts(env_facts(env)) for env in plan.environments},
    )
