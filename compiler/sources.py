"""Stage 1: find spec files and read them as `SourceFile`s (text plus the hash of its bytes)."""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass
from pathlib import Path

from compiler.diagnostics import Diagnostic, Location, error
from compiler.errors import UsageError

MAX_SPEC_BYTES = 1024 * 1024
SPEC_SUFFIXES = (".yaml", ".yml")
# A directory may hold other YAML (data, CI, platform files): only files that declare the
# specops apiVersion are specs. A file named on the command line is always read.
_DECLARES_SPEC = re.compile(rb"^apiVersion:\s*[\"']?specops/", re.MULTILINE)
# A platform.yaml declares the specops apiVersion too; it is read with --platform, not as a spec.
_DECLARES_PLATFORM = re.compile(rb"^kind:\s*[\"']?Platform[\"']?\s*(#.*)?$", re.MULTILINE)
# A spec's path is written into workflows (env, path filters, pull-request bodies), so it must be
# inert in all of them: no `${{`, `$`, quotes, spaces, glob or Markdown syntax can pass.
_PATH_SEGMENT = re.compile(r"[A-Za-z0-9._-]+")


@dataclass(frozen=True, slots=True)
class SourceFile:
    path: str  # as shown to people and written into provenance headers (POSIX, relative to cwd)
    text: str
    sha256: str

    @property
    def directory(self) -> Path:
        return Path(self.path).parent


def display_path(path: Path) -> str:
    """POSIX path relative to the working directory when inside it, else absolute."""
    absolute = path.absolute()
    try:
        return absolute.relative_to(Path.cwd()).as_posix()
    except ValueError:
        return absolute.as_posix()


def discover(paths: list[Path]) -> list[Path]:
    """Spec files named or found below the given paths, sorted and without duplicates.

    Raises UsageError when a path does not exist.
    """
    found: dict[str, Path] = {}
    for path in paths:
        if path.is_dir():
            for candidate in _walk(path):
                found.setdefault(display_path(candidate), candidate)
        elif path.is_file():
            found.setdefault(display_path(path), path)
        else:
            raise UsageError(problem=f"no such file or directory: {path}")
    return [found[key] for key in sorted(found)]


def _walk(root: Path) -> list[Path]:
    specs = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in sorted(filenames):
            if name.endswith(SPEC_SUFFIXES):
                candidate = Path(dirpath, name)
                if _declares_spec(candidate):
                    specs.append(candidate)
    return specs


def _declares_spec(path: Path) -> bool:
    # The whole file, not a head: a long comment block must not hide a spec from validation.
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_SPEC_BYTES + 1)
    except OSError:
        return True  # let read_source report it
    if len(data) > MAX_SPEC_BYTES:
        return True  # let read_source report the size
    return declares_spec(data)


def declares_spec(data: bytes) -> bool:
    """Whether a YAML file's bytes declare the specops apiVersion and are not a platform file."""
    return _DECLARES_SPEC.search(data) is not None and _DECLARES_PLATFORM.search(data) is None


def check_spec_path(shown: str) -> Diagnostic | None:
    """SPEC004 unless every segment of the path is `[A-Za-z0-9._-]+` (not `.` or `..`) and the
    name ends in .yaml or .yml; an absolute path may start with `/`."""
    segments = shown.removeprefix("/").split("/")
    if shown.endswith(SPEC_SUFFIXES) and all(
        _PATH_SEGMENT.fullmatch(s) and s not in (".", "..") for s in segments
    ):
        return None
    return error(
        "SPEC004",
        "the spec's path is written into CI workflows, so it may only use letters, digits, "
        "'.', '_', '-' and '/' and must end in .yaml or .yml",
        Location(shown),
        hint="rename the file (and its folders), e.g. specs/churn-classifier.yaml",
    )


def read_source(path: Path) -> tuple[SourceFile | None, list[Diagnostic]]:
    """Read one file as UTF-8; too large, unreadable or undecodable files become diagnostics."""
    shown = display_path(path)
    where = Location(shown)
    try:
        size = path.stat().st_size
        if size > MAX_SPEC_BYTES:
            return None, [
                error("SPEC001", f"file is {size} bytes; specs may be at most 1 MiB", where)
            ]
        data = path.read_bytes()
    except OSError as exc:
        return None, [error("SPEC002", f"cannot read file: {exc.strerror}", where)]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        return None, [
            error(
                "SPEC003",
                "file is not valid UTF-8",
                Location(shown, line, column),
                hint="save the file as UTF-8",
            )
        ]
    if text.startswith("\ufeff"):
        text = text[1:]
    return SourceFile(shown, text, hashlib.sha256(data).hexdigest()), []
