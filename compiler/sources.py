"""Stage 1: find spec files and read them as `SourceFile`s (text plus the hash of its bytes)."""

from __future__ import annotations

import difflib
import hashlib
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from compiler.diagnostics import Diagnostic, Location, error, warning
from compiler.errors import UsageError

MAX_SPEC_BYTES = 1024 * 1024
SPEC_SUFFIXES = (".yaml", ".yml")
# A directory may hold other YAML (data, CI, platform files): only files that declare the
# specops apiVersion are specs. A file named on the command line is always read.
_DECLARES_SPEC = re.compile(rb"^apiVersion:\s*[\"']?specops/", re.MULTILINE)
# A platform.yaml declares the specops apiVersion too; it is read with --platform, not as a spec.
_DECLARES_PLATFORM = re.compile(rb"^kind:\s*[\"']?Platform[\"']?\s*(#.*)?$", re.MULTILINE)
# A near miss (`specop/v1`, `Specops/v1`, `kind: MLPipeline` under another apiVersion) is
# reported, not silently skipped.
_API_VERSION = re.compile(rb"^apiVersion:[ \t]*[\"']?([^\s\"'#]*)", re.MULTILINE)
_KIND = re.compile(rb"^kind:[ \t]*[\"']?([A-Za-z]+)", re.MULTILINE)
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


@dataclass
class Discovery:
    """What a walk found: specs, platform files named on the command line, and the YAML files
    it skipped that look like specs (SPEC005 warnings)."""

    specs: list[Path] = field(default_factory=list)
    platforms: list[Path] = field(default_factory=list)
    skipped: list[Diagnostic] = field(default_factory=list)


def discover(paths: list[Path]) -> list[Path]:
    """Spec files named or found below the given paths, sorted and without duplicates.

    Raises UsageError when a path does not exist.
    """
    return discover_all(paths).specs


def discover_all(paths: list[Path]) -> Discovery:
    """Like `discover`, keeping the platform files named and the near misses of the walk.

    Raises UsageError when a path does not exist.
    """
    found: dict[str, tuple[Path, bool]] = {}  # by shown path: the file, and if it was named
    result = Discovery()
    for path in paths:
        if path.is_dir():
            for candidate in _walk(path, result.skipped):  # never platform files
                found.setdefault(display_path(candidate), (candidate, False))
        elif path.is_file():
            found.setdefault(display_path(path), (path, True))
        else:
            raise UsageError(problem=f"no such file or directory: {path}")
    for key in sorted(found):
        path, named = found[key]
        is_platform = named and _declares_platform(path)
        (result.platforms if is_platform else result.specs).append(path)
    return result


def discover_specs(paths: list[Path], refuse_platform_files: bool = False) -> Discovery:
    """The spec files named or found below `paths`.

    Raises UsageError when a path does not exist, when no spec is found, or (for compile,
    `refuse_platform_files`) when a kind: Platform file is named: it is meant for --platform.
    """
    found = discover_all(paths)
    if not found.specs and not found.platforms:
        raise UsageError(
            problem=f"no spec files found in {', '.join(map(str, paths))}",
            hint=_no_spec_hint(found),
        )
    if refuse_platform_files and found.platforms:
        shown = display_path(found.platforms[0])
        raise UsageError(
            problem=f"{shown} is a platform file, not a spec", hint=f"pass it as --platform {shown}"
        )
    return found


def _no_spec_hint(found: Discovery) -> str:
    hint = "specs are *.yaml files that start with 'apiVersion: specops/v1'"
    if found.skipped:
        first = found.skipped[0]
        more = f" (and {len(found.skipped) - 1} more)" if len(found.skipped) > 1 else ""
        hint = f"{first.location}: {first.message}{more}; {hint}"
    return hint


def _walk(root: Path, skipped: list[Diagnostic]) -> list[Path]:
    specs = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in sorted(filenames):
            if name.endswith(SPEC_SUFFIXES):
                candidate = Path(dirpath, name)
                data = _head(candidate)
                if data is None or declares_spec(data):
                    specs.append(candidate)
                elif _DECLARES_PLATFORM.search(data) is None:
                    skipped.extend(_near_miss(candidate, data))
    return specs


def _head(path: Path) -> bytes | None:
    """The file's bytes, or None when read_source should report it (unreadable, too big)."""
    # The whole file, not a head: a long comment block must not hide a spec from validation.
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_SPEC_BYTES + 1)
    except OSError:
        return None
    return None if len(data) > MAX_SPEC_BYTES else data


def declares_spec(data: bytes) -> bool:
    """Whether a YAML file's bytes declare the specops apiVersion and are not a platform file."""
    return _DECLARES_SPEC.search(data) is not None and _DECLARES_PLATFORM.search(data) is None


def _declares_platform(path: Path) -> bool:
    data = _head(path)
    return (
        data is not None
        and _DECLARES_SPEC.search(data) is not None
        and bool(_DECLARES_PLATFORM.search(data))
    )


def _near_miss(path: Path, data: bytes) -> list[Diagnostic]:
    """SPEC005 for a skipped file whose apiVersion or kind is close to a spec's."""
    api = _API_VERSION.search(data)
    kind = _KIND.search(data)
    declared = api.group(1).decode("utf-8", "replace") if api else ""
    group = declared.split("/")[0].casefold()
    close = difflib.get_close_matches(group, ["specops"], n=1, cutoff=0.8)
    ours = kind is not None and kind.group(1).lower() in (b"mlpipeline", b"platform")
    first = api or kind
    if first is None or not (close or ours):
        return []
    what = f"apiVersion {declared!r}" if api else "no apiVersion"
    return [
        warning(
            "SPEC005",
            f"skipped: this file looks like a specops file but declares {what}, so it is not "
            "validated",
            Location(display_path(path), data[: first.start()].count(b"\n") + 1, 1),
            "write 'apiVersion: specops/v1' (lowercase, on its own line) to have specops read it",
        )
    ]


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
