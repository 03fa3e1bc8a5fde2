"""Read the specs and the platform file as they were at a git ref, without a checkout.

Everything at the base is untrusted input, like the head: a ref that could pass for an option
is refused, file names are checked by the rules of spec paths (SPEC004), links, submodules and
oversized blobs are never read, and the contents go through the same loader and model.
"""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from compiler.errors import SpecopsError, UsageError
from compiler.sources import (
    MAX_SPEC_BYTES,
    SPEC_SUFFIXES,
    SourceFile,
    check_spec_path,
    declares_spec,
)
from compiler.sources import display_path as _display_path

GIT_TIMEOUT_SECONDS = 60
MAX_BASE_FILES = 10_000  # YAML files: far above any real spec folder, stops a planted flood
_REF = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/@{}^~+-]{0,255}$")
_REGULAR_FILE_MODES = ("100644", "100755")


@dataclass
class BaseTree:
    """The spec sources and platform source of one commit, and what was skipped and why."""

    commit: str
    specs: list[SourceFile] = field(default_factory=list)
    platform: SourceFile | None = None
    notes: list[str] = field(default_factory=list)


def _git(args: list[str], cwd: Path) -> bytes:
    """Run git with a fixed environment; raises SpecopsError when it fails."""
    env = {**os.environ, "GIT_TERMINAL_PROMPT": "0", "GIT_OPTIONAL_LOCKS": "0", "LC_ALL": "C"}
    try:
        done = subprocess.run(
            ["git", "-c", "core.quotePath=false", *args],
            cwd=cwd,
            capture_output=True,
            timeout=GIT_TIMEOUT_SECONDS,
            env=env,
            check=False,
        )
    except FileNotFoundError as exc:
        raise SpecopsError("cannot read the base: git is not installed") from exc
    except subprocess.TimeoutExpired as exc:
        raise SpecopsError(f"git {args[0]} took longer than {GIT_TIMEOUT_SECONDS}s") from exc
    if done.returncode != 0:
        message = done.stderr.decode("utf-8", "replace").strip().splitlines()
        raise SpecopsError(f"git {args[0]} failed: {message[-1] if message else done.returncode}")
    return done.stdout


def resolve_base(ref: str, cwd: Path | None = None) -> tuple[str, Path]:
    """The commit `ref` names and the repository's top folder. Raises UsageError when `ref`
    is not a plausible ref or names no commit."""
    where = cwd or Path.cwd()
    if not _REF.fullmatch(ref) or ".." in ref:
        raise UsageError(
            problem=f"--base {ref!r} is not a git ref",
            hint="pass a branch, tag or commit, e.g. --base origin/main",
        )
    try:
        top = _git(["rev-parse", "--show-toplevel"], where).decode().strip()
    except SpecopsError as exc:
        raise UsageError(problem="--base needs a git checkout", hint=exc.message) from exc
    try:
        commit = _git(["rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}"], where)
    except SpecopsError as exc:
        raise UsageError(
            problem=f"--base {ref!r} names no commit here",
            hint="fetch it first (e.g. git fetch origin main) or pass a commit",
        ) from exc
    return commit.decode().strip(), Path(top)


def repo_relative(path: Path, top: Path) -> str:
    """`path` (as given on the command line) relative to the repository's top, POSIX."""
    absolute = Path(os.path.normpath(path.absolute()))
    for root in (top, top.resolve()):
        try:
            relative = absolute.relative_to(root).as_posix()
        except ValueError:
            continue
        return "" if relative == "." else relative
    raise UsageError(problem=f"{path} is outside the git repository {top}")


@dataclass(frozen=True, slots=True)
class _Entry:
    mode: str
    kind: str
    sha: str
    size: int
    path: str


def _list(commit: str, top: Path, relative: str) -> list[_Entry]:
    """Every blob at or below `relative` in `commit` (paths relative to the top)."""
    args = ["ls-tree", "-r", "-l", "-z", "--full-tree", commit]
    raw = _git([*args, "--", relative] if relative else args, top)
    entries = []
    for record in raw.split(b"\0"):
        if not record:
            continue
        meta, _, name = record.partition(b"\t")
        mode, kind, sha, size = meta.decode("ascii", "replace").split()
        text = name.decode("utf-8", "surrogateescape")
        if text != relative and not text.endswith(SPEC_SUFFIXES):
            continue  # not a candidate: data, code
        entries.append(_Entry(mode, kind, sha, int(size) if size.isdigit() else -1, text))
        if len(entries) > MAX_BASE_FILES:
            raise SpecopsError(f"the base has more than {MAX_BASE_FILES} YAML files in {relative}")
    return entries


def _blob(entry: _Entry, top: Path) -> bytes | str:
    """The blob's bytes, or why it is not read."""
    if entry.mode not in _REGULAR_FILE_MODES or entry.kind != "blob":
        return "not a regular file (a link or submodule)"
    if entry.size < 0 or entry.size > MAX_SPEC_BYTES:
        return f"larger than {MAX_SPEC_BYTES} bytes"
    return _git(["cat-file", "blob", entry.sha], top)


def _source(shown: str, data: bytes) -> SourceFile | None:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    return SourceFile(shown, text.removeprefix("\ufeff"), hashlib.sha256(data).hexdigest())


def _shown(top: Path, relative: str) -> str:
    return _display_path(top / relative)


def _skip(notes: list[str], shown: str, why: str) -> None:
    notes.append(f"{shown!r} at the base: {why}")


def read_base(ref: str, paths: list[Path], platform: Path | None) -> BaseTree:
    """The spec files below `paths` and the platform file as they are at `ref`.

    Raises UsageError for a bad ref or a path outside the repository.
    """
    commit, top = resolve_base(ref)
    tree = BaseTree(commit)
    seen: set[str] = set()
    for path in paths:
        relative = repo_relative(path, top)
        named_file = path.is_file()
        for entry in _list(commit, top, relative):
            if entry.path in seen or not _wanted(entry.path, relative, named_file):
                continue
            seen.add(entry.path)
            _add_spec(tree, entry, top, named=named_file)
    if platform is not None:
        tree.platform = _read_platform(tree, top, repo_relative(platform, top))
    tree.specs.sort(key=lambda s: s.path)
    return tree


def _wanted(path: str, relative: str, named_file: bool) -> bool:
    if named_file:
        return path == relative
    inside = PurePosixPath(path).relative_to(relative) if relative else PurePosixPath(path)
    hidden = any(part.startswith(".") for part in inside.parts[:-1])
    return not hidden and path.endswith(SPEC_SUFFIXES)


def _add_spec(tree: BaseTree, entry: _Entry, top: Path, *, named: bool) -> None:
    shown = _shown(top, entry.path)
    data = _blob(entry, top)
    if isinstance(data, str):
        if named:
            _skip(tree.notes, shown, data)
        return
    if not named and not declares_spec(data):
        return
    if check_spec_path(shown) is not None:
        _skip(tree.notes, shown, "a name specops refuses for a spec (SPEC004)")
        return
    source = _source(shown, data)
    if source is None:
        _skip(tree.notes, shown, "not UTF-8 text")
        return
    tree.specs.append(source)


def _read_platform(tree: BaseTree, top: Path, relative: str) -> SourceFile | None:
    shown = _shown(top, relative)
    entries = [e for e in _list(tree.commit, top, relative) if e.path == relative]
    if not entries:
        tree.notes.append(f"{shown!r} does not exist at the base: compared without a platform")
        return None
    data = _blob(entries[0], top)
    source = None if isinstance(data, str) else _source(shown, data)
    if source is None:
        _skip(tree.notes, shown, data if isinstance(data, str) else "not UTF-8 text")
    return source
