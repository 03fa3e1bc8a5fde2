"""Attack: `$(VAR)` in a custom training command or serving command. Kubernetes expands it in a
container's command, args and env values (and turns `$$` into `$`), so a spec could read the
pod's environment into its arguments. Every `$` from the spec is written as `$$`: expanding as
Kubernetes does gives back exactly the spec's value."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from compiler.api import CompileOptions, compile_specs
from compiler.filters import to_k8s_literal
from tests.security._render import example, render


def expand(text: str, mapping: Callable[[str], str]) -> str:
    """Kubernetes' third_party/forked/golang/expansion.Expand, line by line."""
    out, checkpoint, cursor = [], 0, 0
    while cursor < len(text):
        if text[cursor] == "$" and cursor + 1 < len(text):
            out.append(text[checkpoint:cursor])
            read, is_var, advance = _read_variable(text[cursor + 1 :])
            out.append(mapping(read) if is_var else read)
            cursor += advance
            checkpoint = cursor + 1
        cursor += 1
    return "".join(out) + text[checkpoint:]


def _read_variable(text: str) -> tuple[str, bool, int]:
    if text[0] == "$":
        return "$", False, 1
    if text[0] == "(":
        end = text.find(")", 1)
        if end > 0:
            return text[1:end], True, end + 1
        return "$(", False, 1
    return "$" + text[0], False, 1


def every_variable_set(name: str) -> str:
    return f"<{name} from the pod>"


HOSTILE = [
    "$(HOME)",
    "$(WANDB_API_KEY)",
    "$$(HOME)",
    "$$$(HOME)",
    "$",
    "x$",
    "$(",
    "$(unclosed",
    "a$b",
    "$()",
    "--token=$(KFP_TOKEN)",
]


def test_the_reference_expansion_is_kubernetes_own() -> None:
    # Kubernetes' own expansion tests (expand_test.go) for the rules the filter relies on.
    assert expand("$(HOME)", every_variable_set) == "<HOME from the pod>"
    assert expand("$$(HOME)", every_variable_set) == "$(HOME)"
    assert expand("$$$$", every_variable_set) == "$$"
    assert expand("$(unclosed", every_variable_set) == "$(unclosed"
    assert expand("x$", every_variable_set) == "x$"


@given(st.text(alphabet=st.sampled_from("$()xA_ "), max_size=30))
def test_expanding_the_literal_gives_back_the_value(text: str) -> None:
    assert expand(to_k8s_literal(text), every_variable_set) == text


@pytest.mark.parametrize("value", HOSTILE)
def test_each_hostile_value_survives_expansion(value: str) -> None:
    assert expand(to_k8s_literal(value), every_variable_set) == value


def _custom_spec() -> dict[str, Any]:
    data = example("vision-defects")
    data["model"]["command"] = ["sh", "-c", *HOSTILE]
    data["model"]["args"] = HOSTILE
    data["deploy"]["serving"]["command"] = ["serve", *HOSTILE]
    return data


def test_the_inference_service_command_expands_to_the_spec() -> None:
    data = _custom_spec()
    files = render(data, ["serving"])
    service = yaml.safe_load(files["deploy/prod/vision-defects/inferenceservice.yaml"])
    container = service["spec"]["predictor"]["containers"][0]
    command = [expand(part, every_variable_set) for part in container["command"]]
    assert command == data["deploy"]["serving"]["command"]
    for variable in container["env"]:
        assert expand(variable["value"], every_variable_set) == variable["value"].replace("$$", "$")


def test_the_training_container_expands_to_the_spec(tmp_path: Path) -> None:
    data = _custom_spec()
    spec = tmp_path / "specs" / "vision.yaml"
    spec.parent.mkdir()
    spec.write_text(json.dumps(data))
    out = tmp_path / "out"
    result = compile_specs(CompileOptions([spec], out, targets=["kubeflow"]))
    assert not [d for d in result.diagnostics if d.is_error], result.diagnostics
    ir = next(yaml.safe_load_all((out / "kubeflow/vision-defects/pipeline.yaml").read_text()))
    container = ir["deploymentSpec"]["executors"]["exec-train-custom"]["container"]
    command = [expand(part, every_variable_set) for part in container["command"]]
    args = [expand(part, every_variable_set) for part in container["args"][: len(HOSTILE)]]
    assert (command, args) == (data["model"]["command"], data["model"]["args"])
