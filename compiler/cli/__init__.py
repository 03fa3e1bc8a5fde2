"""Command line: flags become an options object and one call into `compiler.api`.

Exit codes, the same for every command: 0 success; 1 invalid spec, failed verification or
stale output; 2 usage error (an unknown option or value, a missing path or directory), reported
in one line; 3 a bug in specops (reported briefly, never as a bare traceback).
"""

from __future__ import annotations

import os
import sys
import traceback

import typer
from typer._click.exceptions import ClickException, NoArgsIsHelpError, UsageError

from compiler.cli import build, tools
from compiler.cli.app import app
from compiler.cli.console import error_prefix
from compiler.errors import SpecopsError

__all__ = ["BUG_EXIT", "USAGE_EXIT", "app", "build", "main", "run", "tools"]

BUG_EXIT = 3
USAGE_EXIT = 2


def run(argv: list[str] | None = None) -> int:
    """Run the CLI and return its exit code; SpecopsError maps to its code, bugs to 3."""
    try:
        code = app(args=argv, prog_name="specops", standalone_mode=False)
    except SystemExit as exc:  # --show-completion and --install-completion exit themselves
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except NoArgsIsHelpError as exc:
        sys.stderr.write(exc.format_message() + "\n")
        return USAGE_EXIT
    except ClickException as exc:
        return _report_usage(exc)
    except SpecopsError as exc:
        sys.stderr.write(f"{error_prefix(sys.stderr)} {exc.message}\n")
        if exc.hint:
            sys.stderr.write(f"  hint: {exc.hint}\n")
        return exc.exit_code
    except typer.Abort:  # end of input at a prompt
        sys.stderr.write(f"{error_prefix(sys.stderr)} aborted\n")
        return 1
    except KeyboardInterrupt:
        return 130
    except Exception as exc:
        return _report_bug(exc)
    return code if isinstance(code, int) else 0


def _report_usage(exc: ClickException) -> int:
    """One line, as uv and gh say it: what is wrong, and where the command's help is."""
    message = exc.format_message().replace("Value error, ", "").rstrip(".")
    if isinstance(exc, UsageError) and exc.ctx is not None:
        message += f" (see '{exc.ctx.command_path} --help')"
    sys.stderr.write(f"{error_prefix(sys.stderr)} {message[:1].lower()}{message[1:]}\n")
    return USAGE_EXIT if isinstance(exc, UsageError) else exc.exit_code


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
