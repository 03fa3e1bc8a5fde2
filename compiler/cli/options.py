"""The options every command shares, how they read in --help, and the paths they must name.

A path the user names must exist before any work starts: a missing one is a usage error (exit 2)
with one line that names the option, whichever command it is given to.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from typer._click import Context, HelpFormatter
from typer.core import TyperArgument, TyperCommand

from compiler.errors import UsageError


class Format(StrEnum):
    text = "text"
    json = "json"
    github = "github"
    sarif = "sarif"


class SchemaKind(StrEnum):
    MLPipeline = "MLPipeline"
    Platform = "Platform"


class SpecopsCommand(TyperCommand):
    """Usage lines and argument lists as a command reads: `specops validate [OPTIONS] PATHS...`."""

    def collect_usage_pieces(self, ctx: Context) -> list[str]:
        pieces = [self.options_metavar] if self.options_metavar else []
        for param in self.get_params(ctx):
            if isinstance(param, TyperArgument):
                pieces.append(argument_usage(param))
        return pieces

    def format_options(self, ctx: Context, formatter: HelpFormatter) -> None:
        arguments, options = [], []
        for param in self.get_params(ctx):
            if isinstance(param, TyperArgument):
                if not param.hidden:
                    arguments.append((argument_usage(param), param.help or ""))
            elif (record := param.get_help_record(ctx)) is not None:
                options.append(record)
        for title, rows in (("Arguments", arguments), ("Options", options)):
            if rows:
                with formatter.section(title):
                    formatter.write_dl(rows)


def argument_usage(param: TyperArgument) -> str:
    name = (param.metavar or param.name or "ARG").upper()
    name = name if param.nargs == 1 else f"{name}..."
    return name if param.required else f"[{name}]"


def _existing(check: Callable[[Path], str | None]) -> Callable[[Context, Any], Any]:
    """A typer callback: every path given must pass `check`, which names what is wrong."""

    def callback(ctx: Context, value: Any) -> Any:
        if ctx.resilient_parsing or value is None:  # shell completion parses partial lines
            return value
        for path in value if isinstance(value, list) else [value]:
            problem = check(path)
            if problem is not None:
                raise UsageError(problem=problem)
        return value

    return callback


def _file_or_dir(label: str) -> Callable[[Path], str | None]:
    return lambda p: None if p.exists() else f"{label}no such file or directory: {p}"


def _directory(label: str) -> Callable[[Path], str | None]:
    def check(path: Path) -> str | None:
        if not path.exists():
            return f"{label}no such directory: {path}"
        return None if path.is_dir() else f"{label}not a directory: {path}"

    return check


def _file(label: str) -> Callable[[Path], str | None]:
    def check(path: Path) -> str | None:
        if not path.exists():
            return f"{label}no such file: {path}"
        return None if path.is_file() else f"{label}not a file: {path}"

    return check


PathsArg = Annotated[
    list[Path],
    typer.Argument(
        help="Spec files, or directories to search for them.",
        metavar="PATHS",
        callback=_existing(_file_or_dir("")),
    ),
]
SpecArg = Annotated[
    Path, typer.Argument(help="The spec file.", metavar="SPEC", callback=_existing(_file("")))
]
TargetOpt = Annotated[
    list[str] | None,
    typer.Option("--target", "-t", metavar="NAME", help="Only this target (repeatable)."),
]
TemplatesOpt = Annotated[
    list[Path] | None,
    typer.Option(
        "--templates",
        metavar="DIR",
        help="A template directory layered over the built-in one (repeatable).",
        callback=_existing(_directory("--templates: ")),
    ),
]
CrdOpt = Annotated[
    list[Path] | None,
    typer.Option(
        "--crd-dir",
        metavar="PATH",
        help="CRD files, or a directory of them, to verify custom resources (repeatable).",
        callback=_existing(_file_or_dir("--crd-dir: ")),
    ),
]
OutOpt = Annotated[Path, typer.Option("--out", "-o", metavar="DIR", help="Output directory.")]
PlatformOpt = Annotated[
    Path | None,
    typer.Option(
        "--platform",
        metavar="FILE",
        help="The platform file (default: ./platform.yaml when present).",
        callback=_existing(_file("--platform: ")),
    ),
]
FormatOpt = Annotated[
    Format,
    typer.Option(
        "--format",
        "-f",
        metavar="FORMAT",
        help="How to report: text, json, github (workflow annotations) or sarif.",
    ),
]
ProgressOpt = Annotated[
    bool | None,
    typer.Option(
        "--progress/--no-progress",
        help="Show a progress bar on stderr (default: on a terminal, off in CI and when piped).",
    ),
]


def existing_directory(label: str) -> Callable[[Context, Any], Any]:
    """The callback of a directory argument or option that must exist."""
    return _existing(_directory(label))


def existing_path(label: str) -> Callable[[Context, Any], Any]:
    """The callback of a file-or-directory argument or option that must exist."""
    return _existing(_file_or_dir(label))


DEFAULT_PLATFORM_FILE = Path("platform.yaml")


def platform_file(given: Path | None) -> Path | None:
    """The platform file given, else `./platform.yaml` when the working directory has one."""
    return given or (DEFAULT_PLATFORM_FILE if DEFAULT_PLATFORM_FILE.is_file() else None)


JobsOpt = Annotated[
    int | None,
    typer.Option(
        "--jobs",
        "-j",
        metavar="N",
        min=1,
        help="Processes that build specs (default: one per CPU).",
    ),
]
CacheOpt = Annotated[
    bool,
    typer.Option(
        "--cache/--no-cache",
        help="Reuse what earlier compiles built for specs whose inputs are unchanged.",
    ),
]
CacheDirOpt = Annotated[
    Path | None,
    typer.Option(
        "--cache-dir",
        metavar="DIR",
        help="The build cache (default: $SPECOPS_CACHE_DIR, else $XDG_CACHE_HOME/specops, "
        "else ~/.cache/specops). Never inside the output folder: a pull request can edit that.",
    ),
]
