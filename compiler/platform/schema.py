"""The JSON Schema of platform.yaml, generated from the model (committed as
schemas/platform.v1.json; `specops schema --kind Platform` prints it)."""

from __future__ import annotations

from compiler.platform.model import Platform
from compiler.schema import model_schema_text

SCHEMA_FILE = "platform.v1.json"


def platform_schema_text() -> str:
    return model_schema_text(Platform, SCHEMA_FILE)
