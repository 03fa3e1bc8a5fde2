"""The typer application every command module registers on, and its global options."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Annotated, Any

import typer

from compiler._version import __version__
from compiler.cli.options import SpecopsCommand

app = typer.Typer(
    name="specops",
    help="Validate ML pipeline specs and compile them into Kubeflow, CI and GitOps files.",
    no_args_is_help=True,
    add_completion=True,  # --install-completion, --show-completion
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # plain help: flags read as flags, no boxes in a pipe
)
templates_app = typer.Typer(
    help="Test template directories.", no_args_is_help=True, rich_markup_mode=None
)
app.add_typer(templates_app, name="templates")


def command(group: typer.Typer = app, name: str | None = None) -> Callable[[Any], Any]:
    """Register a command with specops' usage lines (`specops validate [OPTIONS] PATHS...`)."""
    return group.command(name, cls=SpecopsCommand)


def _print_version(value: bool) -> None:
    if value:
        sys.stdout.write(f"specops {__version__}\n")
        raise typer.Exit(0)


@app.callback()
def main_options(
    version: Annotated[
        bool,
        typer.Option(
            "--version",
            "-V",
            help="Print the specops version and exit.",
            callback=_print_version,
            is_eager=True,
        ),
    ] = False,
) -> None:
    """Validate ML pipeline specs and compile them into Kubeflow, CI and GitOps files."""
