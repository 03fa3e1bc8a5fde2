"""Stage 5: build the `Plan` (compiler.plan) of one resolved spec: everything templates see.

It reads a `ResolvedSpec` (compiler.platform.resolve) and derives what templates would otherwise
have to compute: each environment's storage URI and position, the champion gates, the registry
with the platform's defaults filled in. It never resolves the platform again.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from compiler.catalog import Estimator, allowed_estimators
from compiler.install_source import running_install_source
from compiler.model.registry import RegistryPlan
from compiler.model.spec import Environment, MLPipeline
from compiler.plan import ChampionGate, Defaults, Plan, Provenance, ResolvedEnvironment
from compiler.platform.resolve import ResolvedSpec
from compiler.preprocessing import preprocessing_json


def build_plan(resolved: ResolvedSpec) -> Plan:
    """`plan.spec` is the effective spec (platform defaults layered under the spec's values),
    `plan.defaults` carry the platform's settings and each environment its platform
    environment's. Raises ValueError for a spec validation would have refused (no namespace,
    no model_uri, a registry without a tracking URI)."""
    spec, delivery = resolved.effective, resolved.delivery
    defaults = dataclasses.replace(
        resolved.defaults,
        argocd_repo_url=delivery.repo_url,
        runbook_base_url=delivery.runbook_url or resolved.defaults.runbook_base_url,
        ci=dataclasses.replace(
            resolved.defaults.ci, specops_requirement=specops_requirement(resolved.defaults)
        ),
    )
    environments = _environments(resolved, spec, defaults)
    return Plan(
        spec,
        Provenance(resolved.loaded.source.path, resolved.loaded.source.sha256),
        defaults,
        environments,
        _estimator(spec, resolved.estimators),
        preprocessing_json(spec),
        champion_gates(spec, environments),
        registry_plan(spec, defaults),
    )


def _environments(
    resolved: ResolvedSpec, spec: MLPipeline, defaults: Defaults
) -> tuple[ResolvedEnvironment, ...]:
    envs = spec.deploy.environments
    serving = [index for index, env in enumerate(envs) if env.serve]
    last_serving = serving[-1] if serving else len(envs) - 1
    # Settings only a platform gives; without one, nothing sets them.
    layered = resolved.platform_layered
    extras = {e.name: e.extras for e in layered.environments} if layered is not None else {}
    return tuple(
        _resolve_environment(
            spec,
            env,
            index,
            defaults,
            extras.get(env.name, {}),
            resolved.delivery.projects[env.name] or "",
            is_last_serving=index == last_serving,
        )
        for index, env in enumerate(envs)
    )


def registry_plan(spec: MLPipeline, defaults: Defaults) -> RegistryPlan | None:
    """The spec's registry with the platform's defaults (CHK029: a valid spec has a URI)."""
    registry = spec.registry
    if registry is None:
        return None
    uri = registry.tracking_uri or defaults.registry_tracking_uri
    if uri is None:
        raise ValueError("the spec's registry has no tracking URI")  # validate_spec: CHK029
    return RegistryPlan(
        registry.kind,
        uri,
        registry.model_name or spec.metadata.name,
        registry.token or defaults.registry_token,
        registry.ci_token_secret or defaults.registry_token_secret,
    )


def champion_gates(
    spec: MLPipeline, environments: tuple[ResolvedEnvironment, ...]
) -> tuple[ChampionGate, ...]:
    """The spec's gates against an environment's champion (CHK028: each names one)."""
    served = {env.name: env for env in environments}
    return tuple(
        ChampionGate(
            gate.name,
            gate.against,
            gate.max_drop or 0.0,
            gate.higher_is_better,
            served[gate.against].model_version,
            served[gate.against].storage_uri,
        )
        for gate in spec.validation.metrics
        if gate.against is not None and gate.against in served
    )


def specops_requirement(defaults: Defaults) -> str:
    """What CI installs: the platform's setting, else derived from this installation."""
    return defaults.ci.specops_requirement or running_install_source().requirement


def _estimator(spec: MLPipeline, extra: tuple[Estimator, ...]) -> Estimator | None:
    """The spec's catalog entry (None for framework custom; validation rejects the rest)."""
    if spec.model.framework == "custom" or spec.model.estimator is None:
        return None
    return allowed_estimators(spec.model.framework, extra).get(spec.model.estimator)


def _resolve_environment(
    spec: MLPipeline,
    env: Environment,
    index: int,
    defaults: Defaults,
    extras: Mapping[str, Any],
    argocd_project: str,
    *,
    is_last_serving: bool,
) -> ResolvedEnvironment:
    envs = spec.deploy.environments
    if env.namespace is None or spec.deploy.model_uri is None:
        # validate_spec reports these (CHK018/CHK019); a plan is built from a valid spec only
        raise ValueError(f"environment {env.name!r} has no namespace or the spec no model_uri")
    return ResolvedEnvironment(
        name=env.name,
        namespace=env.namespace,
        cluster=env.cluster,
        index=index,
        previous=envs[index - 1].name if index else None,
        model_version=env.model_version,
        storage_uri=f"{spec.deploy.model_uri.rstrip('/')}/{env.model_version}",
        replicas=env.replicas,
        autoscaling=env.autoscaling,
        resources=env.resources or defaults.serving_resources,
        canary_percent=env.canary.traffic_percent if env.canary else None,
        approval_required=env.approval == "required",
        is_last=index == len(envs) - 1,
        serve=env.serve,
        is_last_serving=is_last_serving,
        batch=env.batch,
        argocd_project=argocd_project,
        kfp_host=extras.get("kfp_host"),
        model_storage_root=extras.get("model_storage_root"),
    )
