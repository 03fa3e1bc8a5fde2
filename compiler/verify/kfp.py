"""The `kfp-ir` verifier: compiled KFP IR parses strictly into kfp's own protobuf messages.

Strict means `json_format.ParseDict` without `ignore_unknown_fields`: a misspelt or unknown
field is an error, as it would be for the KFP API server. The Kubernetes platform document is
parsed into `PlatformSpec`, and each executor's settings into kfp-kubernetes'
`KubernetesExecutorConfig`. kfp is imported inside the verifier only.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import yaml

from compiler.diagnostics import Diagnostic, error
from compiler.verify import VerifyContext, file_location, verifier
from compiler.verify.documents import load_documents

if TYPE_CHECKING:
    from compiler.render import RenderedFile


def _problem(file: RenderedFile, code: str, message: str) -> Diagnostic:
    return error(code, message, file_location(file), hint=f"template {file.template}")


def _parse(document: Any, message: Any) -> str | None:
    from google.protobuf import json_format

    try:
        json_format.ParseDict(document, message)
    except json_format.ParseError as exc:
        return str(exc)
    return None


def _check_pipeline(file: RenderedFile, document: Any) -> list[Diagnostic]:
    from kfp.pipeline_spec import pipeline_spec_pb2

    spec = pipeline_spec_pb2.PipelineSpec()
    problem = _parse(document, spec)
    if problem:
        return [_problem(file, "KFP102", f"IR is not a valid PipelineSpec: {problem}")]
    executors = document.get("deploymentSpec", {}).get("executors", {})
    return [
        _problem(file, "KFP104", f"executor {name!r} names no container image")
        for name, executor in sorted(executors.items())
        if "container" in executor and not executor["container"].get("image")
    ]


def _check_platform(file: RenderedFile, document: Any) -> list[Diagnostic]:
    from kfp.kubernetes import kubernetes_executor_config_pb2
    from kfp.pipeline_spec import pipeline_spec_pb2

    problem = _parse(document, pipeline_spec_pb2.PlatformSpec())
    if problem:
        return [_problem(file, "KFP103", f"platform document is not a PlatformSpec: {problem}")]
    kubernetes = document.get("platforms", {}).get("kubernetes", {})
    diagnostics = []
    for name, config in sorted(kubernetes.get("deploymentSpec", {}).get("executors", {}).items()):
        problem = _parse(config, kubernetes_executor_config_pb2.KubernetesExecutorConfig())
        if problem:
            diagnostics.append(
                _problem(file, "KFP103", f"kubernetes settings of {name!r} are invalid: {problem}")
            )
    return diagnostics


@verifier("kfp-ir")
def verify_kfp_ir(file: RenderedFile, context: VerifyContext) -> list[Diagnostic]:
    """The first document is a PipelineSpec; an optional second one is a PlatformSpec."""
    try:
        documents = [d for d in load_documents(file.content) if d is not None]
    except yaml.YAMLError as exc:
        return [_problem(file, "KFP101", f"IR does not parse as YAML: {exc}")]
    if not documents or not all(isinstance(d, dict) for d in documents) or len(documents) > 2:
        return [_problem(file, "KFP101", "IR must be a PipelineSpec and optional PlatformSpec")]
    diagnostics = _check_pipeline(file, documents[0])
    if len(documents) == 2:
        diagnostics.extend(_check_platform(file, documents[1]))
    return diagnostics
