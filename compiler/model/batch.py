"""Batch scoring: an environment that scores files on a schedule with its pinned model version.

`deploy.environments[].batch` adds a KFP batch-scoring pipeline for that environment (and its
recurring run, created by the release workflow); `serve: false` makes the environment batch-only
(no InferenceService). Cross-field rules are compiler.check.batch's.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from compiler.model.strict import Strict
from compiler.model.types import BatchOutputUri, Cron, DataUri, Quantity

InputFormat = Literal["csv", "parquet", "json", "jsonl"]
OutputFormat = Literal["parquet", "csv", "jsonl"]


class BatchInput(Strict):
    uri: DataUri = Field(
        description="The file to score: gs://, s3://, https://, file:/// or a path relative to "
        "the spec (the same rules as data.sources)."
    )
    format: InputFormat


class BatchOutput(Strict):
    uri: BatchOutputUri = Field(
        description="Folder the predictions go to: gs://, s3:// or file:///. Each run writes "
        "<uri>/<UTC time>/predictions.<format> and metadata.json beside it."
    )
    format: OutputFormat = "parquet"


class BatchResources(Strict):
    cpu: Quantity | None = None
    memory: Quantity | None = None


class Batch(Strict):
    """Score `input` with this environment's model_version on `schedule`, into `output`."""

    schedule: Cron = Field(description="When the recurring batch run starts (five-field cron).")
    input: BatchInput
    output: BatchOutput
    resources: BatchResources | None = Field(
        default=None,
        description="Limits of the predict step. Omitted: the platform's batch resources for "
        "this environment, else no limits.",
    )
