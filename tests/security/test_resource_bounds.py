"""A legal spec cannot make specops (or kfp) do unbounded work.

The lists whose size multiplies downstream work have a total bound in the model; the attack
corpus is specs just past each bound, which must be refused with a located SPEC error, and
the largest legal spec, whose compiled IR must stay proportional to it.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from compiler.api import CompileOptions, compile_specs, validate
from compiler.model.spec import MAX_ALLOWED_VALUES, DataSchema

BASE = Path("specs/churn-classifier.yaml")
KEEP: list[dict[str, Any]] = [
    {"name": "churned", "type": "int", "allowed": [0, 1]},
    {"name": "plan", "type": "string"},
    {"name": "customer_id", "type": "string"},
]


def _spec(tmp_path: Path, change: dict[str, Any]) -> Path:
    spec = yaml.safe_load(BASE.read_text())
    for dotted, value in change.items():
        *parents, last = dotted.split(".")
        node = spec
        for key in parents:
            node = node[key]
        node[last] = value
    path = tmp_path / "big.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False, default_flow_style=None, width=10**6))
    (tmp_path / "data").symlink_to(Path("specs/data").resolve(), target_is_directory=True)
    return path


def _vocabulary(columns: int, values: int) -> list[dict[str, Any]]:
    made: list[dict[str, Any]] = [
        {"name": f"c{i:04d}", "type": "category", "allowed": [f"v{j}" for j in range(values)]}
        for i in range(columns)
    ]
    return [*made, *KEEP]


ATTACKS: dict[str, tuple[dict[str, Any], str]] = {
    "2,000 columns x 88 values (784 KB)": (
        {"data.schema.columns": _vocabulary(1997, 88)},
        f"more than {MAX_ALLOWED_VALUES} allowed values in all",
    ),
    "one value past the total": (
        {"data.schema.columns": [*_vocabulary(9, 1000)[:9], _vocabulary(1, 999)[0], *KEEP]},
        f"more than {MAX_ALLOWED_VALUES} allowed values in all",
    ),
    "a param list of 1,001 items": (
        {"model.params": {"n_estimators": list(range(1001))}},
        "at most 1000 items",
    ),
}


@pytest.mark.parametrize(("change", "why"), ATTACKS.values(), ids=ATTACKS.keys())
def test_a_spec_past_a_bound_is_refused_with_a_located_error(
    tmp_path: Path, change: dict[str, Any], why: str
) -> None:
    path = _spec(tmp_path, change)
    assert path.stat().st_size < 1024 * 1024  # legal size: only the new bound refuses it
    errors = [d for d in validate([path]).diagnostics if d.is_error]
    assert len(errors) == 1, errors
    assert errors[0].code.startswith("SPEC") and errors[0].location.line > 0
    assert why in errors[0].message


@given(st.lists(st.integers(0, 1000), min_size=1, max_size=40))
def test_the_total_bound_is_exact(sizes: list[int]) -> None:
    columns = [
        {"name": f"c{i}", "type": "category", **({"allowed": list(range(n))} if n else {})}
        for i, n in enumerate(sizes)
    ]
    try:
        DataSchema.model_validate({"columns": columns})
        accepted = True
    except ValidationError:
        accepted = False
    assert accepted == (sum(sizes) <= MAX_ALLOWED_VALUES)


@pytest.mark.skipif(os.environ.get("SPECOPS_SKIP_KFP") == "1", reason="kfp compile")
def test_the_largest_legal_vocabulary_compiles_to_proportional_output(tmp_path: Path) -> None:
    columns = _vocabulary(1997, 5)[:1997]
    path = _spec(tmp_path, {"data.schema.columns": [*columns, *KEEP]})
    result = compile_specs(CompileOptions([path], tmp_path / "out", ["kubeflow"]))
    assert result.ok, result.diagnostics[:3]
    ir = tmp_path / "out" / "kubeflow" / "churn-classifier" / "pipeline.yaml"
    # The schema reaches the IR as one JSON string per step that reads it (3 here), not as a
    # list kfp expands value by value: that was 10x the spec, and 2,000 x 88 values wrote 14 MB.
    assert ir.stat().st_size < 6 * path.stat().st_size
