"""Changing the output folder safely: one writer at a time, no link followed, crash-recoverable.

Every file operation goes through `compiler.safefs`, which never follows a link. A commit is
recorded in `.specops/journal.json` before anything is staged (state "staging": a crash leaves
only temporaries to delete) and again before the first rename (state "committing": the next run
finishes the renames and prunes). The journal is validated like the manifest.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from compiler import safefs
from compiler.errors import SpecopsError
from compiler.manifest import (
    MANIFEST_PATH,
    SPECOPS_DIR,
    ManifestError,
    Sha256,
    check_entry_path,
    parse_document,
    read_document,
    validation_error,
)
from compiler.safefs import write_new  # one name, so tests can fail a write

JOURNAL_PATH = f"{SPECOPS_DIR}/journal.json"
LOCK_TIMEOUT_ENV = "SPECOPS_LOCK_TIMEOUT"  # seconds a compile waits for another one to finish
DEFAULT_LOCK_TIMEOUT = 300.0
PAUSE_ENV = "SPECOPS_TEST_PAUSE_BEFORE_RENAME"  # lets the crash tests kill at a known rename
SYNC_BATCH = 256  # staged files fsynced together (and descriptors held open) at most


class Rename(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    temp: str
    final: str


class Prune(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    path: str
    sha256: Sha256


class Journal(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    state: Literal["staging", "committing"]
    renames: list[Rename] = Field(default_factory=list)
    prunes: list[Prune] = Field(default_factory=list)
    manifest_sha256: Annotated[str, Field(pattern=r"^([0-9a-f]{64})?$")] = ""


@dataclass
class Commit:
    """What one compile changes: staged renames (manifest last), then prunes."""

    out_dir: Path
    renames: list[Rename] = field(default_factory=list)
    prunes: list[Prune] = field(default_factory=list)
    manifest_sha256: str = ""


# --- the lock ------------------------------------------------------------------------------


@contextlib.contextmanager
def output_lock(out_dir: Path, *, exclusive: bool) -> Iterator[None]:
    """Hold `flock` on the `.specops` directory itself (no lock file to commit or plant).

    A writer creates `.specops` and waits up to $SPECOPS_LOCK_TIMEOUT seconds for others; a
    reader (--check, diff) of a folder without `.specops` has nothing to protect and locks
    nothing. Raises SpecopsError when the wait times out.
    """
    if exclusive:
        out_dir.mkdir(parents=True, exist_ok=True)
    fd = safefs.open_dir(out_dir, SPECOPS_DIR, create=exclusive) if out_dir.is_dir() else -1
    if fd < 0:
        yield
        return
    try:
        _wait_for_lock(fd, out_dir, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock


def _wait_for_lock(fd: int, out_dir: Path, kind: int) -> None:
    timeout = float(os.environ.get(LOCK_TIMEOUT_ENV, DEFAULT_LOCK_TIMEOUT))
    deadline = time.monotonic() + timeout
    while True:
        try:
            fcntl.flock(fd, kind | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            if time.monotonic() >= deadline:
                raise SpecopsError(
                    f"{out_dir} is locked by another specops run (waited {timeout:g} s)",
                    hint=f"wait for it to finish, or raise {LOCK_TIMEOUT_ENV}",
                ) from None
            time.sleep(0.05)


# --- the journal ---------------------------------------------------------------------------


def _write_journal(commit: Commit, state: Literal["staging", "committing"]) -> None:
    journal = Journal(
        state=state,
        renames=commit.renames,
        prunes=commit.prunes,
        manifest_sha256=commit.manifest_sha256,
    )
    data = (json.dumps(journal.model_dump(), indent=1, sort_keys=True) + "\n").encode()
    temp = safefs.temp_name(JOURNAL_PATH)
    try:
        write_new(commit.out_dir, temp, data)
        safefs.rename(commit.out_dir, temp, JOURNAL_PATH)
    except BaseException:
        with contextlib.suppress(OSError):
            safefs.unlink(commit.out_dir, temp)
        raise
    with safefs.dir_fd(commit.out_dir, SPECOPS_DIR) as specops:
        os.fsync(specops)


def read_journal(out_dir: Path) -> Journal | None:
    """The journal a crashed run left, validated as untrusted input; None when there is none.

    Raises ManifestError when it is malformed or names a path outside `out_dir`.
    """
    raw = read_document(out_dir, JOURNAL_PATH)
    if raw is None:
        return None
    shown = str(out_dir / JOURNAL_PATH)
    try:
        journal = Journal.model_validate(parse_document(raw, shown))
    except ValidationError as exc:
        raise validation_error(exc, raw, shown) from exc
    for index, rename in enumerate(journal.renames):
        if rename.final != MANIFEST_PATH:
            check_entry_path(out_dir, rename.final, raw, shown, ("renames", index, "final"))
        if not _is_temp_for(rename.temp, rename.final):
            raise ManifestError(
                file=shown,
                problem=f"{rename.temp!r} is not a specops temporary of {rename.final!r}",
                json_path=("renames", index, "temp"),
            )
    for index, prune in enumerate(journal.prunes):
        check_entry_path(out_dir, prune.path, raw, shown, ("prunes", index, "path"))
    return journal


def _is_temp_for(temp: str, final: str) -> bool:
    t, f = PurePosixPath(temp), PurePosixPath(final)
    pattern = re.escape(f".{f.name}.") + r"[0-9a-f]{16}\.specops-tmp"
    return t.parent == f.parent and re.fullmatch(pattern, t.name) is not None


def recover(out_dir: Path) -> bool:
    """Finish (or undo, if it never got to renaming) a commit a crashed run left behind.

    Returns whether there was anything to recover. Call with the exclusive lock held.
    """
    journal = read_journal(out_dir)
    if journal is None:
        return False
    commit = Commit(out_dir, list(journal.renames), list(journal.prunes), journal.manifest_sha256)
    if journal.state == "committing":
        _finish(commit)
    _discard(commit)  # after _finish no temporary is left; this drops the journal
    return True


# --- committing ----------------------------------------------------------------------------


def stage(commit: Commit, writes: list[tuple[str, Callable[[], bytes]]]) -> None:
    """Write every file to a temporary whose name is journaled first, so a crash can delete it.
    Each file's bytes are read only when it is written, so a compile never holds them all.

    On any error the temporaries are removed and the journal with them; the error propagates.
    """
    commit.renames = [Rename(temp=safefs.temp_name(path), final=path) for path, _ in writes]
    try:
        _write_journal(commit, "staging")
        with safefs.OpenFolder(commit.out_dir, batch_sync=True) as folder:
            for rename, (_, read) in zip(commit.renames, writes, strict=True):
                write_new(folder, rename.temp, read())
                if len(folder.pending) >= SYNC_BATCH:
                    folder.sync()
            folder.sync()  # every temporary is durable before the journal says "committing"
    except BaseException:
        _discard(commit)
        raise


def apply(commit: Commit) -> None:
    """Journal the staged renames durably, then perform them, the prunes, and drop the journal."""
    try:
        _write_journal(commit, "committing")
    except BaseException:
        _discard(commit)
        raise
    _finish(commit, pause_at=_pause_index())
    _discard(commit)


def _finish(commit: Commit, pause_at: int = -1) -> None:
    with safefs.OpenFolder(commit.out_dir) as folder:
        for index, rename in enumerate(commit.renames):
            if index == pause_at:
                sys.stderr.write(f"specops: paused before rename {index}\n")
                sys.stderr.flush()
                time.sleep(3600)
            if safefs.exists(folder, rename.temp):
                safefs.rename(folder, rename.temp, rename.final)
        for prune in commit.prunes:
            if safefs.file_sha256(folder, prune.path) == prune.sha256:
                safefs.unlink(folder, prune.path)
                safefs.remove_empty_parents(folder, prune.path)


def _discard(commit: Commit) -> None:
    """Undo a commit that never reached its renames: drop its temporaries, then its journal."""
    with safefs.OpenFolder(commit.out_dir) as folder:
        for rename in commit.renames:
            with contextlib.suppress(OSError):
                safefs.unlink(folder, rename.temp)
    with contextlib.suppress(OSError):
        safefs.unlink(commit.out_dir, JOURNAL_PATH)


def _pause_index() -> int:
    value = os.environ.get(PAUSE_ENV, "")
    return int(value) if value.isdigit() else -1
