"""The daily loop: `validate`, `compile`, `diff`, plus `schema` and `version`."""

from __future__ import annotations

import contextlib
import gc
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from compiler._version import __version__
from compiler.cli import console
from compiler.cli.app import command
from compiler.cli.options import (
    CacheDirOpt,
    CacheOpt,
    CrdOpt,
    Format,
    FormatOpt,
    JobsOpt,
    OutOpt,
    PathsArg,
    PlatformOpt,
    ProgressOpt,
    SchemaKind,
    TargetOpt,
    TemplatesOpt,
    platform_file,
)

if TYPE_CHECKING:
    from compiler.api import CompileResult


def echo(text: str) -> None:
    sys.stdout.write(text)


def fail(message: str, code: int = 1) -> typer.Exit:
    sys.stderr.write(f"{console.error_prefix(sys.stderr)} {message}\n")
    return typer.Exit(code)


@command()
def validate(
    paths: PathsArg,
    format: FormatOpt = Format.text,
    platform: PlatformOpt = None,
    progress: ProgressOpt = None,
) -> None:
    """Check specs and report every problem with its file, line and column."""
    from compiler.api import validate as run_validate
    from compiler.report import REPORTER_BY_NAME

    machine_format = format is not Format.text
    with console.progress(progress, machine_format=machine_format) as sink, _no_cycle_collection():
        result = run_validate(paths, platform_file(platform), sink)
    report = REPORTER_BY_NAME[format.value].render(result.diagnostics, result.checked)
    if format is Format.text:
        console.write_report(report, sys.stdout)
    else:
        echo(report)
    raise typer.Exit(0 if result.ok else 1)


@contextlib.contextmanager
def _no_cycle_collection() -> Iterator[None]:
    """Validation keeps every spec it reads until it reports, and makes next to no reference
    cycles: the cycle collector would only walk those specs again and again (a fifth of the
    time), so it waits until validation is done."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


@dataclass(frozen=True)
class BuildFlags:
    """How a compile builds: its processes and its cache."""

    jobs: int | None = None
    cache: bool = True
    cache_dir: Path | None = None


def _compile(
    paths: list[Path],
    out: Path,
    target: list[str] | None,
    templates: list[Path] | None,
    crd_dir: list[Path] | None,
    mode: str,
    platform: Path | None = None,
    progress: bool | None = None,
    flags: BuildFlags = BuildFlags(),
) -> None:
    from compiler.api import CompileOptions, compile_specs
    from compiler.report import REPORTER_BY_NAME

    options = CompileOptions(paths, out, target, list(templates or []), list(crd_dir or []), mode)  # type: ignore[arg-type]
    options.platform = platform_file(platform)
    options.jobs, options.cache, options.cache_dir = flags.jobs, flags.cache, flags.cache_dir
    options.settled_shortcut = True  # only counts are printed: a settled folder may answer
    with console.progress(progress) as options.progress:
        result = compile_specs(options)
    if result.diagnostics or not result.ok:
        report = REPORTER_BY_NAME["text"].render(result.diagnostics, result.spec_count)
        console.write_report(report, sys.stderr)
    if not result.ok and not result.stale:
        raise typer.Exit(1)
    for kind in result.unverified:
        sys.stderr.write(f"note: not verified: {kind}\n")
    for note in result.notes:
        sys.stderr.write(f"note: {note}\n")
    if mode == "diff":
        _diff_outcome(result, out)
    elif result.stale:
        echo("".join(f"{line}\n" for line in result.stale))
        raise fail(_stale_message(result, out))
    elif mode == "check":
        echo(f"{out} is up to date ({result.file_count} files)\n")
    elif (wp := result.write_plan) is None:  # settled: every file was up to date
        echo(f"{out}: 0 new, 0 changed, {result.file_count} unchanged, 0 removed\n")
    else:
        echo(
            f"{out}: {len(wp.new)} new, {len(wp.changed)} changed, {len(wp.unchanged)} "
            f"unchanged, {len(wp.prune)} removed\n"
        )


def _stale_message(result: CompileResult, out: Path) -> str:
    from compiler.write import blocked_hint, blocked_report

    wp = result.write_plan
    if wp is not None and blocked_report(wp):
        return blocked_hint(wp)
    return f"{out} is not up to date; run `specops compile` and commit the result"


def _diff_outcome(result: CompileResult, out: Path) -> None:
    """The diff on stdout; blocked files as `--check` lists them (exit 1); or "no changes"."""
    from compiler.write import blocked_hint, blocked_report

    wp = result.write_plan  # None: settled, nothing to diff or block
    console.write_diff(result.diff, sys.stdout)
    if wp is not None and (blocked := blocked_report(wp)):
        sys.stderr.write("".join(f"{line}\n" for line in blocked))
        raise fail(blocked_hint(wp))
    if not result.diff:
        echo(f"no changes: {out} is up to date ({result.file_count} files)\n")


@command(name="compile")
def compile_command(
    paths: PathsArg,
    out: OutOpt = Path("build"),
    target: TargetOpt = None,
    templates: TemplatesOpt = None,
    crd_dir: CrdOpt = None,
    check: Annotated[
        bool, typer.Option("--check", help="Write nothing; exit 1 if the output is stale.")
    ] = False,
    platform: PlatformOpt = None,
    progress: ProgressOpt = None,
    jobs: JobsOpt = None,
    cache: CacheOpt = True,
    cache_dir: CacheDirOpt = None,
) -> None:
    """Render, verify and write every target's outputs for the specs; specs whose inputs did
    not change since a compile on this machine are reused from its build cache."""
    mode = "check" if check else "write"
    flags = BuildFlags(jobs, cache, cache_dir)
    _compile(paths, out, target, templates, crd_dir, mode, platform, progress, flags)


class SummaryFormat(StrEnum):
    md = "md"
    json = "json"


SummaryOpt = Annotated[
    bool,
    typer.Option(
        "--summary", help="What the change means per spec and environment, not a text diff."
    ),
]
BaseOpt = Annotated[
    str | None,
    typer.Option(
        "--base",
        metavar="BASE",
        help="With --summary: what to compare with, a git REF (default HEAD) or an output DIR "
        "that a compile wrote (it holds .specops/manifest.json), e.g. --base origin/main or "
        "--base build/.",
    ),
]
SummaryFormatOpt = Annotated[
    SummaryFormat | None,
    typer.Option("--format", "-f", metavar="FORMAT", help="With --summary: md (default) or json."),
]


@command()
def diff(
    paths: PathsArg,
    out: OutOpt = Path("build"),
    target: TargetOpt = None,
    templates: TemplatesOpt = None,
    crd_dir: CrdOpt = None,
    platform: PlatformOpt = None,
    progress: ProgressOpt = None,
    summary: SummaryOpt = False,
    base: BaseOpt = None,
    format: SummaryFormatOpt = None,
    jobs: JobsOpt = None,
    cache: CacheOpt = True,
    cache_dir: CacheDirOpt = None,
) -> None:
    """Show, as a unified diff, what `compile` would change in the output directory; with
    --summary, what the change means, from the resolved plans of --base (a git ref or an output
    folder) and the working tree."""
    if summary:
        if target or templates or crd_dir:  # the summary compares plans: it renders nothing
            raise fail("--target, --templates and --crd-dir do not go with --summary", 2)
        _summary(paths, base or "HEAD", format or SummaryFormat.md, platform)
        return
    if base is not None or format is not None:
        raise fail("--base and --format go with --summary", 2)
    flags = BuildFlags(jobs, cache, cache_dir)
    _compile(paths, out, target, templates, crd_dir, "diff", platform, progress, flags)


def _summary(paths: list[Path], base: str, format: SummaryFormat, platform: Path | None) -> None:
    from compiler.report import REPORTER_BY_NAME
    from compiler.summary import SummaryOptions, summarize
    from compiler.summary_render import to_json_summary, to_markdown_summary

    result = summarize(SummaryOptions(paths, base, platform_file(platform)))
    if result.diagnostics:
        report = REPORTER_BY_NAME["text"].render(result.diagnostics, result.spec_count)
        console.write_report(report, sys.stderr)
    if result.summary is None:
        raise typer.Exit(1)
    render = to_json_summary if format is SummaryFormat.json else to_markdown_summary
    echo(render(result.summary))


@command()
def schema(
    kind: Annotated[
        SchemaKind,
        typer.Option("--kind", metavar="KIND", help="MLPipeline (a spec) or Platform."),
    ] = SchemaKind.MLPipeline,
    write: Annotated[
        Path | None,
        typer.Option(
            "--write", metavar="DIR", help="Write it into this folder (e.g. next to the specs)."
        ),
    ] = None,
) -> None:
    """Print the JSON Schema of the MLPipeline spec (or of platform.yaml)."""
    if write is not None:
        from compiler.schema import write_schema

        path, changed = write_schema(write, kind.value)
        echo(f"{'wrote' if changed else 'up to date:'} {path}\n")
        return
    if kind is SchemaKind.Platform:
        from compiler.schema import platform_schema_text

        echo(platform_schema_text())
        return
    from compiler.schema import schema_text

    echo(schema_text())


@command()
def version() -> None:
    """Print the specops version (as `specops --version` does)."""
    echo(f"specops {__version__}\n")
