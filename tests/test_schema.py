"""The committed JSON Schema is exactly what the models generate, and it accepts the examples."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
import yaml

from compiler.schema import schema_text
from tests.conftest import REPO

SCHEMA = REPO / "schemas" / "mlpipeline.v1.json"


def test_committed_schema_has_not_drifted() -> None:
    assert SCHEMA.read_text() == schema_text(), (
        "regenerate: specops schema > schemas/mlpipeline.v1.json"
    )


@pytest.mark.parametrize("path", sorted((REPO / "specs").glob("*.yaml")), ids=lambda p: p.name)
def test_schema_accepts_example_specs(path: Path) -> None:
    jsonschema.validate(yaml.safe_load(path.read_text()), json.loads(SCHEMA.read_text()))


@pytest.mark.parametrize("path", sorted((REPO / "specs").glob("*.yaml")), ids=lambda p: p.name)
def test_examples_point_editors_at_the_schema(path: Path) -> None:
    assert path.read_text().splitlines()[0] == (
        "# yaml-language-server: $schema=../schemas/mlpipeline.v1.json"
    )
