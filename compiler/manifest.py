"""The ownership manifest `.specops/manifest.json`, read as untrusted input.

Anyone who can open a pull request can edit the output folder, the manifest included, so every
entry is validated against a strict model and every path must stay inside `--out`: a relative
POSIX path with no `..`, no empty segment, no control character, no backslash and no symbolic
link on the way. Anything else stops the run with the manifest's file, line and JSON path.
"""

from __future__ import annotations

import errno
import json
import os
import re
from pathlib import Path, PurePosixPath
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from compiler.diagnostics import JsonPath, format_json_path
from compiler.errors import SpecopsError

SPECOPS_DIR = ".specops"
MANIFEST_PATH = f"{SPECOPS_DIR}/manifest.json"
MAX_DOCUMENT_BYTES = 64 * 1024 * 1024  # far above any real manifest; stops a planted giant file
MAX_PATH_CHARS = 1024

_CONTROL = re.compile(r"[\x00-\x1f\x7f\\]")
Sha256 = Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]
Text = Annotated[str, Field(max_length=MAX_PATH_CHARS, pattern=r"^[^\x00-\x1f\x7f]*$")]


class ManifestEntry(BaseModel):
    """What specops wrote at one path, and from which inputs."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    sha256: Sha256
    spec: Annotated[str, Field(max_length=MAX_PATH_CHARS)]  # spec file names may be hostile
    spec_sha256: Sha256
    target: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9._-]{0,62}$")]
    template: Annotated[str, Field(max_length=MAX_PATH_CHARS)]
    template_sha256: Sha256


class ManifestDocument(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    generator: Text = ""
    files: dict[str, ManifestEntry]


class ManifestError(SpecopsError):
    """A document in `.specops/` is not what specops writes; names the file and the entry."""

    def __init__(
        self, *, file: str, problem: str, line: int = 0, column: int = 0, json_path: JsonPath = ()
    ) -> None:
        where = f"{file}:{line}:{column}" if line else file
        at = f" (at {format_json_path(json_path)})" if json_path else ""
        kind = PurePosixPath(file).stem if file.endswith(".json") else "folder"
        super().__init__(
            f"{where}: not a specops {kind}: {problem}{at}",
            hint="the output folder is not trusted: restore .specops/ from git, "
            "or remove the output directory and compile again",
        )
        self.file = file
        self.line = line
        self.json_path = json_path


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
    if parts[0] == SPECOPS_DIR:
        return f"is inside {SPECOPS_DIR}/, which specops never lists as output"
    return None


def symlink_on_path(out_dir: Path, relative: str) -> str | None:
    """The first component of `relative` (below `out_dir`) that is a symbolic link, if any."""
    current = out_dir
    for part in PurePosixPath(relative).parts:
        current = current / part
        if current.is_symlink():
            return current.relative_to(out_dir).as_posix()
        if not current.exists():
            return None
    return None


def read_document(out_dir: Path, relative: str) -> bytes | None:
    """The bytes of `.specops/<name>` without following a symbolic link; None when absent.

    Raises ManifestError for a symlinked `.specops`, a symlinked or oversized file.
    """
    shown = str(out_dir / relative)
    try:
        dir_fd = os.open(out_dir / SPECOPS_DIR, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise _unsafe(str(out_dir / SPECOPS_DIR), exc) from exc
    try:
        fd = os.open(PurePosixPath(relative).name, os.O_RDONLY | os.O_NOFOLLOW, dir_fd=dir_fd)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise _unsafe(shown, exc) from exc
    finally:
        os.close(dir_fd)
    with os.fdopen(fd, "rb") as handle:
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
    """The 1-based line and column of the deepest key of `json_path` found in `text`."""
    start, found = 0, -1
    for item in json_path:
        if isinstance(item, int):
            continue
        match = re.compile(re.escape(json.dumps(item)) + r"\s*:").search(text, start)
        if match is None:
            break
        start = found = match.start()
    if found < 0:
        return 0, 0
    line = text.count("\n", 0, found) + 1
    return line, found - (text.rfind("\n", 0, found) + 1) + 1


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
    raw = read_document(out_dir, MANIFEST_PATH)
    if raw is None:
        return {}, None
    shown = str(out_dir / MANIFEST_PATH)
    try:
        document = ManifestDocument.model_validate(parse_document(raw, shown))
    except ValidationError as exc:
        raise validation_error(exc, raw, shown) from exc
    for path in document.files:
        check_entry_path(out_dir, path, raw, shown, ("files", path))
    return dict(document.files), raw


def check_entry_path(out_dir: Path, path: str, raw: bytes, shown: str, json_path: JsonPath) -> None:
    """Raise ManifestError unless `path` names a file inside `out_dir` with no link on the way."""
    problem = path_problem(path)
    if problem is None and (link := symlink_on_path(out_dir, path)) is not None:
        problem = f"goes through the symbolic link {link}"
    if problem is not None:
        line, column = locate(raw.decode("utf-8"), json_path)
        raise ManifestError(
            file=shown,
            problem=f"entry {path!r} {problem}",
            line=line,
            column=column,
            json_path=json_path,
        )
