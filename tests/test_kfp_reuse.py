"""kfp's per-component work is reused across modules only where the component is the same."""

from __future__ import annotations

import inspect
from typing import Any

import pytest
import yaml
from kfp.dsl import component_factory
from kfp.dsl.pipeline_task import PipelineTask

from compiler.kfp_steps import PipelineModuleError, compile_source

MODULE = '''\
from typing import NamedTuple

from kfp import dsl

IMAGE = {image!r}
DEFAULT = {default!r}


@dsl.component(base_image=IMAGE)
def step(x: int = DEFAULT) -> NamedTuple("Out", [("text", str)]):
    text = """
{text}
"""
    return (text,)


@dsl.pipeline(name="p")
def p() -> None:
    step()
'''


def _ir(counter: list[str], **values: Any) -> dict[str, Any]:
    settings = {"image": "python:3.11-slim", "default": 1, "text": "same"} | values
    source = MODULE.format(**settings)
    ir = compile_source(source, f"kubeflow/{len(counter)}/pipeline.py").ir
    document: dict[str, Any] = next(iter(yaml.safe_load_all(ir)))
    return document


def _executor(document: dict[str, Any]) -> dict[str, Any]:
    container: dict[str, Any] = document["deploymentSpec"]["executors"]["exec-step"]["container"]
    return container


@pytest.fixture
def sources(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Counts kfp's source lookups (the work that reuse saves)."""
    seen: list[str] = []
    real = inspect.getsource

    def counting(obj: Any) -> str:
        seen.append(getattr(obj, "__name__", "?"))
        return real(obj)

    monkeypatch.setattr(inspect, "getsource", counting)
    return seen


def test_an_identical_component_is_derived_once(sources: list[str]) -> None:
    # Its NamedTuple return type is a new class in each module: equal all the same.
    first = _ir(sources, text="unique-to-this-test-1")
    lookups = len(sources)
    second = _ir(sources, text="unique-to-this-test-1")
    assert lookups >= 1 and len(sources) == lookups  # the second module reused the component
    assert first == second


def test_a_different_body_is_derived_again_even_past_a_column_zero_string(
    sources: list[str],
) -> None:
    # The text sits at column 0 inside a string: the span must not end there.
    first = " ".join(_executor(_ir(sources, text="unique-to-this-test-2a"))["command"])
    second = " ".join(_executor(_ir(sources, text="unique-to-this-test-2b"))["command"])
    assert "unique-to-this-test-2a" in first
    assert "unique-to-this-test-2b" in second and "unique-to-this-test-2a" not in second


def test_values_from_module_globals_are_part_of_the_key(sources: list[str]) -> None:
    base = _ir(sources, text="unique-to-this-test-3")
    other_default = _ir(sources, text="unique-to-this-test-3", default=7)
    other_image = _ir(sources, text="unique-to-this-test-3", image="python:3.12-slim")
    defaults = [
        d["components"]["comp-step"]["inputDefinitions"]["parameters"]["x"]["defaultValue"]
        for d in (base, other_default)
    ]
    assert defaults == [1.0, 7.0]
    assert _executor(base)["image"] == "python:3.11-slim"
    assert _executor(other_image)["image"] == "python:3.12-slim"


def test_kfp_is_left_as_it_was_after_a_module_runs_or_fails() -> None:
    factory, ensure = (
        component_factory.create_component_from_func,
        PipelineTask.__dict__["_ensure_container_spec_exists"],
    )
    _ir([], text="unique-to-this-test-4")
    with pytest.raises(PipelineModuleError):
        compile_source("from kfp import dsl\nraise RuntimeError('boom')\n", "bad/pipeline.py")
    assert component_factory.create_component_from_func is factory
    assert PipelineTask.__dict__["_ensure_container_spec_exists"] is ensure


def test_a_resource_setter_on_a_pipeline_task_names_itself_as_kfp_does() -> None:
    source = (
        "from kfp import dsl\n\n"
        "@dsl.component(base_image='python:3.11-slim')\n"
        "def leaf() -> None:\n    pass\n\n"
        "@dsl.pipeline(name='inner')\n"
        "def inner() -> None:\n    leaf()\n\n"
        "@dsl.pipeline(name='outer')\n"
        "def outer() -> None:\n    inner().set_cpu_limit('1')\n"
    )
    with pytest.raises(PipelineModuleError) as raised:
        compile_source(source, "nested/pipeline.py")
    assert "set_cpu_limit can only be used on single-step components" in str(raised.value)
    assert raised.value.line == 13
