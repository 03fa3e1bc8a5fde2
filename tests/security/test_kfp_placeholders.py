"""Attack: a spec value shaped like a KFP placeholder (`{{channel:…}}`, `{{$.inputs…}}`, `{{$}}`)
would become a reference to a pipeline input in the IR. kfp has no escape for either, so the
model refuses them (SPEC105 at the value); everything it accepts reaches the IR as the literal."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from kfp.dsl.pipeline_channel import extract_pipeline_channels_from_string
from pydantic import TypeAdapter, ValidationError

from compiler.api import CompileOptions, compile_specs
from compiler.model.types import SafeStr
from tests.security._render import example, model_problems

PLACEHOLDERS = [
    "{{channel:task=;name=model_root;type=String;}}",
    "{{channel:task=train;name=model;type=system.Model@0.0.1;}}",
    "x{{channel:task=;name=n;type=;}}y",
    "{{$.inputs.parameters['x']}}",
    "{{$.pipeline_job_name}}",
    "{{$}}",
    "{{ $ }}",
]
# Where a string from the spec reaches the IR: a parameter, an allowed value, a data URI, a
# custom command and its arguments.
FIELDS: list[tuple[tuple[str | int, ...], Any]] = [
    (("model", "args", 0), lambda v: v),
    (("model", "command", 0), lambda v: v),
    (("data", "schema", "columns", 1, "allowed", 0), lambda v: v),
    (("data", "sources", 0, "uri"), lambda v: f"s3://acme-vision/{v}"),
]


def _put(data: dict[str, Any], path: tuple[str | int, ...], value: Any) -> None:
    node: Any = data
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value


@pytest.mark.parametrize("placeholder", PLACEHOLDERS)
@pytest.mark.parametrize(("path", "shape"), FIELDS)
def test_a_placeholder_in_a_value_is_refused_at_the_value(
    placeholder: str, path: tuple[str | int, ...], shape: Any
) -> None:
    data = example("vision-defects")
    _put(data, path, shape(placeholder))
    problems = [p for p in model_problems(data) if p.is_error]
    # A union field (str | int | ...) reports each alternative, all at the value.
    assert {p.location.json_path for p in problems} == {path}
    refusal = [p for p in problems if "Kubeflow Pipelines would read a placeholder" in p.message]
    assert [p.code for p in refusal] == ["SPEC105"]
    assert refusal[0].location.line == 1 and refusal[0].location.column > 1


def test_a_placeholder_in_a_param_is_refused() -> None:
    data = example("churn-classifier")
    data["model"]["params"]["criterion"] = "{{channel:task=;name=model_root;type=String;}}"
    problems = [p for p in model_problems(data) if p.is_error]
    assert {p.location.json_path for p in problems} == {("model", "params", "criterion")}
    assert any(
        p.code == "SPEC105" and "Kubeflow Pipelines would read a placeholder" in p.message
        for p in problems
    )


@given(
    st.text(alphabet=st.sampled_from("{}$channel:task=;nmype.[]'x S"), max_size=40).map(
        lambda t: t or "x"
    )
)
def test_any_accepted_string_holds_no_placeholder_kfp_would_read(text: str) -> None:
    try:
        TypeAdapter(SafeStr).validate_python(text)
    except ValidationError:
        return
    assert extract_pipeline_channels_from_string(text) == []
    assert "{{$" not in text


# --- what is accepted reaches the IR unchanged --------------------------------------------------

NEAR_MISSES = [
    "{channel:task=;name=model_root;type=String;}",
    "{ {$.inputs.parameters['x']} }",
    "{{channe1:task=;name=x;type=;}}",
    "{{inputs.parameters.x}}",
    "}}{{",
    "$(HOME)",
]


def _decoded(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return None


def _strings(value: Any) -> Iterator[str]:
    """Every string in an IR constant, JSON-encoded ones (params_json) decoded as well."""
    if isinstance(value, str):
        yield value
        yield from _strings(_decoded(value))
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _strings(key)
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def _constants(node: Any) -> Iterator[Any]:
    if isinstance(node, dict):
        for key, item in node.items():
            if key == "constant":
                yield item
            else:
                yield from _constants(item)
    elif isinstance(node, list):
        for item in node:
            yield from _constants(item)


def _compiled_constants(data: dict[str, Any], tmp_path: Path) -> set[str]:
    spec = tmp_path / "specs" / "spec.yaml"
    spec.parent.mkdir(parents=True, exist_ok=True)
    spec.write_text(json.dumps(data))
    out = tmp_path / "out"
    result = compile_specs(CompileOptions([spec], out, targets=["kubeflow"]))
    assert not [d for d in result.diagnostics if d.is_error], result.diagnostics
    ir = list(
        yaml.safe_load_all(
            (out / "kubeflow" / data["metadata"]["name"] / "pipeline.yaml").read_text()
        )
    )
    return {text for constant in _constants(ir) for text in _strings(constant)}


def test_near_misses_reach_the_ir_as_the_same_literal(tmp_path: Path) -> None:
    data = example("churn-classifier")
    for source in data["data"]["sources"]:
        source["uri"] = f"gs://acme-data/{source['name']}.csv"
    data["data"]["schema"]["columns"][3]["allowed"] = NEAR_MISSES
    constants = _compiled_constants(data, tmp_path)
    assert set(NEAR_MISSES) <= constants


@settings(
    max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.text(alphabet=st.sampled_from("{}$:;=x "), min_size=1, max_size=16))
def test_any_accepted_allowed_value_reaches_the_ir_unchanged(tmp_path: Path, value: str) -> None:
    tmp_path = tmp_path / str(abs(hash(value)))  # one folder per example: the fixture is shared
    try:
        TypeAdapter(SafeStr).validate_python(value)
    except ValidationError:
        return
    data = example("churn-classifier")
    for source in data["data"]["sources"]:
        source["uri"] = f"gs://acme-data/{source['name']}.csv"
    data["data"]["schema"]["columns"][3]["allowed"] = [value, "pro"]
    assert value in _compiled_constants(data, tmp_path)
