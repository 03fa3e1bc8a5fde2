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
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path, PurePosixPath

from compiler._version import __version__
from compiler.errors import OutputConflictError, SpecopsError
from compiler.render import RenderedFile

MANIFEST_PATH = ".specops/manifest.json"


@dataclass(frozen=True, slots=True)
class ManifestEntry:
    sha256: str
    spec: str
    spec_sha256: str
    target: str
    template: str
    template_sha256: str


@dataclass(frozen=True, slots=True)
class Scope:
    """Which owned files this run answers for: selected targets of compiled or removed specs."""

    targets: frozenset[str]
    specs: frozenset[str]
    spec_dirs: tuple[str, ...] = ()

    def covers(self, entry: ManifestEntry) -> bool:
        if entry.target not in self.targets:
            return False
        if entry.spec in self.specs:
            return True
        return any(
            entry.spec.startswith(d.rstrip("/") + "/") or d in ("", ".") for d in self.spec_dirs
        )


@dataclass
class WritePlan:
    out_dir: Path
    new: dict[str, bytes] = field(default_factory=dict)
    changed: dict[str, bytes] = field(default_factory=dict)
    unchanged: list[str] = field(default_factory=list)
    prune: list[str] = field(default_factory=list)
    conflicts: list[str] = field(default_factory=list)
    manifest: dict[str, ManifestEntry] = field(default_factory=dict)
    manifest_bytes: bytes = b""
    old_manifest_bytes: bytes | None = None

    @property
    def manifest_changed(self) -> bool:
        return self.manifest_bytes != self.old_manifest_bytes

    @property
    def is_current(self) -> bool:
        return not (
            self.new or self.changed or self.prune or self.conflicts or self.manifest_changed
        )


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def read_manifest(out_dir: Path) -> tuple[dict[str, ManifestEntry], bytes | None]:
    path = out_dir / MANIFEST_PATH
    if not path.is_file():
        return {}, None
    raw = path.read_bytes()
    try:
        files = json.loads(raw)["files"]
        return {p: ManifestEntry(**entry) for p, entry in files.items()}, raw
    except (ValueError, KeyError, TypeError) as exc:
        raise SpecopsError(
            f"{path} is not a specops manifest ({exc})",
            hint="restore it from git, or remove the output directory",
        ) from exc


def plan_writes(out_dir: Path, files: list[RenderedFile], scope: Scope) -> WritePlan:
    """Compare wanted files with the disk; raises nothing, conflicts are listed in the plan."""
    owned, old_bytes = read_manifest(out_dir)
    plan = WritePlan(out_dir, old_manifest_bytes=old_bytes)
    plan.manifest = {p: e for p, e in owned.items() if not scope.covers(e)}
    for file in files:
        data = file.content.encode("utf-8")
        plan.manifest[file.path] = _entry(file, data)
        _classify(plan, file.path, data, owned.get(file.path))
    for path, entry in sorted(owned.items()):
        if scope.covers(entry) and path not in plan.manifest:
            _classify_prune(plan, path, entry)
    plan.manifest_bytes = _manifest_bytes(plan.manifest)
    return plan


def _entry(file: RenderedFile, data: bytes) -> ManifestEntry:
    return ManifestEntry(
        sha256(data),
        file.spec_path,
        file.spec_sha256,
        file.target,
        file.template,
        file.template_sha256,
    )


def _disk_state(out_dir: Path, relative: str) -> bytes | str | None:
    """The file's bytes, None when absent, or a reason it may not be written through."""
    target = out_dir / relative
    for depth in range(1, len(PurePosixPath(relative).parts) + 1):
        prefix = out_dir.joinpath(*PurePosixPath(relative).parts[:depth])
        if prefix.is_symlink():
            return f"{relative}: {prefix.relative_to(out_dir)} is a symbolic link"
    if target.is_dir():
        return f"{relative}: a directory is in the way"
    if not target.exists():
        return None
    return target.read_bytes()


def _classify(plan: WritePlan, path: str, data: bytes, entry: ManifestEntry | None) -> None:
    state = _disk_state(plan.out_dir, path)
    if isinstance(state, str):
        plan.conflicts.append(state)
    elif state is None:
        plan.new[path] = data
    elif state == data:
        plan.unchanged.append(path)
    elif entry is None:
        plan.conflicts.append(f"{path}: exists but was not written by specops")
    elif sha256(state) != entry.sha256:
        plan.conflicts.append(f"{path}: edited by hand since specops wrote it")
    else:
        plan.changed[path] = data


def _classify_prune(plan: WritePlan, path: str, entry: ManifestEntry) -> None:
    state = _disk_state(plan.out_dir, path)
    if state is None:
        return
    if isinstance(state, str):
        plan.conflicts.append(state)
    elif sha256(state) != entry.sha256:
        plan.conflicts.append(
            f"{path}: no longer generated, but edited by hand; specops will not delete it"
        )
    else:
        plan.prune.append(path)


def _manifest_bytes(manifest: dict[str, ManifestEntry]) -> bytes:
    document = {
        "generator": f"specops {__version__}",
        "files": {p: asdict(e) for p, e in sorted(manifest.items())},
    }
    return (json.dumps(document, indent=2, sort_keys=True) + "\n").encode()


# --- sinks -----------------------------------------------------------------------------------


def apply_to_disk(plan: WritePlan) -> None:
    """Write atomically: every file is staged beside its target before any is replaced.

    Raises OutputConflictError (nothing written) when the plan has conflicts.
    """
    if plan.conflicts:
        raise OutputConflictError(out_dir=str(plan.out_dir), conflicts=plan.conflicts)
    staged: list[tuple[Path, Path]] = []
    try:
        for relative, data in sorted({**plan.new, **plan.changed}.items()):
            staged.append(_stage(plan.out_dir / relative, data))
        if plan.manifest_changed:
            staged.append(_stage(plan.out_dir / MANIFEST_PATH, plan.manifest_bytes))
    except OSError as exc:
        for temp, _ in staged:
            temp.unlink(missing_ok=True)
        raise SpecopsError(f"cannot write {plan.out_dir}: {exc}") from exc
    for temp, final in staged:
        os.replace(temp, final)
    for relative in plan.prune:
        (plan.out_dir / relative).unlink()
        _remove_empty_parents(plan.out_dir, plan.out_dir / relative)


def _stage(final: Path, data: bytes) -> tuple[Path, Path]:
    final.parent.mkdir(parents=True, exist_ok=True)
    temp = final.with_name(f".{final.name}.specops-{os.getpid()}.tmp")
    with temp.open("wb") as handle:
        handle.write(data)
    return temp, final


def _remove_empty_parents(root: Path, path: Path) -> None:
    parent = path.parent
    while parent != root and root in parent.parents:
        with contextlib.suppress(OSError):
            parent.rmdir()  # fails, and stops here, while the directory still has files
        if parent.exists():
            return
        parent = parent.parent


def stale_report(plan: WritePlan) -> list[str]:
    """Lines for `compile --check`: what differs between the disk and a fresh compile."""
    lines = [f"missing: {p}" for p in sorted(plan.new)]
    lines += [f"stale:   {p}" for p in sorted(plan.changed)]
    lines += [f"extra:   {p}" for p in plan.prune]
    lines += [f"blocked: {c}" for c in plan.conflicts]
    if plan.manifest_changed and not lines:
        lines.append(f"stale:   {MANIFEST_PATH}")
    return lines


def unified_diff(plan: WritePlan) -> str:
    """What `compile` would change, as a unified diff relative to the output directory."""
    chunks: list[str] = []
    for relative, data in sorted({**plan.new, **plan.changed}.items()):
        old = (
            (plan.out_dir / relative).read_text(encoding="utf-8")
            if relative in plan.changed
            else ""
        )
        chunks.extend(
            difflib.unified_diff(
                old.splitlines(keepends=True),
                data.decode().splitlines(keepends=True),
                f"a/{relative}" if old else "/dev/null",
                f"b/{relative}",
            )
        )
    for relative in plan.prune:
        old = (plan.out_dir / relative).read_text(encoding="utf-8")
        chunks.extend(
            difflib.unified_diff(old.splitlines(keepends=True), [], f"a/{relative}", "/dev/null")
        )
    return "".join(chunks)
