"""Commands around the daily loop: `run`, `explain`, `targets`, `templates check`, `init`."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from compiler.cli import console
from compiler.cli.app import command, templates_app
from compiler.cli.build import echo, fail
from compiler.cli.options import (
    CrdOpt,
    Format,
    FormatOpt,
    PlatformOpt,
    SpecArg,
    TemplatesOpt,
    existing_directory,
    existing_path,
    platform_file,
)
from compiler.diagnostics import Diagnostic
from compiler.errors import UsageError


def _report(diagnostics: list[Diagnostic], specs: int) -> None:
    from compiler.report import REPORTER_BY_NAME

    text = REPORTER_BY_NAME["text"].render(diagnostics, specs)
    console.write_report(text, sys.stderr)


BatchOpt = Annotated[
    str | None,
    typer.Option(
        "--batch",
        metavar="ENV",
        help="Score in batch as environment ENV, with the model a local run published.",
    ),
]
InputOpt = Annotated[
    str | None,
    typer.Option(
        "--input",
        metavar="PATH",
        help="With --batch: the file to score (default: the spec's batch.input.uri).",
    ),
]


@command(name="run")
def run_command(
    spec: SpecArg,
    local: Annotated[
        bool, typer.Option("--local", help="Run with kfp.local on this machine (no cluster).")
    ] = False,
    out_dir: Annotated[
        Path | None,
        typer.Option(
            "--out-dir", metavar="DIR", help="Where the IR, artifacts and published model go."
        ),
    ] = None,
    batch: BatchOpt = None,
    input_uri: InputOpt = None,
    templates: TemplatesOpt = None,
    platform: PlatformOpt = None,
) -> None:
    """Compile one spec's Kubeflow pipeline and run it: train, gate and publish locally
    (or, with --batch, score a file with the published model)."""
    from compiler.run import RunOptions, run_pipeline, summary
    from compiler.run_batch import batch_summary, run_batch

    options = RunOptions(spec, local, out_dir, list(templates or []))
    options.echo = console.log_stream(sys.stderr)  # kfp's colours only on a colour terminal
    options.platform = platform_file(platform)
    if batch is None and input_uri is not None:
        raise UsageError(problem="--input names the file --batch ENV scores: add --batch")
    if batch is not None:
        scored = run_batch(options, batch, input_uri)
        ok, diagnostics, text = scored.ok, scored.diagnostics, batch_summary(scored)
    else:
        trained = run_pipeline(options)
        ok, diagnostics, text = trained.ok, trained.diagnostics, summary(trained)
    if diagnostics:
        _report(diagnostics, 1)
    echo(text)
    raise typer.Exit(0 if ok else 1)


@command()
def explain(
    spec: SpecArg,
    path: Annotated[
        str, typer.Argument(metavar="JSONPATH", help="A JSON path such as $.model.resources.cpu.")
    ],
    env: Annotated[
        str | None,
        typer.Option("--env", metavar="ENV", help="Read the path inside this environment."),
    ] = None,
    platform: PlatformOpt = None,
) -> None:
    """Print a field's final value and every layer that set it, with file:line."""
    from compiler.platform.explain import ExplainOptions
    from compiler.platform.explain import explain as run_explain

    result = run_explain(ExplainOptions(spec, path, env, platform_file(platform)))
    if result.explanation is None:
        _report(result.diagnostics, 1)
        raise typer.Exit(1)
    echo(result.explanation.text())


@command()
def targets(templates: TemplatesOpt = None, platform: PlatformOpt = None) -> None:
    """List every target and the directory each of its files comes from."""
    from compiler.templates_check import TargetsOptions, list_targets

    result = list_targets(TargetsOptions(list(templates or []), platform_file(platform)))
    if result.diagnostics:
        _report(result.diagnostics, 0)
    if not result.targets:
        raise typer.Exit(1)
    echo(result.text())


@command(templates_app, "check")
def templates_check(
    directory: Annotated[
        Path | None,
        typer.Argument(
            metavar="DIR",
            help="A template directory to test over the others.",
            callback=existing_directory(""),
        ),
    ] = None,
    specs: Annotated[
        list[Path] | None,
        typer.Option(
            "--specs",
            metavar="PATH",
            help="Example specs (default: specs/).",
            callback=existing_path("--specs: "),
        ),
    ] = None,
    templates: TemplatesOpt = None,
    crd_dir: CrdOpt = None,
    platform: PlatformOpt = None,
    format: FormatOpt = Format.text,
) -> None:
    """Render every target against every example spec and run the verifiers."""
    from compiler.report import REPORTER_BY_NAME
    from compiler.templates_check import TemplatesCheckOptions, check_templates

    options = TemplatesCheckOptions(
        directory,
        list(specs or [Path("specs")]),
        list(templates or []),
        platform_file(platform),
        list(crd_dir or []),
    )
    result = check_templates(options)
    report = REPORTER_BY_NAME[format.value].render(result.diagnostics, result.specs)
    if format is Format.text:
        console.write_report(report + result.summary, sys.stdout)
    else:
        echo(report)
    raise typer.Exit(0 if result.ok else 1)


@command()
def init(
    name: Annotated[
        str, typer.Argument(metavar="NAME", help="The new model's name (a DNS label).")
    ],
    team: Annotated[
        str, typer.Option("--team", metavar="TEAM", help="The owning team (a DNS label).")
    ] = "ml",
    owner: Annotated[
        str | None,
        typer.Option("--owner", metavar="EMAIL", help="Owner email (default: TEAM@example.com)."),
    ] = None,
    directory: Annotated[
        Path, typer.Option("--dir", metavar="DIR", help="Where to write the spec.")
    ] = Path("specs"),
    platform: PlatformOpt = None,
    schema: Annotated[
        str | None,
        typer.Option(
            "--schema", metavar="REF", help="The $schema URL or path for editors (default: local)."
        ),
    ] = None,
) -> None:
    """Scaffold DIR/NAME.yaml from the platform's defaults; it validates as written."""
    from compiler.scaffold import InitOptions, init_spec

    options = InitOptions(name, team, owner, directory, platform_file(platform), schema)
    result = init_spec(options)
    if result.diagnostics:
        _report(result.diagnostics, 1)
    if not result.ok:
        raise fail(f"{result.path} not written: the scaffold does not validate")
    if result.schema_written is not None:
        echo(f"wrote {result.schema_written}\n")
    echo(f"wrote {result.path}\n")
