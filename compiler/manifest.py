"""The ownership manifest `.specops/manifest.json`, read as untrusted input.

Anyone who can open a pull request can edit the output folder, the manifest included, so every
entry is validated against a strict model and every path must stay inside `--out`: a relative
POSIX path with no `..`, no empty segment, no control character, no backslash and no symbolic
link on the way. Anything else stops the run with the manifest's file, line and JSON path.

Provenance by hash lives here and nowhere in the generated files: `specs` records each spec's
path and the sha256 of the spec file the folder was last compiled from, and each entry of
`files` the spec, its sha256, the target and the template (with its sha256) that produced it.
Format 4 (what this specops writes) keeps each spec's plan facts, the base a
`diff --summary --base DIR` compares with, in a file of its own, `.specops/facts/<name>.json`
(compiler.facts_file), listed in `files` under the target `specops`; format 3 kept them in
`specs`. Formats 1 (no `format`, no `specs`), 2 (no facts) and 3 are still read; the next
compile rewrites them as format 4.
"""

from __future__ import annotations

import errno
import json
import os
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from compiler.diagnostics import JsonPath, format_json_path
from compiler.errors import SpecopsError
from compiler.facts_record import FactsRecord, duplicate_in
from compiler.json_locate import line_column, position

SPECOPS_DIR = ".specops"
MANIFEST_PATH = f"{SPECOPS_DIR}/manifest.json"
MAX_DOCUMENT_BYTES = 64 * 1024 * 1024  # far above any real manifest; stops a planted giant file
MAX_PATH_CHARS = 1024
MANIFEST_FORMAT = 4  # the format this specops writes; it reads 1 to 4
FACTS_DIR = f"{SPECOPS_DIR}/facts"  # format 4: each spec's plan facts, a file of its own
FACTS_TARGET = "specops"  # the target a facts file is listed under in `files`
_FACTS_FILE = re.compile(rf"^{re.escape(FACTS_DIR)}/[a-z0-9]([-a-z0-9]{{0,61}}[a-z0-9])?\.json$")
MAX_SPECS = 10_000  # specs in one output folder: far above any real one

_CONTROL = re.compile(r"[\x00-\x1f\x7f\\]")
Sha256 = Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]
Text = Annotated[str, Field(max_length=MAX_PATH_CHARS, pattern=r"^[^\x00-\x1f\x7f]*$")]
SpecPath = Annotated[str, Field(max_length=MAX_PATH_CHARS)]  # spec file names may be hostile


class ManifestEntry(BaseModel):
    """What specops wrote at one path, and from which inputs."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    sha256: Sha256
    spec: SpecPath
    spec_sha256: Sha256
    target: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9._-]{0,62}$")]
    template: Annotated[str, Field(max_length=MAX_PATH_CHARS)]
    template_sha256: Sha256


class SpecRecord(BaseModel):
    """A spec the folder was compiled from: the sha256 of its file at the latest compile."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    sha256: Sha256


class SpecFactsRecord(BaseModel):
    """Format 3: a spec's hash and the facts of its plan at the latest compile (absent only for
    a spec kept from a format 2 manifest that no compile since has planned)."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    sha256: Sha256
    facts: FactsRecord | None = None


class ManifestDocument4(BaseModel):
    """Format 4, what specops writes: each spec's hash; its facts are a file in `files`
    (`.specops/facts/<name>.json`, compiler.facts_file), so a spec's edit changes only its own
    lines and files, and the manifest stays small at thousands of specs."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    format: Literal[4]
    generator: Text = ""
    specs: Annotated[dict[SpecPath, SpecRecord], Field(max_length=MAX_SPECS)]
    files: dict[str, ManifestEntry]


class ManifestDocument(BaseModel):
    """Format 3: each spec's hash and facts inside the manifest."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    format: Literal[3]
    generator: Text = ""
    specs: Annotated[dict[SpecPath, SpecFactsRecord], Field(max_length=MAX_SPECS)]
    files: dict[str, ManifestEntry]


class ManifestDocument2(BaseModel):
    """Format 2: each spec's hash, no facts."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    format: Literal[2]
    generator: Text = ""
    specs: dict[SpecPath, SpecRecord]
    files: dict[str, ManifestEntry]


class LegacyManifestDocument(BaseModel):
    """Format 1 (specops 0.1 before `format`): no `specs`; each file entry has its spec hash."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    generator: Text = ""
    files: dict[str, ManifestEntry]


@dataclass(frozen=True, slots=True)
class Manifest:
    """A validated manifest: owned files by path, spec hashes and plan facts by spec path."""

    files: dict[str, ManifestEntry] = field(default_factory=dict)
    specs: dict[str, str] = field(default_factory=dict)
    raw: bytes | None = None  # None: there is no manifest
    format: int = MANIFEST_FORMAT
    facts: dict[str, FactsRecord] = field(default_factory=dict)  # format 3 only (4: files)


class ManifestError(SpecopsError):
    """A document in `.specops/` is not what specops writes; names the file and the entry."""

    def __init__(
        self,
        *,
        file: str,
        problem: str,
        line: int = 0,
        column: int = 0,
        json_path: JsonPath = (),
        hint: str = "the output folder is not trusted: restore .specops/ from git, "
        "or remove the output directory and compile again",
    ) -> None:
        where = f"{file}:{line}:{column}" if line else file
        at = f" (at {format_json_path(json_path)})" if json_path else ""
        super().__init__(f"{where}: not a specops {_kind_of(file)}: {problem}{at}", hint=hint)
        self.file = file
        self.line = line
        self.json_path = json_path


def _kind_of(file: str) -> str:
    """What `file` should have been: "manifest", "journal", "facts file" (not the spec's name)."""
    path = PurePosixPath(file)
    if path.parent.name == "facts" and path.parent.parent.name == SPECOPS_DIR:
        return "facts file"
    return path.stem if path.suffix == ".json" else "folder"


def path_problem(path: str) -> str | None:
    """Why `path` may not name a file inside the output folder, or None when it may."""
    if not path:
        return "is empty"
    if len(path) > MAX_PATH_CHARS:
        return f"is longer than {MAX_PATH_CHARS} characters"
    if _CONTROL.search(path):
        return "contains a backslash or a control character"
    if path.startswith("/"):
        return "is absolute"
    parts = path.split("/")
    if "" in parts:
        return "has an empty segment"
    if ".." in parts or "." in parts:
        return "has a '.' or '..' segment"
    if parts[0] == SPECOPS_DIR and not _FACTS_FILE.match(path):
        return f"is inside {SPECOPS_DIR}/, which specops lists only facts files of"
    return None


def symlink_on_path(out_dir: Path, relative: str, seen: dict[str, str] | None = None) -> str | None:
    """The first component of `relative` (below `out_dir`) that is a symbolic link, if any;
    `seen` remembers what each component was ("link", "absent" or "other") across calls."""
    seen = {} if seen is None else seen
    parts = relative.split("/")
    root = str(out_dir)
    for depth in range(1, len(parts) + 1):
        prefix = "/".join(parts[:depth])
        if prefix not in seen:
            try:
                mode = os.lstat(f"{root}/{prefix}").st_mode
                seen[prefix] = "link" if stat.S_ISLNK(mode) else "other"
            except OSError:
                seen[prefix] = "absent"
        if seen[prefix] == "link":
            return prefix
        if seen[prefix] == "absent":
            return None
    return None


def read_document(out_dir: Path, relative: str) -> bytes | None:
    """The bytes of `.specops/...` without following a symbolic link; None when absent.

    Raises ManifestError for a symlinked `.specops` (or folder in it), a symlinked or oversized
    file.
    """
    shown = str(out_dir / relative)
    parts = PurePosixPath(relative).parts
    try:
        dir_fd = os.open(out_dir / parts[0], os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise _unsafe(str(out_dir / parts[0]), exc) from exc
    try:
        for folder in parts[1:-1]:
            inner = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=dir_fd)
            os.close(dir_fd)
            dir_fd = inner
        fd = os.open(parts[-1], os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK, dir_fd=dir_fd)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise _unsafe(shown, exc) from exc
    finally:
        os.close(dir_fd)
    with os.fdopen(fd, "rb") as handle:
        if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
            raise ManifestError(file=shown, problem="not a regular file")
        data = handle.read(MAX_DOCUMENT_BYTES + 1)
    if len(data) > MAX_DOCUMENT_BYTES:
        raise ManifestError(file=shown, problem=f"larger than {MAX_DOCUMENT_BYTES} bytes")
    return data


def _unsafe(shown: str, exc: OSError) -> ManifestError:
    if exc.errno in (errno.ELOOP, errno.ENOTDIR):
        return ManifestError(file=shown, problem="a symbolic link (or not a directory)")
    return ManifestError(file=shown, problem=f"unreadable ({exc.strerror})")


def parse_document(raw: bytes, shown: str) -> dict[str, Any]:
    """A JSON object from untrusted bytes. Raises ManifestError with the line of the problem."""
    try:
        text = raw.decode("utf-8")
        value = json.loads(text)
    except UnicodeDecodeError as exc:
        raise ManifestError(file=shown, problem="not UTF-8 text") from exc
    except json.JSONDecodeError as exc:
        raise ManifestError(
            file=shown, problem=f"not JSON: {exc.msg}", line=exc.lineno, column=exc.colno
        ) from exc
    except RecursionError as exc:
        raise ManifestError(file=shown, problem="nested too deeply") from exc
    if not isinstance(value, dict):
        raise ManifestError(file=shown, problem=f"the document is {_kind(value)}, not an object")
    return value


def _kind(value: object) -> str:
    return {list: "an array", str: "a string", bool: "a boolean", type(None): "null"}.get(
        type(value), "a number"
    )


def locate(text: str, json_path: JsonPath) -> tuple[int, int]:
    """The 1-based line and column of the deepest part of `json_path` found in `text`."""
    found = position(text, json_path)
    return (0, 0) if found is None else line_column(text, found)


def validation_error(exc: ValidationError, raw: bytes, shown: str) -> ManifestError:
    """The first problem pydantic found, located in the raw document."""
    first = exc.errors()[0]
    json_path: JsonPath = tuple(p for p in first["loc"] if isinstance(p, str | int))
    line, column = locate(raw.decode("utf-8"), json_path)
    return ManifestError(
        file=shown, problem=first["msg"], line=line, column=column, json_path=json_path
    )


def read_manifest(out_dir: Path) -> tuple[dict[str, ManifestEntry], bytes | None]:
    """The owned files and the manifest's bytes ({} and None when there is no manifest).

    Raises ManifestError when the manifest is malformed or names a path outside `out_dir`.
    """
    manifest = read_manifest_document(out_dir)
    return manifest.files, manifest.raw


def read_manifest_document(out_dir: Path) -> Manifest:
    """The validated manifest of `out_dir` (an empty one when there is none), any format.

    Raises ManifestError when the manifest is malformed, of a format this specops does not
    read, names a path outside `out_dir`, or lists a file of a spec that `specs` does not.
    """
    raw = read_document(out_dir, MANIFEST_PATH)
    if raw is None:
        return Manifest()
    shown = str(out_dir / MANIFEST_PATH)
    value = parse_document(raw, shown)
    try:
        manifest = _validated(value, raw, shown)
    except ValidationError as exc:
        raise validation_error(exc, raw, shown) from exc
    _check_facts(manifest.facts, raw, shown)
    seen: dict[str, str] = {}
    facts_files: dict[str, str] = {}  # spec path -> its facts file
    for path, entry in manifest.files.items():
        check_entry_path(out_dir, path, raw, shown, ("files", path), seen)
        if (problem := _entry_problem(path, entry, manifest.specs, facts_files)) is not None:
            where, text = problem
            raise _located(raw, shown, ("files", path, where), text)
    return manifest


def _entry_problem(
    path: str, entry: ManifestEntry, specs: dict[str, str], facts_files: dict[str, str]
) -> tuple[str, str] | None:
    """The member of `entry` that is wrong and why: an unlisted spec, a facts file under another
    target (or another file under the facts files' one), a second facts file of one spec."""
    if entry.spec not in specs:
        return "spec", f"the spec {entry.spec!r} is not listed in $.specs"
    is_facts = _FACTS_FILE.match(path) is not None
    if is_facts != (entry.target == FACTS_TARGET):
        return "target", (
            f"{path!r} is a facts file, which specops lists only under the target {FACTS_TARGET!r}"
            if is_facts
            else f"the target {FACTS_TARGET!r} lists only facts files ({FACTS_DIR}/<name>.json)"
        )
    if is_facts and (first := facts_files.setdefault(entry.spec, path)) != path:
        return "spec", f"the spec {entry.spec!r} has a facts file already, {first!r}"
    return None


def _validated(value: dict[str, Any], raw: bytes, shown: str) -> Manifest:
    """The manifest of whichever format `value` says. Raises ValidationError."""
    if "format" not in value:
        legacy = LegacyManifestDocument.model_validate(value)
        return Manifest(dict(legacy.files), _legacy_specs(legacy.files), raw, 1)
    found = value["format"]
    _check_format(found, raw, shown)
    if type(found) is int and found == 3:
        document = ManifestDocument.model_validate(value)
        facts = {p: r.facts for p, r in document.specs.items() if r.facts is not None}
        specs = {path: record.sha256 for path, record in document.specs.items()}
        return Manifest(dict(document.files), specs, raw, 3, facts)
    # any other `format` is refused by the current model, whose error names the current format
    model = ManifestDocument2 if type(found) is int and found == 2 else ManifestDocument4
    other = model.model_validate(value)
    specs = {path: record.sha256 for path, record in other.specs.items()}
    return Manifest(dict(other.files), specs, raw, other.format)


def _check_facts(facts: dict[str, FactsRecord], raw: bytes, shown: str) -> None:
    for path, record in facts.items():
        if (found := duplicate_in(record)) is not None:
            where, problem = found
            raise _located(raw, shown, ("specs", path, "facts", *where), problem)


def _legacy_specs(files: dict[str, ManifestEntry]) -> dict[str, str]:
    """Format 1 kept a spec's hash per file only: the first file of each spec gives it."""
    specs: dict[str, str] = {}
    for _, entry in sorted(files.items()):
        specs.setdefault(entry.spec, entry.spec_sha256)
    return specs


def _check_format(found: object, raw: bytes, shown: str) -> None:
    """A newer specops's format is refused with what to do, not with a schema error."""
    if type(found) is int and found > MANIFEST_FORMAT:
        line, column = locate(raw.decode("utf-8"), ("format",))
        raise ManifestError(
            file=shown,
            problem=f"format {found} is newer than this specops reads (1 to {MANIFEST_FORMAT})",
            line=line,
            column=column,
            json_path=("format",),
            hint="compile with the specops version that wrote it (the manifest's `generator`), "
            "or upgrade specops",
        )


def _located(raw: bytes, shown: str, json_path: JsonPath, problem: str) -> ManifestError:
    line, column = locate(raw.decode("utf-8"), json_path)
    return ManifestError(file=shown, problem=problem, line=line, column=column, json_path=json_path)


def check_entry_path(
    out_dir: Path,
    path: str,
    raw: bytes,
    shown: str,
    json_path: JsonPath,
    seen: dict[str, str] | None = None,
) -> None:
    """Raise ManifestError unless `path` names a file inside `out_dir` with no link on the way."""
    problem = path_problem(path)
    if problem is None and (link := symlink_on_path(out_dir, path, seen)) is not None:
        problem = f"goes through the symbolic link {link}"
    if problem is not None:
        raise _located(raw, shown, json_path, f"entry {path!r} {problem}")
