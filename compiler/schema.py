"""JSON Schemas generated from the models (committed under schemas/, checked for drift)."""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel

from compiler.model.spec import MLPipeline

SCHEMA_BASE = "https://specops.dev/schemas/"
SCHEMA_FILE = "mlpipeline.v1.json"


def model_schema_text(model: type[BaseModel], file_name: str) -> str:
    """A model's JSON Schema (draft 2020-12) as the stable text committed in schemas/."""
    schema: dict[str, Any] = model.model_json_schema(by_alias=True, mode="validation")
    document = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_BASE + file_name,
        **schema,
    }
    return json.dumps(document, indent=2, sort_keys=True) + "\n"


def schema_text() -> str:
    return model_schema_text(MLPipeline, SCHEMA_FILE)
