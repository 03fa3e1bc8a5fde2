"""Stage 8: decide what the output directory must become, then hand that to a sink.

`plan_writes` is pure: it compares the rendered files with the disk and the ownership manifest
(`.specops/manifest.json`). specops only rewrites or prunes files it owns and that nobody
edited since; anything else is a conflict and nothing is written. `compile`, `compile --check`
and `diff` are the same plan with a different sink.
"""

from __future__ import annotations

import contextlib
import difflib
import hashlib
import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from json.encoder import encode_basestring_ascii
from pathlib import Path

from compiler import commit, safefs
from compiler._version import __version__
from compiler.build_cache import BuiltFile
from compiler.commit import JOURNAL_PATH, Commit, Prune, output_lock, read_journal, recover
from compiler.disk_state import DiskHasher
from compiler.errors import OutputConflictError, SpecopsError, UsageError
from compiler.manifest import (
    FACTS_TARGET,
    MANIFEST_FORMAT,
    MANIFEST_PATH,
    SPECOPS_DIR,
    Manifest,
    ManifestEntry,
    path_problem,
    read_document,
    read_manifest,
    read_manifest_document,
)

__all__ = ["MANIFEST_PATH", "ManifestEntry", "SpecopsError", "read_manifest"]


@dataclass(frozen=True, slots=True)
class Scope:
    """Which owned files this run answers for: selected targets of compiled or removed specs."""

    targets: frozenset[str]
    specs: frozenset[str]
    spec_dirs: tuple[str, ...] = ()

    def covers(self, entry: ManifestEntry) -> bool:
        """A spec's facts file goes with the spec, whatever targets run."""
        selected = entry.target in self.targets or entry.target == FACTS_TARGET
        return selected and self.covers_spec(entry.spec)

    def covers_spec(self, spec: str) -> bool:
        """Whether this run compiles `spec`, or would have had it still been there."""
        if spec in self.specs:
            return True
        return any(spec.startswith(d.rstrip("/") + "/") or d in ("", ".") for d in self.spec_dirs)


@dataclass(frozen=True, slots=True)
class SpecState:
    """What the manifest records of a spec: its file's sha256 (its plan's facts are a file of
    its own, compiler.facts_file)."""

    sha256: str


@dataclass
class WritePlan:
    out_dir: Path
    new: dict[str, BuiltFile] = field(default_factory=dict)
    changed: dict[str, BuiltFile] = field(default_factory=dict)
    unchanged: list[str] = field(default_factory=list)
    prune: list[str] = field(default_factory=list)
    conflicts: list[str] = field(default_factory=list)
    manifest: dict[str, ManifestEntry] = field(default_factory=dict)
    specs: dict[str, SpecState] = field(default_factory=dict)  # by spec path, for the manifest
    manifest_bytes: bytes = b""
    old_manifest_bytes: bytes | None = None
    inconsistent: list[str] = field(default_factory=list)  # what a crashed run left behind
    temporaries: list[str] = field(default_factory=list)
    prune_sha256: dict[str, str] = field(default_factory=dict)  # delete only these exact bytes

    @property
    def manifest_changed(self) -> bool:
        return self.manifest_bytes != self.old_manifest_bytes

    @property
    def is_current(self) -> bool:
        return not (
            self.new
            or self.changed
            or self.prune
            or self.conflicts
            or self.manifest_changed
            or self.inconsistent
        )


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def plan_writes(
    out_dir: Path,
    files: list[BuiltFile],
    scope: Scope,
    planned: Mapping[str, SpecState] | None = None,
    disk: DiskHasher | None = None,
    known: Callable[[bytes | None, dict[str, ManifestEntry]], Manifest | None] | None = None,
) -> WritePlan:
    """Compare wanted files with the disk; raises nothing, conflicts are listed in the plan.

    `planned` holds, by spec path, every spec this run planned (whatever targets it renders):
    the manifest records their facts even when a target subset writes none of their files.
    Files are compared by hash (`disk` hashes each file once). `known` may recognise the
    manifest's bytes as one this plan leaves as it is (compiler.manifest_memo)."""
    disk = disk or DiskHasher(out_dir)
    entries = {file.path: _entry(file) for file in files}
    raw = read_document(out_dir, MANIFEST_PATH) if known is not None else None
    recalled = known(raw, entries) if known is not None else None
    old = recalled or read_manifest_document(out_dir)
    owned = old.files
    plan = WritePlan(out_dir, old_manifest_bytes=old.raw)
    plan.manifest = {p: e for p, e in owned.items() if not scope.covers(e)}
    for file in files:
        plan.manifest[file.path] = entries[file.path]
        if (problem := path_problem(file.path)) is not None:
            plan.conflicts.append(f"{file.path}: the output path {problem}")
            continue
        _classify(plan, disk, file, owned.get(file.path))
    for path, entry in sorted(owned.items()):
        if scope.covers(entry) and path not in plan.manifest:
            _classify_prune(plan, disk, path, entry)
        elif not scope.covers(entry) and _hash_differs(disk, path, entry):
            plan.inconsistent.append(f"{path}: its hash does not match {MANIFEST_PATH}")
    plan.specs = _spec_states(plan.manifest, old, files, planned or {})
    for path, digest in old.specs.items():  # a spec this run does not answer for keeps its record
        if path not in plan.specs and not scope.covers_spec(path):
            plan.specs[path] = SpecState(digest)
    plan.specs = dict(sorted(plan.specs.items()))
    if recalled is not None and recalled.raw is not None:
        plan.manifest_bytes = recalled.raw  # what this plan makes of it, as remembered
    else:
        plan.manifest_bytes = _manifest_bytes(plan.manifest, plan.specs)
    _find_leftovers(plan, {*owned, *(f.path for f in files)})
    return plan


def _hash_differs(disk: DiskHasher, path: str, entry: ManifestEntry) -> bool:
    found, _ = disk.state(path)
    return found is not None and found != entry.sha256


def _find_leftovers(plan: WritePlan, paths: set[str]) -> None:
    """A journal or temporaries a crashed run left (compile recovers; --check reports them)."""
    if read_journal(plan.out_dir) is not None:
        plan.inconsistent.append(f"{JOURNAL_PATH}: a compile was interrupted; run compile")
    directories = {p.rpartition("/")[0] or "." for p in paths if path_problem(p) is None}
    with contextlib.suppress(safefs.UnsafeOutputError):  # a linked directory is a conflict
        plan.temporaries = safefs.stray_temporaries(plan.out_dir, {*directories, SPECOPS_DIR})
    plan.inconsistent += [
        f"{t}: a temporary left by an interrupted compile" for t in plan.temporaries
    ]


def _entry(file: BuiltFile) -> ManifestEntry:
    """The manifest entry of a built file (its fields come from this compile: not validated
    again, which at thousands of files is a visible part of a no-op)."""
    return ManifestEntry.model_construct(
        sha256=file.sha256,
        spec=file.spec_path,
        spec_sha256=file.spec_sha256,
        target=file.target,
        template=file.template,
        template_sha256=file.template_sha256,
    )


def _classify(
    plan: WritePlan, disk: DiskHasher, file: BuiltFile, entry: ManifestEntry | None
) -> None:
    found, blocked = disk.state(file.path)
    if blocked is not None:
        plan.conflicts.append(blocked)
    elif found is None:
        plan.new[file.path] = file
    elif found == file.sha256:
        plan.unchanged.append(file.path)
    elif entry is None:
        plan.conflicts.append(f"{file.path}: exists but was not written by specops")
    elif found != entry.sha256:
        plan.conflicts.append(f"{file.path}: edited by hand since specops wrote it")
    else:
        plan.changed[file.path] = file


def _classify_prune(plan: WritePlan, disk: DiskHasher, path: str, entry: ManifestEntry) -> None:
    found, blocked = disk.state(path)
    if blocked is not None:
        plan.conflicts.append(blocked)
    elif found is None:
        return
    elif found != entry.sha256:
        plan.conflicts.append(
            f"{path}: no longer generated, but edited by hand; specops will not delete it"
        )
    else:
        plan.prune.append(path)
        plan.prune_sha256[path] = entry.sha256


def _spec_states(
    manifest: dict[str, ManifestEntry],
    old: Manifest,
    files: list[BuiltFile],
    planned: Mapping[str, SpecState],
) -> dict[str, SpecState]:
    """Each spec this run planned, and each other spec the manifest lists a file of, with its
    hash at the latest compile that planned it."""
    states = dict(planned)
    for file in files:
        states.setdefault(file.spec_path, SpecState(file.spec_sha256))
    for entry in manifest.values():
        if entry.spec not in states:
            states[entry.spec] = SpecState(old.specs.get(entry.spec, entry.spec_sha256))
    return states


def _manifest_bytes(manifest: dict[str, ManifestEntry], specs: dict[str, SpecState]) -> bytes:
    """The manifest as `json.dumps(document, indent=2)` writes it, built entry by entry:
    at thousands of specs the generic encoder is the slowest part of a no-op compile."""
    quote = json.dumps
    spec_items = [
        quote(path) + ": " + _object(['"sha256": ' + quote(state.sha256)], "    ")
        for path, state in specs.items()
    ]
    file_items = [f"{quote(p)}: {_entry_json(e)}" for p, e in sorted(manifest.items())]
    top = [
        f'"format": {MANIFEST_FORMAT}',
        f'"generator": {quote(f"specops {__version__}")}',
        f'"specs": {_object(spec_items, "  ")}',
        f'"files": {_object(file_items, "  ")}',
    ]
    return (_object(top, "") + "\n").encode()


def _entry_json(entry: ManifestEntry) -> str:
    quote = encode_basestring_ascii  # what json.dumps writes for a str, without its overhead
    return (
        f'{{\n      "sha256": {quote(entry.sha256)},\n      "spec": {quote(entry.spec)},\n'
        f'      "spec_sha256": {quote(entry.spec_sha256)},\n'
        f'      "target": {quote(entry.target)},\n      "template": {quote(entry.template)},\n'
        f'      "template_sha256": {quote(entry.template_sha256)}\n    }}'
    )


def _object(items: list[str], indent: str) -> str:
    """A JSON object of rendered `"key": value` items whose closing brace is at `indent`."""
    if not items:
        return "{}"
    inner = indent + "  "
    return "{\n" + ",\n".join(inner + item for item in items) + "\n" + indent + "}"


# --- sinks -----------------------------------------------------------------------------------


@contextlib.contextmanager
def output_session(out_dir: Path, exclusive: bool, spec_paths: list[str]) -> Iterator[None]:
    """Hold the output folder's lock for a plan and its sink; a writer first recovers a crash.

    Raises UsageError for an output folder specops must never own, SpecopsError when another
    run holds the lock too long, ManifestError for a malformed journal.
    """
    refuse_unsafe_out(out_dir, spec_paths)
    if out_dir.exists() and not out_dir.is_dir():
        raise SpecopsError(f"cannot use {out_dir} as the output directory: it is not a directory")
    try:
        with output_lock(out_dir, exclusive=exclusive):
            if exclusive:
                recover(out_dir)
            yield
    except OSError as exc:  # e.g. --out is a file, or a folder we may not read
        raise SpecopsError(f"cannot use {out_dir} as the output directory: {exc}") from exc


def refuse_unsafe_out(out_dir: Path, spec_paths: list[str]) -> None:
    """`--out` may not be the filesystem root, the home directory or a folder of specs."""
    resolved = out_dir.resolve()
    spec_dirs = {Path(p).resolve().parent for p in spec_paths}
    forbidden = {Path(resolved.anchor)}
    with contextlib.suppress(RuntimeError, KeyError):  # no home directory to protect
        forbidden.add(Path.home().resolve())
    if resolved in forbidden or resolved in spec_dirs:
        raise UsageError(
            problem=f"refusing to use {out_dir} as the output directory: it is "
            + ("a folder of specs" if resolved in spec_dirs else "the root or home directory"),
            hint="compile into a folder of its own, e.g. --out build/",
        )


def apply_to_disk(plan: WritePlan) -> None:
    """Stage every file, journal the commit, then rename; a crash is finished by the next run.

    Raises OutputConflictError (nothing written) when the plan has conflicts, and SpecopsError
    (nothing replaced, no temporary left) when staging fails, e.g. on a full disk.
    """
    if plan.conflicts:
        raise OutputConflictError(out_dir=str(plan.out_dir), conflicts=plan.conflicts)
    writes: list[tuple[str, Callable[[], bytes]]]
    writes = [(p, f.data) for p, f in sorted({**plan.new, **plan.changed}.items())]
    if plan.manifest_changed:  # last: it records what is on disk
        writes.append((MANIFEST_PATH, lambda: plan.manifest_bytes))
    if not (writes or plan.prune or plan.temporaries):
        return  # nothing to change: no journal, no fsync
    change = Commit(plan.out_dir, manifest_sha256=sha256(plan.manifest_bytes))
    change.prunes = [Prune(path=p, sha256=plan.prune_sha256[p]) for p in plan.prune]
    try:
        for temp in plan.temporaries:
            safefs.unlink(plan.out_dir, temp)
        commit.stage(change, writes)
        commit.apply(change)
    except OSError as exc:
        raise SpecopsError(f"cannot write {plan.out_dir}: {exc}") from exc


def stale_report(plan: WritePlan) -> list[str]:
    """Lines for `compile --check`: what differs between the disk and a fresh compile."""
    lines = [f"missing: {p}" for p in sorted(plan.new)]
    lines += [f"stale:   {p}" for p in sorted(plan.changed)]
    lines += [f"extra:   {p}" for p in plan.prune]
    lines += [f"blocked: {c}" for c in plan.conflicts]
    lines += [f"inconsistent: {c}" for c in plan.inconsistent]
    if plan.manifest_changed and not lines:
        lines.append(f"stale:   {MANIFEST_PATH}")
    return lines


def blocked_report(plan: WritePlan) -> list[str]:
    """The lines of `stale_report` that a compile cannot fix by itself: files specops may not
    touch (hand-edited, foreign, in the way) and what an interrupted compile left."""
    return [f"blocked: {c}" for c in plan.conflicts] + [
        f"inconsistent: {c}" for c in plan.inconsistent
    ]


def blocked_hint(plan: WritePlan) -> str:
    """How to resolve what `blocked_report` lists, for the message after it."""
    out = plan.out_dir.as_posix()
    if plan.conflicts:
        return (
            f"{len(plan.conflicts)} file(s) in {out} are not specops' to change: restore each "
            f"with `git checkout -- {out}/FILE`, or delete it and rerun `specops compile`"
        )
    return f"a compile of {out} was interrupted: rerun `specops compile` to finish it"


def unified_diff(plan: WritePlan) -> str:
    """What `compile` would change, as a unified diff relative to the output directory (a
    manifest that alone is stale shows as its own diff)."""
    chunks: list[str] = []
    for relative, file in sorted({**plan.new, **plan.changed}.items()):
        old = (
            (plan.out_dir / relative).read_text(encoding="utf-8")
            if relative in plan.changed
            else ""
        )
        chunks.extend(
            difflib.unified_diff(
                old.splitlines(keepends=True),
                file.content.splitlines(keepends=True),
                f"a/{relative}" if old else "/dev/null",
                f"b/{relative}",
            )
        )
    for relative in plan.prune:
        old = (plan.out_dir / relative).read_text(encoding="utf-8")
        chunks.extend(
            difflib.unified_diff(old.splitlines(keepends=True), [], f"a/{relative}", "/dev/null")
        )
    if not chunks and plan.manifest_changed:
        old_manifest = (plan.old_manifest_bytes or b"").decode("utf-8", "replace")
        chunks.extend(
            difflib.unified_diff(
                old_manifest.splitlines(keepends=True),
                plan.manifest_bytes.decode().splitlines(keepends=True),
                f"a/{MANIFEST_PATH}" if plan.old_manifest_bytes else "/dev/null",
                f"b/{MANIFEST_PATH}",
            )
        )
    return "".join(chunks)
