"""The base of every spec model: frozen, closed and strict (see compiler.model.spec)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class Strict(BaseModel):
    # defer_build: a model's validator is built when first used, so `specops validate` without a
    # platform file never builds the platform's models (nor one for each nested spec model).
    model_config = ConfigDict(
        frozen=True,
        extra="forbid",
        strict=True,
        allow_inf_nan=False,
        populate_by_name=True,
        defer_build=True,
    )


def model_default(model: type[BaseModel], **field_args: Any) -> Any:
    """A field that defaults to `model()`, with that default in the JSON Schema.

    Built anew for each spec: pydantic deep-copies a shared default model that holds a list
    or a dict, field by field, which costs more than building one.
    """
    shown = model().model_dump(mode="json", by_alias=True)
    return Field(default_factory=model, json_schema_extra={"default": shown}, **field_args)
