"""Format 4's facts files: `.specops/facts/<name>.json` holds one spec's plan facts.

The compile writes one per spec beside its outputs and lists it in the manifest's `files` under
the target `specops`, so ownership, pruning and `--check` treat it like any output, and an edit
of one spec changes only its own facts file. `diff --summary --base DIR` reads them back as
untrusted input: each is validated and a problem is located in its file.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from compiler.facts_record import FactsRecord, dump_facts, duplicate_in
from compiler.manifest import (
    FACTS_DIR,
    FACTS_TARGET,
    Manifest,
    ManifestError,
    SpecPath,
    locate,
    parse_document,
    read_document,
    validation_error,
)

FACTS_TEMPLATE = f"{FACTS_TARGET}/facts"  # what the manifest names as the file's template
FACTS_TEMPLATE_SHA256 = hashlib.sha256(b"specops facts file, format 4").hexdigest()


class FactsFile(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    format: Literal[4]
    spec: SpecPath
    facts: FactsRecord


def facts_path(name: str) -> str:
    return f"{FACTS_DIR}/{name}.json"


def facts_bytes(spec_path: str, record: FactsRecord) -> bytes:
    document = {"format": 4, "spec": spec_path, "facts": dump_facts(record)}
    return (json.dumps(document, indent=2) + "\n").encode()


def read_facts(out_dir: Path, manifest: Manifest) -> dict[str, FactsRecord]:
    """Every spec's facts, by spec path, as the latest compile of `out_dir` recorded them.

    Raises ManifestError for a facts file that is missing, malformed or of another spec."""
    if manifest.format < 4:
        return dict(manifest.facts)
    found: dict[str, FactsRecord] = {}
    for path, entry in sorted(manifest.files.items()):
        if entry.target == FACTS_TARGET:
            found[entry.spec] = _read_one(out_dir, path, entry.spec)
    return found


def _read_one(out_dir: Path, relative: str, spec: str) -> FactsRecord:
    shown = str(out_dir / relative)
    raw = read_document(out_dir, relative)
    if raw is None:
        raise ManifestError(file=shown, problem="listed in the manifest, but missing")
    try:
        document = FactsFile.model_validate(parse_document(raw, shown))
    except ValidationError as exc:
        raise validation_error(exc, raw, shown) from exc
    if document.spec != spec:
        return _refuse(raw, shown, ("spec",), f"is the facts of {document.spec!r}, not {spec!r}")
    if (duplicate := duplicate_in(document.facts)) is not None:
        where, problem = duplicate
        return _refuse(raw, shown, ("facts", *where), problem)
    return document.facts


def _refuse(raw: bytes, shown: str, json_path: tuple[str | int, ...], problem: str) -> FactsRecord:
    line, column = locate(raw.decode("utf-8"), json_path)
    raise ManifestError(file=shown, problem=problem, line=line, column=column, json_path=json_path)
