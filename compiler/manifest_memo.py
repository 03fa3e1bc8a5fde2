"""What the latest plan of an output folder made of its manifest, kept in the build cache so that
a compile whose wanted files are those of that plan need not parse and validate the manifest.

A memo says: "the manifest whose bytes hash to S, planned against these wanted files (their
digest W) and this scope, stays S; these entries and specs of it were outside the scope". A
compile that wants files of digest W and finds a manifest of hash S on disk knows the manifest
without reading its entries; anything else (another hash, other files) reads it as untrusted
input, as always. The memo lives in the cache, never in the output folder.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from compiler._version import __version__
from compiler.build_cache import BuiltFile
from compiler.cache_files import atomic_write
from compiler.manifest import MANIFEST_FORMAT, Manifest, ManifestEntry, path_problem


def wanted_digest(
    files: Iterable[BuiltFile], specs: Mapping[str, str], scope: tuple[object, ...]
) -> str:
    """Everything of a plan's wanted state its manifest is made of, hashed."""
    digest = hashlib.sha256(f"{MANIFEST_FORMAT} {__version__} {scope!r}".encode())
    for file in sorted(files, key=lambda f: f.path):
        fields = (file.path, file.sha256, file.spec_path, file.spec_sha256, file.target)
        digest.update(repr((*fields, file.template, file.template_sha256)).encode())
    digest.update(repr(sorted(specs.items())).encode())
    return digest.hexdigest()


class ManifestMemo:
    def __init__(self, path: Path) -> None:
        self.path = path

    def recall(
        self,
        wanted: str,
        raw: bytes | None,
        owned: Mapping[str, ManifestEntry],
        specs: Mapping[str, str],
    ) -> Manifest | None:
        """The manifest `raw` is, when the memo knows it for these wanted files (`owned`, the
        entries the plan makes of them)."""
        if raw is None:
            return None
        try:
            memo = json.loads(self.path.read_bytes())
            if memo["wanted"] != wanted or memo["sha256"] != hashlib.sha256(raw).hexdigest():
                return None
            kept = {p: ManifestEntry.model_validate(e) for p, e in memo["kept"].items()}
            kept_specs = {str(p): str(s) for p, s in memo["kept_specs"].items()}
        except (OSError, ValueError, KeyError, TypeError, AttributeError, ValidationError):
            return None
        if any(path_problem(p) is not None for p in kept):
            return None
        return Manifest({**kept, **owned}, {**kept_specs, **specs}, raw, MANIFEST_FORMAT)

    def remember(
        self,
        wanted: str,
        manifest: bytes,
        kept: Mapping[str, ManifestEntry],
        kept_specs: Mapping[str, str],
    ) -> None:
        document: dict[str, Any] = {
            "wanted": wanted,
            "sha256": hashlib.sha256(manifest).hexdigest(),
            "kept": {p: e.model_dump() for p, e in sorted(kept.items())},
            "kept_specs": dict(sorted(kept_specs.items())),
        }
        with contextlib.suppress(OSError):
            atomic_write(self.path, json.dumps(document).encode())
