"""A random walk of edits to specs, templates and platform values: after each step the
incremental compile (warm cache, same folder) writes exactly what a compile from scratch writes
into an empty folder, or both fail with the same diagnostics.

One checkout serves every example, so the cache and the folder carry every earlier step; the
compiles may be answered by the no-op shortcut (compiler.settled), as the CLI's are, so a record
it should not trust after an edit would show as a folder unlike the scratch one.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from compiler import settled
from compiler.api import CompileOptions, CompileResult, compile_specs
from compiler.targets import builtin_templates
from tests.conftest import REPO

SPECS = ["churn-classifier", "demand-forecast", "vision-defects"]
LAYER_TEMPLATES = ["kubeflow/batch.py.j2", "model-card/card.md.j2", "serving/kustomization.yaml.j2"]
PLATFORM = "specs/platform/platform.yaml"
WORDS = st.text(alphabet="abcdefghij klmnop", min_size=1, max_size=20).map(str.strip)


def tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def _compile(root: Path, out: str, cache: bool) -> CompileResult:
    """With the cache, as the CLI compiles: a settled folder may be answered from its record."""
    options = CompileOptions([Path("specs")], Path(out), template_dirs=[root / "layer"])
    options.platform = Path(PLATFORM)
    options.cache, options.cache_dir, options.jobs = cache, root / "cache", 2
    options.settled_shortcut = cache
    return compile_specs(options)


@pytest.fixture(scope="module")
def walk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    root = tmp_path_factory.mktemp("walk")
    shutil.copytree(REPO / "specs", root / "specs")
    for name in LAYER_TEMPLATES:
        (root / "layer" / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(builtin_templates() / name, root / "layer" / name)
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(root)
        assert _compile(root, "out", cache=True).ok
        yield root


def _edit_spec(root: Path, name: str, field: str, value: object) -> None:
    path = root / "specs" / f"{name}.yaml"
    spec = yaml.safe_load(path.read_text())
    if field == "description":
        spec["metadata"]["description"] = value
    elif field == "replicas":
        environment = spec["deploy"]["environments"][-1]
        environment["replicas"] = {"min": 1, "max": value}
    else:  # a hyperparameter: the training step's default changes, serving files must not
        spec["model"].setdefault("params", {})["random_state"] = value
    path.write_text(yaml.safe_dump(spec, sort_keys=False))


def _edit_template(root: Path, name: str, text: str) -> None:
    comment = {"kubeflow": "# {}\n", "model-card": "<!-- {} -->\n", "serving": "# {}\n"}
    with (root / "layer" / name).open("a") as template:
        template.write(comment[name.split("/")[0]].format(text))


def _edit_platform(root: Path, environment: str, project: str) -> None:
    path = root / PLATFORM
    platform = yaml.safe_load(path.read_text())
    for entry in platform["environments"]:
        if entry["name"] == environment:
            entry["argocd_project"] = project
    path.write_text(yaml.safe_dump(platform, sort_keys=False))


SPEC_EDITS = st.tuples(
    st.just("spec"),
    st.sampled_from(SPECS),
    st.sampled_from(["description", "replicas", "param"]),
    st.integers(min_value=1, max_value=12),
    WORDS,
)
TEMPLATE_EDITS = st.tuples(st.just("template"), st.sampled_from(LAYER_TEMPLATES), WORDS)
PLATFORM_EDITS = st.tuples(
    st.just("platform"),
    st.sampled_from(["dev", "staging", "prod"]),
    st.sampled_from(["ml-a", "ml-b", "ml-c"]),
)
EDITS = st.lists(st.one_of(SPEC_EDITS, TEMPLATE_EDITS, PLATFORM_EDITS), min_size=1, max_size=2)


def _apply(root: Path, edit: tuple[object, ...]) -> None:
    kind = edit[0]
    if kind == "spec":
        _, name, field, number, words = edit
        value = words if field == "description" else number
        _edit_spec(root, str(name), str(field), value)
    elif kind == "template":
        _edit_template(root, str(edit[1]), str(edit[2]))
    else:
        _edit_platform(root, str(edit[1]), str(edit[2]))


@settings(
    max_examples=4,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(edits=EDITS)
def test_an_incremental_compile_writes_what_a_compile_from_scratch_writes(
    walk: Path, edits: list[tuple[object, ...]]
) -> None:
    for edit in edits:
        _apply(walk, edit)
    with pytest.MonkeyPatch.context() as patch:  # each test starts in the repository's root
        patch.chdir(walk)
        patch.setattr(settled, "RACY_NS", 0)  # the folder is recorded as soon as it settles
        incremental = _compile(walk, "out", cache=True)
        shutil.rmtree(walk / "scratch", ignore_errors=True)
        scratch = _compile(walk, "scratch", cache=False)
        again = _compile(walk, "out", cache=True)
    assert incremental.diagnostics == scratch.diagnostics
    if scratch.ok:
        assert incremental.ok and tree(walk / "out") == tree(walk / "scratch")
        assert again.settled and again.diagnostics == incremental.diagnostics
