"""The build cache: what each spec's last build produced, by key, outside the output folder.

The output folder is a pull request's to edit, its manifest included: a key recorded there
could be forged beside tampered files. So what a build produced lives in a cache of the user's
(`--cache-dir`, else `$SPECOPS_CACHE_DIR`, else `$XDG_CACHE_HOME/specops`, else
`~/.cache/specops`), which only compiles on this machine write:

- `blobs/ab/<sha256>`: generated files by content, checked against their name when read;
- `input/ab/<key>.json`, `plan/ab/<key>.json`: a spec's record (compiler.fingerprint's keys);
- `outputs/<hash of the folder's path>.json`: the stat of each output file when last hashed,
  as git's index does, so that a no-op check reads only files whose stat changed.

Every read is validated: a record or blob that is missing, truncated or edited is a miss, so a
damaged cache is only slower. Writes are atomic renames, so two compiles may share a cache.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from compiler.cache_files import RACY_NS, atomic_write, folder_file, versioned_root
from compiler.diagnostics import Diagnostic, diagnostic_data, diagnostic_of_data
from compiler.manifest import path_problem

Sha256 = Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class FileRecord(_Strict):
    path: str
    sha256: Sha256
    target: str
    template: str
    template_sha256: Sha256


class LocationRecord(_Strict):
    file: str
    line: int
    column: int
    json_path: list[str | int]


class DiagnosticRecord(_Strict):
    code: str
    severity: Literal["error", "warning", "note"]
    message: str
    location: LocationRecord
    hint: str | None
    related: list[LocationRecord]


class SpecRecord(_Strict):
    """One spec's build: its files (its facts file first), its warnings and what its
    rendering read."""

    format: Literal[1]
    spec_path: str
    spec_sha256: Sha256
    name: str  # metadata.name: two specs may not share one (CHK016)
    files: list[FileRecord]
    validation: list[DiagnosticRecord]
    build: list[DiagnosticRecord]
    unverified: list[str]
    templates: dict[str, Sha256]  # each template its files were rendered from, by name
    plan_key: Sha256


def diagnostic_record(diagnostic: Diagnostic) -> DiagnosticRecord:
    return DiagnosticRecord.model_validate(diagnostic_data(diagnostic))


def diagnostic_of(record: DiagnosticRecord) -> Diagnostic:
    return diagnostic_of_data(record.model_dump())


class BlobError(OSError):
    """A blob the build needs is gone or no longer holds its bytes."""


class BlobStore:
    """Generated files by content: what a worker spools and the writer reads back."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, digest: str) -> Path:
        return self.root / "blobs" / digest[:2] / digest

    def put(self, data: bytes) -> str:
        """Store `data` under its hash; always written, so a damaged blob is replaced."""
        digest = hashlib.sha256(data).hexdigest()
        atomic_write(self.path(digest), data)
        return digest

    def read(self, digest: str) -> bytes:
        """Raises BlobError when the blob is missing or its bytes are not `digest`'s."""
        try:
            data = self.path(digest).read_bytes()
        except OSError as exc:
            raise BlobError(f"blob {digest[:12]} of the build cache is unreadable: {exc}") from exc
        if hashlib.sha256(data).hexdigest() != digest:
            raise BlobError(f"blob {digest[:12]} of the build cache was changed")
        return data

    def intact(self, digest: str) -> bool:
        try:
            self.read(digest)
        except BlobError:
            return False
        return True


class BuildCache(BlobStore):
    """Records by key and blobs by content under one versioned directory."""

    def __init__(self, base: Path) -> None:
        super().__init__(versioned_root(base))
        self.base = base

    def _record_path(self, kind: str, key: str) -> Path:
        return self.root / kind / key[:2] / f"{key}.json"

    def record(self, kind: Literal["input", "plan"], key: str) -> SpecRecord | None:
        """The record stored under `key`, or None when there is none or it is damaged."""
        try:
            raw = self._record_path(kind, key).read_bytes()
            return SpecRecord.model_validate_json(raw)
        except (OSError, ValidationError, ValueError):
            return None

    def store(self, kind: Literal["input", "plan"], key: str, record: SpecRecord) -> None:
        with contextlib.suppress(OSError):  # a cache we cannot write only makes reruns slower
            atomic_write(self._record_path(kind, key), record.model_dump_json().encode())

    def stat_index(self, out_dir: Path) -> StatIndex:
        return StatIndex(folder_file(self.base, "outputs", out_dir))

    def folder_file(self, kind: str, out_dir: Path) -> Path:
        """Where the cache keeps `kind` (e.g. "manifests") of the output folder `out_dir`."""
        return folder_file(self.base, kind, out_dir)


def record_is_safe(record: SpecRecord, spec_path: str, spec_sha256: str) -> bool:
    """A record is for this spec file, and every path it names stays inside the folder."""
    if record.spec_path != spec_path or record.spec_sha256 != spec_sha256:
        return False
    return paths_are_safe(record)


def paths_are_safe(record: SpecRecord) -> bool:
    """Every path a record names stays inside the output folder, and none twice."""
    paths = [f.path for f in record.files]
    return len(set(paths)) == len(paths) and all(path_problem(p) is None for p in paths)


_Stat = tuple[int, int, int, int, int]  # size, mtime_ns, ctime_ns, inode, device


def _stat_of(result: os.stat_result) -> _Stat:
    return (result.st_size, result.st_mtime_ns, result.st_ctime_ns, result.st_ino, result.st_dev)


class StatIndex:
    """sha256 of output files by their stat, trusted only for an exact match of size, times,
    inode and device, and never for a file changed within two seconds of its hashing."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.entries: dict[str, tuple[_Stat, str]] = {}
        self.changed = False
        try:
            document = json.loads(path.read_bytes())
            for name, (stat, digest) in document["entries"].items():
                self.entries[name] = (tuple(stat), digest)
        except (OSError, ValueError, KeyError, TypeError):
            self.entries = {}

    def lookup(self, relative: str, result: os.stat_result) -> str | None:
        found = self.entries.get(relative)
        return found[1] if found is not None and found[0] == _stat_of(result) else None

    def remember(self, relative: str, result: os.stat_result, digest: str) -> None:
        if time.time_ns() - max(result.st_mtime_ns, result.st_ctime_ns) < RACY_NS:
            return  # racily clean: a change in the same tick would keep this stat
        self.entries[relative] = (_stat_of(result), digest)
        self.changed = True

    def forget(self, relative: str) -> None:
        if self.entries.pop(relative, None) is not None:
            self.changed = True

    def save(self) -> None:
        if not self.changed:
            return
        entries = {name: [list(s), d] for name, (s, d) in sorted(self.entries.items())}
        with contextlib.suppress(OSError):
            atomic_write(self.path, json.dumps({"entries": entries}).encode())


@dataclass(frozen=True, slots=True)
class BuiltFile:
    """A generated file by its hash; its bytes stay in the blob store until they are written."""

    path: str
    sha256: str
    target: str
    template: str
    template_sha256: str
    spec_path: str
    spec_sha256: str
    store: BlobStore

    @classmethod
    def of(
        cls, record: FileRecord, spec_path: str, spec_sha256: str, store: BlobStore
    ) -> BuiltFile:
        return cls(
            record.path,
            record.sha256,
            record.target,
            record.template,
            record.template_sha256,
            spec_path,
            spec_sha256,
            store,
        )

    def data(self) -> bytes:
        """Raises BlobError when the store no longer holds the file."""
        return self.store.read(self.sha256)

    @property
    def content(self) -> str:
        return self.data().decode("utf-8")
