"""The no-op shortcut of `compile`: a folder left with nothing to write is answered from a record.

When a compile leaves its output folder settled (it wrote everything, or found nothing to
write) and every spec's build came from or went into the build cache, it records, in the
cache (`settled/<hash of the folder's path>.json`):

- one key of everything it read: the options, working directory and platform file, every
  template layer and --crd-dir, the compiler and its tools, the discovered spec files and each
  spec's input key (compiler.fingerprint);
- one digest of the folder: every entry's path, type, size, times, inode and device, as git's
  index trusts a file's stat;
- what it reported: its warnings, its notes, the kinds it could not verify and its file count.

A later compile with the same key and the same folder digest would read the same bytes and find
the same folder, so it has the same outcome: it is answered from the record without loading the
platform, validating, planning or reading the manifest. That is what makes a no-op `compile` or
`compile --check` in a repository of a thousand specs cost hashing and one walk of the folder.
Anything else falls back to the full compile (which records again): a different key, any entry
changed, added or removed (a hand edit changes its ctime, even with its size and mtime kept), a
damaged record, another compile holding the folder, or a folder with an entry changed within two
seconds of the walk (racily clean: a change in the same clock tick would keep its stat).
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import hashlib
import json
import os
import stat
import time
from collections.abc import Iterator
from pathlib import Path

from compiler.cache_files import RACY_NS, atomic_write, cache_inside, default_cache_dir, folder_file
from compiler.compile_options import CompileOptions, CompileResult
from compiler.diagnostics import Diagnostic, diagnostic_data, diagnostic_of_data, has_errors
from compiler.fingerprint import RunInputs, SpecKey, install_origin, keys_digest, spec_keys
from compiler.sources import Discovery, discover_specs

SETTLED_FORMAT = 1
_KIND = "settled"
_SPECOPS_DIR = ".specops"  # the folder compiler.commit locks: a writer holds it exclusively


def options_key(options: CompileOptions) -> str:
    """What decides which files a compile reads, before it reads them: the template layers a
    platform adds come from its bytes, and relative paths from the working directory."""
    platform = options.platform
    try:
        platform_bytes = platform.read_bytes() if platform is not None else b""
    except OSError as exc:
        platform_bytes = f"unreadable: {exc.strerror}".encode()
    parts = [
        f"settled {SETTLED_FORMAT}",
        os.getcwd(),
        os.environ.get("HOME", ""),  # --out may never be the home directory
        str(options.out_dir.resolve()),
        str(platform.resolve()) if platform is not None else "-",
        ",".join(options.targets) if options.targets is not None else "*",
    ]
    for group in (options.paths, options.template_dirs, options.crd_dirs):
        parts += [str(len(group)), *(str(p) for p in group)]
    return keys_digest(*parts, platform_bytes.hex())


def inputs_key(options: str, inputs: RunInputs, found: Discovery, specs: list[SpecKey]) -> str:
    """The options key, every file every spec reads alike, and each spec's input key."""
    skipped = json.dumps([diagnostic_data(d) for d in found.skipped], sort_keys=True)
    keyed = [f"{spec.shown}\0{spec.key or '-'}" for spec in specs]
    return keys_digest(options, inputs.input_digest(), skipped, *keyed)


def run_inputs(options: CompileOptions, template_dirs: list[Path]) -> RunInputs:
    """What every spec of the compile reads alike (the slow path builds the same)."""
    return RunInputs(
        options.platform,
        tuple(template_dirs),
        tuple(options.crd_dirs),
        tuple(options.targets) if options.targets else None,
        install_origin(),
    )


def answer(options: CompileOptions) -> CompileResult | None:
    """The outcome recorded for this folder, when nothing it depends on has changed since."""
    if not options.cache or not options.settled_shortcut:
        return None
    base = options.cache_dir or default_cache_dir()
    if cache_inside(base, options.out_dir):
        return None  # the full compile refuses it, and says why
    record = _read(folder_file(base, _KIND, options.out_dir))
    key = options_key(options)
    if record is None or record.options != key:
        return None
    template_dirs = [Path(d) for d in record.template_dirs]
    found = discover_specs(options.paths, refuse_platform_files=True)
    inputs = run_inputs(options, template_dirs)
    specs = spec_keys(found.specs, inputs.input_digest())
    if record.inputs != inputs_key(key, inputs, found, specs):
        return None
    with _shared_lock(options.out_dir) as held:
        folder = folder_digest(options.out_dir) if held else None
    if folder is None or folder[1] or folder[0] != record.folder:
        return None
    return _result_of(record)


def remember(
    options: CompileOptions,
    template_dirs: list[Path],
    found: Discovery,
    specs: list[SpecKey],
    result: CompileResult,
) -> None:
    """Record a compile that left its folder settled (the caller knows it did)."""
    if not options.cache:
        return
    path = folder_file(options.cache_dir or default_cache_dir(), _KIND, options.out_dir)
    folder = folder_digest(options.out_dir)
    if folder is None or folder[1]:  # racily clean: the next compile records it
        with contextlib.suppress(OSError):
            path.unlink(missing_ok=True)
        return
    key = options_key(options)
    document: dict[str, object] = {
        "format": SETTLED_FORMAT,
        "options": key,
        "template_dirs": [str(d) for d in template_dirs],
        "inputs": inputs_key(key, run_inputs(options, template_dirs), found, specs),
        "folder": folder[0],
        "files": result.file_count,
        "spec_count": result.spec_count,
        "diagnostics": [diagnostic_data(d) for d in result.diagnostics],
        "unverified": list(result.unverified),
        "notes": list(result.notes),
    }
    document["check"] = _checksum(document)
    with contextlib.suppress(OSError):  # a cache we cannot write only makes reruns slower
        atomic_write(path, json.dumps(document, sort_keys=True).encode())


def folder_digest(out_dir: Path) -> tuple[str, bool] | None:
    """(digest of every entry's path, type and stat, whether any changed within RACY_NS of
    now); None when the folder is missing, no directory, or cannot be walked."""
    horizon = time.time_ns() - RACY_NS
    try:
        top = os.lstat(out_dir)
    except OSError:
        return None
    if not stat.S_ISDIR(top.st_mode):
        return None
    parts = [f"{top.st_dev}\0{top.st_ino}\0{top.st_mode}"]
    racy = False
    try:
        for relative, found in _entries(str(out_dir)):
            # Names hold neither NUL nor '/', so NUL-separated fields cannot run together.
            parts.append(
                f"{relative}\0{found.st_mode}\0{found.st_size}\0{found.st_mtime_ns}\0"
                f"{found.st_ctime_ns}\0{found.st_ino}\0{found.st_dev}"
            )
            racy = racy or max(found.st_mtime_ns, found.st_ctime_ns) >= horizon
    except OSError:
        return None
    data = "\0\0".join(parts).encode("utf-8", "surrogateescape")
    return hashlib.sha256(data).hexdigest(), racy


def _entries(root: str) -> Iterator[tuple[str, os.stat_result]]:
    """Every entry below `root` with its lstat, sorted by name in each directory, links not
    followed."""
    pending = [""]
    while pending:
        relative = pending.pop()
        with os.scandir(f"{root}/{relative}" if relative else root) as listing:
            entries = sorted(listing, key=lambda e: e.name)
        for entry in entries:
            path = f"{relative}/{entry.name}" if relative else entry.name
            found = entry.stat(follow_symlinks=False)
            if stat.S_ISDIR(found.st_mode):
                pending.append(path)
            yield path, found


@contextlib.contextmanager
def _shared_lock(out_dir: Path) -> Iterator[bool]:
    """Whether the folder is free of writers (a shared `flock` on `.specops`, as readers in
    compiler.commit take it), held while the folder is walked; never waits."""
    try:
        fd = os.open(out_dir / _SPECOPS_DIR, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    except OSError:
        yield False
        return
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except OSError:  # a writer holds it: the full compile waits for it
            yield False
            return
        yield True
    finally:
        os.close(fd)


def _checksum(document: dict[str, object]) -> str:
    body = {k: v for k, v in document.items() if k != "check"}
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


@dataclasses.dataclass(frozen=True, slots=True)
class _Record:
    options: str
    template_dirs: list[str]
    inputs: str
    folder: str
    files: int
    spec_count: int
    diagnostics: list[Diagnostic]
    unverified: list[str]
    notes: list[str]


def _read(path: Path) -> _Record | None:
    """The record, or None when there is none or it is damaged in any way."""
    try:
        document = json.loads(path.read_bytes())
        if not isinstance(document, dict) or set(document) != _DOCUMENT_KEYS:
            return None
        if document["format"] != SETTLED_FORMAT or document["check"] != _checksum(document):
            return None
        record = _Record(
            _text(document["options"]),
            _texts(document["template_dirs"]),
            _text(document["inputs"]),
            _text(document["folder"]),
            _count(document["files"]),
            _count(document["spec_count"]),
            [diagnostic_of_data(d) for d in document["diagnostics"]],
            _texts(document["unverified"]),
            _texts(document["notes"]),
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if has_errors(record.diagnostics):
        return None  # only a clean compile is recorded: this one was not written by one
    return record


_DOCUMENT_KEYS = {"format", "check", *(f.name for f in dataclasses.fields(_Record))}


def _text(value: object) -> str:
    if not isinstance(value, str):
        raise ValueError("not text")
    return value


def _texts(value: object) -> list[str]:
    if not isinstance(value, list):
        raise ValueError("not a list")
    return [_text(v) for v in value]


def _count(value: object) -> int:
    if type(value) is not int or value < 0:
        raise ValueError("not a count")
    return value


def _result_of(record: _Record) -> CompileResult:
    result = CompileResult(
        list(record.diagnostics),
        unverified=list(record.unverified),
        spec_count=record.spec_count,
        notes=list(record.notes),
    )
    result.settled_files = record.files
    return result
