"""Rules about deployment and monitoring."""

from __future__ import annotations

from collections.abc import Iterator

from compiler.check.rules import rule
from compiler.diagnostics import Diagnostic, JsonPath, error, warning
from compiler.loader import LoadedSpec
from compiler.model.spec import (
    BUILTIN_FRAMEWORKS,
    MLPipeline,
)


@rule
def environments(spec: MLPipeline, loaded: LoadedSpec) -> Iterator[Diagnostic]:
    places: set[tuple[str, str]] = set()
    for index, env in enumerate(spec.deploy.environments):
        where: JsonPath = ("deploy", "environments", index)
        if env.replicas.min > env.replicas.max:
            yield _replicas_order(env.replicas.min, env.replicas.max, where, loaded)
        if env.canary is not None and index == 0:
            yield error(
                "CHK012",
                f"environment {env.name!r} has a canary but no earlier environment to compare with",
                loaded.locate((*where, "canary"), key=True),
                "a canary splits traffic with the version already promoted; list an "
                "earlier environment first",
            )
        if env.namespace is None:
            continue  # CHK018
        if (env.cluster, env.namespace) in places:
            yield error(
                "CHK013",
                f"namespace {env.namespace!r} on cluster {env.cluster!r} is "
                "used by two environments",
                loaded.locate((*where, "namespace")),
            )
        places.add((env.cluster, env.namespace))


def _replicas_order(low: int, high: int, where: JsonPath, loaded: LoadedSpec) -> Diagnostic:
    """CHK011, naming the default when the spec leaves replicas.max out."""
    given = (*where, "replicas", "max") in loaded.key_positions
    if given:
        return error(
            "CHK011",
            f"replicas.min {low} is greater than replicas.max {high}",
            loaded.locate((*where, "replicas", "min")),
        )
    return error(
        "CHK011",
        f"replicas.min {low} is greater than replicas.max, which defaults to {high}",
        loaded.locate((*where, "replicas", "min")),
        f"set replicas.max to at least {low}",
    )


@rule
def monitoring(spec: MLPipeline, loaded: LoadedSpec) -> Iterator[Diagnostic]:
    alerts = spec.monitoring.alerts
    if alerts is not None and alerts.drift and spec.monitoring.drift is None:
        yield error(
            "CHK014",
            "alerts.drift needs monitoring.drift (nothing measures drift)",
            loaded.locate(("monitoring", "alerts", "drift")),
            "add monitoring.drift or set alerts.drift: false",
        )


@rule
def builtin_serving(spec: MLPipeline, loaded: LoadedSpec) -> Iterator[Diagnostic]:
    if spec.model.framework in BUILTIN_FRAMEWORKS and spec.deploy.serving is not None:
        yield warning(
            "CHK015",
            f"deploy.serving overrides the KServe {spec.model.framework} "
            "runtime with a custom image",
            loaded.locate(("deploy", "serving"), key=True),
        )


# KServe's serverless predictor answers at <name>-predictor-<namespace>.<domain>, one DNS label.
_PREDICTOR_HOST = "{name}-predictor-{namespace}"


@rule
def serving_names(spec: MLPipeline, loaded: LoadedSpec) -> Iterator[Diagnostic]:
    name = spec.metadata.name
    if not name[0].isalpha():
        yield error(
            "CHK017",
            f"metadata.name {name!r} must start with a letter: KServe names "
            "InferenceServices after it",
            loaded.locate(("metadata", "name")),
        )
    for index, env in enumerate(spec.deploy.environments):
        host = _PREDICTOR_HOST.format(name=name, namespace=env.namespace)
        if env.namespace is not None and len(host) > 63:
            yield error(
                "CHK017",
                f"the predictor host label {host!r} is {len(host)} characters; DNS allows 63",
                loaded.locate(("deploy", "environments", index, "namespace")),
                "shorten metadata.name or this namespace",
            )
        if len(f"{name}-{env.name}") > 63:
            yield error(
                "CHK017",
                f"the Argo CD Application name '{name}-{env.name}' is longer than 63 characters",
                loaded.locate(("deploy", "environments", index, "name")),
            )
