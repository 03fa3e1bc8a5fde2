"""Command line: flags become an options object and one call into `compiler.api`.

Exit codes: 0 success, 1 invalid spec / failed verification / stale output, 2 usage error,
3 a bug in specops (reported briefly, never as a bare traceback).
"""

from __future__ import annotations

import os
import sys
import traceback
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from compiler._version import __version__
from compiler.errors import SpecopsError

app = typer.Typer(
    name="specops",
    help="Validate ML pipeline specs and compile them into Kubeflow, CI and GitOps files.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

BUG_EXIT = 3


class Format(StrEnum):
    text = "text"
    json = "json"
    github = "github"
    sarif = "sarif"


class SchemaKind(StrEnum):
    MLPipeline = "MLPipeline"
    Platform = "Platform"


PathsArg = Annotated[list[Path], typer.Argument(help="Spec files or directories to search.")]
TargetOpt = Annotated[list[str] | None, typer.Option("--target", "-t", help="Only this target.")]
TemplatesOpt = Annotated[
    list[Path] | None,
    typer.Option("--templates", help="A template directory layered over the built-in one."),
]
CrdOpt = Annotated[
    list[Path] | None, typer.Option("--crd-dir", help="CRD files to verify custom resources.")
]
OutOpt = Annotated[Path, typer.Option("--out", "-o", help="Output directory.")]
PlatformOpt = Annotated[
    Path | None,
    typer.Option("--platform", help="The platform file (default: ./platform.yaml when present)."),
]


def _platform_file(given: Path | None) -> Path | None:
    from compiler.platform import default_platform_path

    return given or default_platform_path()


def _echo(text: str) -> None:
    sys.stdout.write(text)


def _fail(message: str, code: int = 1) -> typer.Exit:
    sys.stderr.write(f"specops: {message}\n")
    return typer.Exit(code)


@app.command()
def validate(
    paths: PathsArg,
    format: Annotated[Format, typer.Option("--format", "-f")] = Format.text,
    platform: PlatformOpt = None,
) -> None:
    """Check specs and report every problem with its file, line and column."""
    from compiler.api import validate as run_validate
    from compiler.report import REPORTER_BY_NAME

    result = run_validate(paths, _platform_file(platform))
    _echo(REPORTER_BY_NAME[format.value].render(result.diagnostics, len(result.specs)))
    raise typer.Exit(0 if result.ok else 1)


def _compile(
    paths: list[Path],
    out: Path,
    target: list[str] | None,
    templates: list[Path] | None,
    crd_dir: list[Path] | None,
    mode: str,
    platform: Path | None = None,
) -> None:
    from compiler.api import CompileOptions, compile_specs
    from compiler.report import REPORTER_BY_NAME

    options = CompileOptions(paths, out, target, list(templates or []), list(crd_dir or []), mode)  # type: ignore[arg-type]
    options.platform = _platform_file(platform)
    result = compile_specs(options)
    if result.diagnostics or not result.ok:
        sys.stderr.write(REPORTER_BY_NAME["text"].render(result.diagnostics, result.spec_count))
    if not result.ok and not result.stale:
        raise typer.Exit(1)
    for kind in result.unverified:
        sys.stderr.write(f"note: not verified: {kind}\n")
    for note in result.notes:
        sys.stderr.write(f"note: {note}\n")
    if mode == "diff":
        _echo(result.diff)
    elif result.stale:
        _echo("".join(f"{line}\n" for line in result.stale))
        raise _fail(f"{out} is not up to date; run `specops compile` and commit the result")
    elif mode == "check":
        _echo(f"{out} is up to date ({len(result.files)} files)\n")
    else:
        wp = result.write_plan
        assert wp is not None
        _echo(
            f"{out}: {len(wp.new)} new, {len(wp.changed)} changed, {len(wp.unchanged)} "
            f"unchanged, {len(wp.prune)} removed\n"
        )


@app.command("compile")
def compile_command(
    paths: PathsArg,
    out: OutOpt = Path("build"),
    target: TargetOpt = None,
    templates: TemplatesOpt = None,
    crd_dir: CrdOpt = None,
    check: Annotated[bool, typer.Option("--check", help="Write nothing; exit 1 if stale.")] = False,
    platform: PlatformOpt = None,
) -> None:
    """Render, verify and write every target's outputs for the specs."""
    _compile(paths, out, target, templates, crd_dir, "check" if check else "write", platform)


@app.command()
def diff(
    paths: PathsArg,
    out: OutOpt = Path("build"),
    target: TargetOpt = None,
    templates: TemplatesOpt = None,
    crd_dir: CrdOpt = None,
    platform: PlatformOpt = None,
) -> None:
    """Show, as a unified diff, what `compile` would change in the output directory."""
    _compile(paths, out, target, templates, crd_dir, "diff", platform)


@app.command()
def schema(
    kind: Annotated[
        SchemaKind, typer.Option("--kind", help="MLPipeline (a spec) or Platform.")
    ] = SchemaKind.MLPipeline,
) -> None:
    """Print the JSON Schema of the MLPipeline spec (or of platform.yaml)."""
    if kind is SchemaKind.Platform:
        from compiler.platform.schema import platform_schema_text

        _echo(platform_schema_text())
        return
    from compiler.schema import schema_text

    _echo(schema_text())


@app.command()
def version() -> None:
    """Print the specops version."""
    _echo(f"specops {__version__}\n")


@app.command("run")
def run_command(
    spec: Annotated[Path, typer.Argument(help="The spec file whose pipeline to run.")],
    local: Annotated[
        bool, typer.Option("--local", help="Run with kfp.local on this machine (no cluster).")
    ] = False,
    out_dir: Annotated[
        Path | None,
        typer.Option("--out-dir", help="Where the IR, artifacts and published model go."),
    ] = None,
    templates: TemplatesOpt = None,
    platform: PlatformOpt = None,
) -> None:
    """Compile one spec's Kubeflow pipeline and run it: train, gate and publish locally."""
    from compiler.report import REPORTER_BY_NAME
    from compiler.run import RunOptions, run_pipeline, summary

    options = RunOptions(spec, local, out_dir, list(templates or []), sys.stderr)
    options.platform = _platform_file(platform)
    result = run_pipeline(options)
    if result.diagnostics:
        sys.stderr.write(REPORTER_BY_NAME["text"].render(result.diagnostics, 1))
    _echo(summary(result))
    raise typer.Exit(0 if result.ok else 1)


@app.command()
def explain(
    spec: Annotated[Path, typer.Argument(help="The spec file.")],
    path: Annotated[str, typer.Argument(help="A JSON path such as $.model.resources.cpu.")],
    env: Annotated[
        str | None, typer.Option("--env", help="Read the path inside this environment.")
    ] = None,
    platform: PlatformOpt = None,
) -> None:
    """Print a field's final value and every layer that set it, with file:line."""
    from compiler.platform.explain import ExplainOptions
    from compiler.platform.explain import explain as run_explain
    from compiler.report import REPORTER_BY_NAME

    result = run_explain(ExplainOptions(spec, path, env, _platform_file(platform)))
    if result.explanation is None:
        sys.stderr.write(REPORTER_BY_NAME["text"].render(result.diagnostics, 1))
        raise typer.Exit(1)
    _echo(result.explanation.text())


@app.command()
def targets(templates: TemplatesOpt = None, platform: PlatformOpt = None) -> None:
    """List every target and the directory each of its files comes from."""
    from compiler.report import REPORTER_BY_NAME
    from compiler.templates_check import TargetsOptions, list_targets

    result = list_targets(TargetsOptions(list(templates or []), _platform_file(platform)))
    if result.diagnostics:
        sys.stderr.write(REPORTER_BY_NAME["text"].render(result.diagnostics, 0))
    if not result.targets:
        raise typer.Exit(1)
    _echo(result.text())


templates_app = typer.Typer(help="Test template directories.", no_args_is_help=True)
app.add_typer(templates_app, name="templates")


@templates_app.command("check")
def templates_check(
    directory: Annotated[
        Path | None, typer.Argument(help="A template directory to test over the others.")
    ] = None,
    specs: Annotated[
        list[Path] | None, typer.Option("--specs", help="Example specs (default: specs/).")
    ] = None,
    templates: TemplatesOpt = None,
    crd_dir: CrdOpt = None,
    platform: PlatformOpt = None,
    format: Annotated[Format, typer.Option("--format", "-f")] = Format.text,
) -> None:
    """Render every target against every example spec and run the verifiers."""
    from compiler.report import REPORTER_BY_NAME
    from compiler.templates_check import TemplatesCheckOptions, check_templates

    options = TemplatesCheckOptions(
        directory,
        list(specs or [Path("specs")]),
        list(templates or []),
        _platform_file(platform),
        list(crd_dir or []),
    )
    result = check_templates(options)
    _echo(REPORTER_BY_NAME[format.value].render(result.diagnostics, result.specs))
    if format is Format.text:
        _echo(result.summary)
    raise typer.Exit(0 if result.ok else 1)


@app.command()
def init(
    name: Annotated[str, typer.Argument(help="The new model's name (a DNS label).")],
    team: Annotated[str, typer.Option("--team", help="The owning team (a DNS label).")] = "ml",
    owner: Annotated[
        str | None, typer.Option("--owner", help="Owner email (default: <team>@example.com).")
    ] = None,
    directory: Annotated[Path, typer.Option("--dir", help="Where to write it.")] = Path("specs"),
    platform: PlatformOpt = None,
) -> None:
    """Scaffold DIR/NAME.yaml from the platform's defaults; it validates as written."""
    from compiler.report import REPORTER_BY_NAME
    from compiler.scaffold import InitOptions, init_spec

    result = init_spec(InitOptions(name, team, owner, directory, _platform_file(platform)))
    if result.diagnostics:
        sys.stderr.write(REPORTER_BY_NAME["text"].render(result.diagnostics, 1))
    if not result.ok:
        raise _fail(f"{result.path} not written: the scaffold does not validate")
    _echo(f"wrote {result.path}\n")


def run(argv: list[str] | None = None) -> int:
    """Run the CLI and return its exit code; SpecopsError maps to its code, bugs to 3."""
    try:
        # Standalone mode reports usage errors itself (exit 2) and turns typer.Exit into
        # SystemExit; everything else reaches the handlers below.
        app(args=argv, prog_name="specops", standalone_mode=True)
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except SpecopsError as exc:
        sys.stderr.write(f"specops: error: {exc.message}\n")
        if exc.hint:
            sys.stderr.write(f"  hint: {exc.hint}\n")
        return exc.exit_code
    except KeyboardInterrupt:
        return 130
    except Exception as exc:
        return _report_bug(exc)
    return 0


def _report_bug(exc: Exception) -> int:
    if os.environ.get("SPECOPS_DEBUG"):
        traceback.print_exc()
    sys.stderr.write(
        f"specops: internal error ({type(exc).__name__}: {exc}).\n"
        "This is a bug in specops, not in your spec. Please report it with the command you "
        "ran; set SPECOPS_DEBUG=1 for the traceback.\n"
    )
    return BUG_EXIT


def main() -> None:
    """Console entry point."""
    sys.exit(run())
