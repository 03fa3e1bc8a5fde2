"""JSON Schemas generated from the models (committed under schemas/, checked for drift): the
spec's, and platform.yaml's (`specops schema --kind Platform` prints it)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from compiler.errors import UsageError
from compiler.model.spec import MLPipeline
from compiler.platform.model import Platform
from compiler.safefs import file_sha256, rename, temp_name, unlink, write_new

SCHEMA_BASE = "https://specops.dev/schemas/"
SCHEMA_FILE = "mlpipeline.v1.json"
PLATFORM_SCHEMA_FILE = "platform.v1.json"


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


def platform_schema_text() -> str:
    return model_schema_text(Platform, PLATFORM_SCHEMA_FILE)


def schema_for(kind: str) -> tuple[str, str]:
    """(file name, text) of the schema of `kind`: MLPipeline (a spec) or Platform."""
    if kind == "Platform":
        return PLATFORM_SCHEMA_FILE, platform_schema_text()
    return SCHEMA_FILE, schema_text()


def write_schema(directory: Path, kind: str = "MLPipeline") -> tuple[Path, bool]:
    """Write the schema into `directory` (created if missing) as its committed file name, never
    through a symbolic link; returns the path and whether anything changed.

    Raises UsageError when the directory cannot hold it.
    """
    name, text = schema_for(kind)
    data = text.encode("utf-8")
    try:
        directory.mkdir(parents=True, exist_ok=True)
        if file_sha256(directory, name) == hashlib.sha256(data).hexdigest():
            return directory / name, False
        temp = temp_name(name)
        write_new(directory, temp, data)
        try:
            rename(directory, temp, name)
        finally:
            unlink(directory, temp)  # gone already when the rename succeeded
    except OSError as exc:
        raise UsageError(
            problem=f"cannot write the schema into {directory}: {exc.strerror or exc}",
            hint="pass a folder you can write to",
        ) from exc
    return directory / name, True
