"""The daily loop: `validate`, `compile`, `diff`, plus `schema` and `version`."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from compiler._version import __version__
from compiler.cli import console
from compiler.cli.app import command
from compiler.cli.options import (
    CrdOpt,
    Format,
    FormatOpt,
    OutOpt,
    PathsArg,
    PlatformOpt,
    ProgressOpt,
    SchemaKind,
    TargetOpt,
    TemplatesOpt,
    platform_file,
)


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

    with console.progress(progress, machine_format=format is not Format.text) as sink:
        result = run_validate(paths, platform_file(platform), sink)
    report = REPORTER_BY_NAME[format.value].render(result.diagnostics, len(result.specs))
    if format is Format.text:
        console.write_report(report, sys.stdout)
    else:
        echo(report)
    raise typer.Exit(0 if result.ok else 1)


def _compile(
    paths: list[Path],
    out: Path,
    target: list[str] | None,
    templates: list[Path] | None,
    crd_dir: list[Path] | None,
    mode: str,
    platform: Path | None = None,
    progress: bool | None = None,
) -> None:
    from compiler.api import CompileOptions, compile_specs
    from compiler.report import REPORTER_BY_NAME

    options = CompileOptions(paths, out, target, list(templates or []), list(crd_dir or []), mode)  # type: ignore[arg-type]
    options.platform = platform_file(platform)
    with console.progress(progress) as options.progress:
        result = compile_specs(options)
    if result.diagnostics or not result.ok:
        report = REPORTER_BY_NAME["text"].render(result.diagnostics, result.spec_count)
        console.write_report(report, sys.stderr)
    if not result.ok and not result.stale:
        raise typer.Exit(1)
    for kind in result.unverified:
        sys.stderr.write(f"note: not verified: {kind}\n")
    if mode == "diff":
        console.write_diff(result.diff, sys.stdout)
    elif result.stale:
        echo("".join(f"{line}\n" for line in result.stale))
        raise fail(f"{out} is not up to date; run `specops compile` and commit the result")
    elif mode == "check":
        echo(f"{out} is up to date ({len(result.files)} files)\n")
    else:
        wp = result.write_plan
        assert wp is not None
        echo(
            f"{out}: {len(wp.new)} new, {len(wp.changed)} changed, {len(wp.unchanged)} "
            f"unchanged, {len(wp.prune)} removed\n"
        )


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
) -> None:
    """Render, verify and write every target's outputs for the specs."""
    mode = "check" if check else "write"
    _compile(paths, out, target, templates, crd_dir, mode, platform, progress)


@command()
def diff(
    paths: PathsArg,
    out: OutOpt = Path("build"),
    target: TargetOpt = None,
    templates: TemplatesOpt = None,
    crd_dir: CrdOpt = None,
    platform: PlatformOpt = None,
    progress: ProgressOpt = None,
) -> None:
    """Show, as a unified diff, what `compile` would change in the output directory."""
    _compile(paths, out, target, templates, crd_dir, "diff", platform, progress)


@command()
def schema(
    kind: Annotated[
        SchemaKind,
        typer.Option("--kind", metavar="KIND", help="MLPipeline (a spec) or Platform."),
    ] = SchemaKind.MLPipeline,
) -> None:
    """Print the JSON Schema of the MLPipeline spec (or of platform.yaml)."""
    if kind is SchemaKind.Platform:
        from compiler.platform.schema import platform_schema_text

        echo(platform_schema_text())
        return
    from compiler.schema import schema_text

    echo(schema_text())


@command()
def version() -> None:
    """Print the specops version (as `specops --version` does)."""
    echo(f"specops {__version__}\n")
