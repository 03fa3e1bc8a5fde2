"""The JSON Schema of platform.yaml, generated from the model (committed as
schemas/platform.v1.json; `specops schema --kind Platform` prints it)."""

from __future__ import annotations

import json
from typing import Any

from compiler.platform.model import Platform

SCHEMA_ID = "https://specops.dev/schemas/platform.v1.json"
SCHEMA_FILE = "platform.v1.json"


def platform_schema() -> dict[str, Any]:
    schema = Platform.model_json_schema(by_alias=True, mode="validation")
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": SCHEMA_ID, **schema}


def platform_schema_text() -> str:
    return json.dumps(platform_schema(), indent=2, sort_keys=True) + "\n"
