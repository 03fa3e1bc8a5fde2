"""The JSON Schema of the spec, generated from the models (committed under schemas/)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from compiler.model.spec import MLPipeline

SCHEMA_ID = "https://specops.dev/schemas/mlpipeline.v1.json"
SCHEMA_FILE = "mlpipeline.v1.json"


def spec_schema() -> dict[str, Any]:
    schema = MLPipeline.model_json_schema(by_alias=True, mode="validation")
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": SCHEMA_ID, **schema}


def schema_text() -> str:
    return json.dumps(spec_schema(), indent=2, sort_keys=True) + "\n"


def committed_schema_path() -> Path:
    here = Path(__file__).resolve().parent
    packaged = here / "_data" / "schemas" / SCHEMA_FILE
    return packaged if packaged.exists() else here.parent / "schemas" / SCHEMA_FILE
