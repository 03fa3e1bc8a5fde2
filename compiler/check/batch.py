"""Rules about batch scoring (deploy.environments[].batch and serve: false)."""

from __future__ import annotations

from collections.abc import Iterator

from compiler.check.rules import rule
from compiler.diagnostics import Diagnostic, JsonPath, error, warning
from compiler.loader import LoadedSpec
from compiler.model.batch import Batch
from compiler.model.spec import MLPipeline

# What only online serving reads: set in a batch-only environment, it changes nothing.
SERVING_ONLY = ("replicas", "autoscaling", "resources", "canary")


def _inside(uri: str, root: str) -> bool:
    uri, root = uri.rstrip("/"), root.rstrip("/")
    return uri == root or uri.startswith(root + "/")


@rule
def batch_environments(spec: MLPipeline, loaded: LoadedSpec) -> Iterator[Diagnostic]:
    for index, env in enumerate(spec.deploy.environments):
        where: JsonPath = ("deploy", "environments", index)
        if not env.serve and env.batch is None:
            yield error(
                "CHK050",
                f"environment {env.name!r} sets serve: false but has no batch: it would "
                "neither serve nor score",
                loaded.locate((*where, "serve")),
                "add batch (schedule, input, output) or remove serve: false",
            )
        entry = loaded.data["deploy"]["environments"][index]
        for key in SERVING_ONLY if not env.serve else ():
            if isinstance(entry, dict) and key in entry:
                yield warning(
                    "CHK051",
                    f"environment {env.name!r} is batch-only (serve: false): {key} configures "
                    "online serving and changes nothing here",
                    loaded.locate((*where, key), key=True),
                    f"remove {key}, or batch.resources for the batch step",
                )
        if env.batch is not None:
            yield from _batch(spec, loaded, (*where, "batch"), env.name, env.batch)
    yield from _shared_outputs(spec, loaded)
    yield from _drift_alert_host(spec, loaded)


def _drift_alert_host(spec: MLPipeline, loaded: LoadedSpec) -> Iterator[Diagnostic]:
    """The drift alert sits in the PrometheusRule of the last environment that serves online."""
    alerts = spec.monitoring.alerts if spec.monitoring else None
    if alerts is not None and alerts.drift and not any(e.serve for e in spec.deploy.environments):
        yield error(
            "CHK056",
            "monitoring.alerts.drift needs an environment that serves online: every environment "
            "is batch-only, so no PrometheusRule would hold the drift alert",
            loaded.locate(("monitoring", "alerts", "drift")),
            "remove alerts.drift, or serve the model in one environment",
        )


def _batch(
    spec: MLPipeline, loaded: LoadedSpec, where: JsonPath, env: str, batch: Batch
) -> Iterator[Diagnostic]:
    if spec.model.framework == "custom":
        yield error(
            "CHK052",
            f"environment {env!r}: batch scoring loads the published model.joblib, but "
            "framework custom publishes whatever its container wrote",
            loaded.locate(where, key=True),
            "score a custom model with its own serving image, or use a built-in framework",
        )
    output = batch.output.uri
    root = spec.deploy.model_uri
    if root is not None and (_inside(output, root) or _inside(root, output)):
        yield error(
            "CHK053",
            f"environment {env!r}: batch.output.uri {output!r} overlaps deploy.model_uri "
            f"{root!r}: predictions would be written among the published model versions",
            loaded.locate((*where, "output", "uri")),
            "write predictions to a folder of their own",
        )
    if _inside(batch.input.uri, output):
        yield error(
            "CHK053",
            f"environment {env!r}: batch.input.uri {batch.input.uri!r} is inside "
            f"batch.output.uri: a run would score earlier predictions",
            loaded.locate((*where, "input", "uri")),
            "read the input from outside the output folder",
        )
    if "://" not in batch.input.uri:
        yield warning(
            "CHK054",
            f"environment {env!r}: batch.input.uri {batch.input.uri!r} is relative to the spec: "
            "a recurring run on a cluster has no spec folder (data_root) to read it from",
            loaded.locate((*where, "input", "uri")),
            "use gs://, s3://, https:// or file:/// for scheduled scoring",
        )


def _shared_outputs(spec: MLPipeline, loaded: LoadedSpec) -> Iterator[Diagnostic]:
    seen: dict[str, str] = {}
    for index, env in enumerate(spec.deploy.environments):
        if env.batch is None:
            continue
        output = env.batch.output.uri.rstrip("/")
        if output in seen:
            yield error(
                "CHK055",
                f"environments {seen[output]!r} and {env.name!r} write batch predictions to "
                f"the same folder {output!r}",
                loaded.locate(("deploy", "environments", index, "batch", "output", "uri")),
                "give each environment its own output folder",
            )
        seen.setdefault(output, env.name)
