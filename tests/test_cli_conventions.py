"""What a user of ruff, uv or gh expects of a CLI: help that reads as commands, --version, shell
completion, one exit-code contract, colour and progress only on a terminal (tested on a real pty).
"""

from __future__ import annotations

import io
import json
import os
import pty
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.core import TyperArgument, TyperGroup, TyperOption
from typer.main import get_command

from compiler._version import __version__
from compiler.cli import app, run
from compiler.cli.console import StripAnsi, colour_diff, colour_report, log_stream

REPO = Path(__file__).resolve().parents[1]
CHURN = "specs/churn-classifier.yaml"
BAD = "tests/data/invalid/unknown-keys.yaml"
SGR = re.compile(rb"\x1b\[[0-9;]*m")  # colour and weight; cursor movement is not colour


CommandPath = tuple[str, ...]


def _commands(group: TyperGroup, path: CommandPath = ()) -> Iterator[tuple[CommandPath, Any]]:
    for name, cmd in group.commands.items():
        if isinstance(cmd, TyperGroup):
            yield from _commands(cmd, (*path, name))
        else:
            yield (*path, name), cmd


ROOT = get_command(app)
assert isinstance(ROOT, TyperGroup)
COMMANDS = dict(_commands(ROOT))


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = run(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


# --- help ------------------------------------------------------------------------------------

_ARGUMENT = r"[A-Z]+(?:\.\.\.)?"  # NAME or NAME..., in brackets when optional
_USAGE = re.compile(
    rf"^Usage: specops(?: [a-z][a-z-]*)+ \[OPTIONS\]((?: (?:{_ARGUMENT}|\[{_ARGUMENT}\]))*)$"
)


def _section(text: str, title: str) -> dict[str, str]:
    """The rows of a help section: first column -> help text (wrapped lines joined)."""
    rows: dict[str, str] = {}
    lines = text.split(f"\n{title}:\n", 1)[1].split("\n\n", 1)[0].splitlines()
    last = ""
    for line in lines:
        if line.startswith("  ") and not line.startswith("   "):
            last, _, rest = line[2:].partition("  ")
            rows[last] = rest.strip()
        elif last:
            rows[last] = f"{rows[last]} {line.strip()}".strip()
    return rows


@pytest.mark.parametrize("path", sorted(COMMANDS), ids=" ".join)
def test_help_reads_as_a_command(capsys: pytest.CaptureFixture[str], path: tuple[str, ...]) -> None:
    code, out, _ = _run(capsys, *path, "--help")
    assert code == 0
    usage = _USAGE.match(out.splitlines()[0])
    assert usage, out.splitlines()[0]
    assert out.startswith(f"Usage: specops {' '.join(path)} [OPTIONS]")
    assert "<" not in out and "{" not in out, out  # no <bool>, <list[Path]> or {paths}
    command = COMMANDS[path]
    arguments = [p for p in command.params if isinstance(p, TyperArgument)]
    if arguments:
        listed = _section(out, "Arguments")
        assert usage.group(1).split() == list(listed), out
        assert all(listed.values()), listed  # every argument says what it is
    options = _section(out, "Options")
    for param in command.params:
        if isinstance(param, TyperOption):
            _assert_option_row(param, options)


def _assert_option_row(param: TyperOption, rows: dict[str, str]) -> None:
    (names,) = [n for n in rows if re.search(rf"(^|[ ,]){re.escape(param.opts[-1])}\b", n)]
    assert rows[names] and not rows[names].startswith("["), f"{names} has no help text"
    if param.is_flag:  # shown as a flag: its names and nothing else
        assert re.fullmatch(r"(-\w, )?--[a-z-]+( / --[a-z-]+)?", names), names
    else:  # a value: its names and one upper-case metavar
        assert re.fullmatch(r"(-\w, )?--[a-z-]+ [A-Z]+", names), names


def test_every_command_is_listed_with_help(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, "--help")
    assert code == 0
    listed = _section(out, "Commands")
    assert set(listed) == {path[0] for path in COMMANDS}
    assert all(listed.values())
    options = _section(out, "Options")
    for flag in ("-V, --version", "--install-completion", "--show-completion"):
        assert options[flag], out


def test_a_flag_takes_no_value(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    # `--check true`: --check is a flag, so `true` is one more path, which does not exist.
    code, out, err = _run(capsys, "compile", "specs/", "--check", "true", "-o", str(tmp_path))
    assert (code, out) == (2, "")
    assert err == "specops: error: no such file or directory: true\n"


def test_progress_flag_pair_parses(capsys: pytest.CaptureFixture[str]) -> None:
    assert _run(capsys, "validate", "--no-progress", "specs/")[:2] == (0, "3 specs valid\n")
    code, out, err = _run(capsys, "validate", "--progress", "specs/")
    assert (code, out) == (0, "3 specs valid\n")
    assert "specops: validating 3/3 specs/vision-defects.yaml\n" in err  # piped: plain lines


# --- version and completion ------------------------------------------------------------------


@pytest.mark.parametrize("args", [["--version"], ["-V"], ["version"]])
def test_version(capsys: pytest.CaptureFixture[str], args: list[str]) -> None:
    assert _run(capsys, *args) == (0, f"specops {__version__}\n", "")


def _specops(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "compiler", *args],
        capture_output=True, text=True, cwd=REPO, env={**os.environ, **env}, timeout=120,
    )  # fmt: skip


NO_DETECTION = {"_TYPER_COMPLETE_TEST_DISABLE_SHELL_DETECTION": "1"}  # name the shell instead


@pytest.mark.parametrize(
    ("shell", "marks"),
    [
        ("bash", ["complete -o default -F _specops_completion specops", "_SPECOPS_COMPLETE"]),
        ("zsh", ["#compdef specops", "compdef _specops_completion specops"]),
    ],
)
def test_show_completion_prints_the_shell_script(shell: str, marks: list[str]) -> None:
    done = _specops("--show-completion", shell, **NO_DETECTION)
    assert done.returncode == 0, done.stderr
    for mark in marks:
        assert mark in done.stdout


def test_bash_completes_commands_and_options(tmp_path: Path) -> None:
    """Source the script in a real bash, as --install-completion would, and complete words."""
    bash = shutil.which("bash")
    assert bash is not None
    script = _specops("--show-completion", "bash", **NO_DETECTION).stdout
    shim = tmp_path / "specops"
    shim.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m compiler "$@"\n')
    shim.chmod(0o755)
    (tmp_path / "completion.bash").write_text(script)
    words = {"specops va": "validate", "specops validate --pro": "--progress"}
    for line, expected in words.items():
        program = (
            f"source {tmp_path / 'completion.bash'}; COMP_WORDS=({line}); "
            f"COMP_CWORD={len(line.split()) - 1}; _specops_completion specops; "
            'printf "%s\\n" "${COMPREPLY[@]}"'
        )
        env = {**os.environ, "PATH": f"{tmp_path}{os.pathsep}{os.environ['PATH']}"}
        done = subprocess.run(
            [bash, "-c", program], capture_output=True, text=True, cwd=REPO, env=env, timeout=120
        )
        assert expected in done.stdout.split(), (line, done.stdout, done.stderr)


# --- one exit-code contract ------------------------------------------------------------------

# Every command x (a missing path, a missing directory or file given to an option, a bad value):
# exit 2 and one line that says what is wrong (a hint may follow on a second line).
USAGE_ERRORS: list[tuple[list[str], str]] = [
    (["validate", "nosuch"], "no such file or directory: nosuch"),
    (["validate", "specs/", "--platform", "nosuch.yaml"], "--platform: no such file: nosuch.yaml"),
    (["validate", "specs/", "--platform", "specs"], "--platform: not a file: specs"),
    (["validate", "specs/", "-f", "xml"], "'xml' is not one of"),
    (["compile", "nosuch"], "no such file or directory: nosuch"),
    (["compile", "specs/", "--templates", "nosuchdir"], "--templates: no such directory"),
    (["compile", "specs/", "--templates", CHURN], f"--templates: not a directory: {CHURN}"),
    (["compile", "specs/", "--crd-dir", "nosuchdir"], "--crd-dir: no such file or directory"),
    (["compile", "specs/", "-t", "nope"], "unknown target(s): nope"),
    (["diff", "nosuch"], "no such file or directory: nosuch"),
    (["diff", "specs/", "--templates", "nosuchdir"], "--templates: no such directory: nosuchdir"),
    (["diff", "specs/", "--crd-dir", "nosuchdir"], "--crd-dir: no such file or directory"),
    (["diff", "specs/", "-t", "nope"], "unknown target(s): nope"),
    (["schema", "--kind", "Nope"], "'Nope' is not one of"),
    (["version", "extra"], "unexpected extra argument"),
    (["run", "nosuch.yaml", "--local"], "no such file: nosuch.yaml"),
    (["run", "specs", "--local"], "not a file: specs"),
    (["run", CHURN, "--local", "--templates", "nosuchdir"], "--templates: no such directory"),
    (["run", CHURN], "only local runs are supported (--local)"),
    (["explain", "nosuch.yaml", "$.model"], "no such file: nosuch.yaml"),
    (["explain", CHURN, "$.model", "--platform", "nosuch.yaml"], "--platform: no such file"),
    (["explain", CHURN], "missing argument 'JSONPATH'"),
    (["targets", "--templates", "nosuchdir"], "--templates: no such directory: nosuchdir"),
    (["targets", "--platform", "nosuch.yaml"], "--platform: no such file: nosuch.yaml"),
    (["templates", "check", "nosuchdir"], "no such directory: nosuchdir"),
    (["templates", "check", "--specs", "nosuch"], "--specs: no such file or directory: nosuch"),
    (["templates", "check", "--crd-dir", "nosuchdir"], "--crd-dir: no such file or directory"),
    (["templates", "check", "-f", "xml"], "'xml' is not one of"),
    (["init", "demo", "--platform", "nosuch.yaml"], "--platform: no such file: nosuch.yaml"),
    (["init", "demo", "--dir", "pyproject.toml"], "--dir pyproject.toml is not a directory"),
    (["init", "Not_A_Label", "--dir", "pyproject.toml"], "Not_A_Label"),
    (["bogus"], "no such command 'bogus'"),
    (["--bogus"], "no such option: --bogus"),
]
USAGE_ERRORS += [([*path, "--bogus"], "no such option: --bogus") for path in sorted(COMMANDS)]


@pytest.mark.parametrize(("args", "expected"), USAGE_ERRORS, ids=lambda v: " ".join(v))
def test_usage_errors_exit_2_with_one_line(
    capsys: pytest.CaptureFixture[str], args: list[str], expected: str
) -> None:
    code, out, err = _run(capsys, *args)
    assert (code, out) == (2, "")
    first, *rest = err.splitlines()
    assert first.startswith("specops: error: ") and expected in first, err
    assert rest == [] or (len(rest) == 1 and rest[0].startswith("  hint: ")), err


def test_the_table_covers_every_command() -> None:
    # Apart from the generated --bogus rows, each command has a row of its own.
    covered = {tuple(args[: len(path)]) for args, _ in USAGE_ERRORS[: -len(COMMANDS)]
               for path in COMMANDS if tuple(args[: len(path)]) == path}  # fmt: skip
    assert covered == set(COMMANDS)


def test_no_arguments_prints_help_and_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _run(capsys)
    assert code == 2 and out == ""
    assert err.startswith("Usage: specops [OPTIONS] COMMAND [ARGS]...")


# --- colour and progress on a real terminal --------------------------------------------------


def _on_a_terminal(*args: str, **env: str) -> tuple[int, bytes]:
    """Run specops with stdin, stdout and stderr on a new pty; return its code and bytes."""
    clean = {k: v for k, v in os.environ.items() if k not in ("CI", "NO_COLOR", "FORCE_COLOR")}
    clean.update({"TERM": "xterm-256color", "COLUMNS": "120", "LINES": "40", **env})
    leader, follower = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "compiler", *args],
        stdin=follower, stdout=follower, stderr=follower, cwd=REPO, env=clean,
    )  # fmt: skip
    os.close(follower)
    chunks = []
    while True:
        try:
            data = os.read(leader, 65536)
        except OSError:  # EIO: every process holding the terminal has gone
            break
        if not data:
            break
        chunks.append(data)
    os.close(leader)
    return proc.wait(timeout=300), b"".join(chunks)


def test_a_terminal_gets_colour_and_a_progress_bar() -> None:
    code, out = _on_a_terminal("validate", "specs/", BAD)
    assert code == 1
    assert SGR.search(out), out
    assert b"\x1b[1;31merror\x1b[0m" in out  # the severity in bold red
    assert b"validating" in out and b"4/4" in out  # the bar, cleared when done


def test_a_usage_error_on_a_terminal_is_one_red_line() -> None:
    code, out = _on_a_terminal("validate", "nosuch")
    assert code == 2
    assert out == b"\x1b[1;31mspecops: error:\x1b[0m no such file or directory: nosuch\r\n"
    code, out = _on_a_terminal("validate", "nosuch", NO_COLOR="1")
    assert out == b"specops: error: no such file or directory: nosuch\r\n"


def test_no_color_turns_colour_off_on_a_terminal() -> None:
    code, out = _on_a_terminal("validate", "specs/", BAD, NO_COLOR="1")
    assert code == 1
    assert not SGR.search(out), out
    assert b"validating" in out  # NO_COLOR is about colour: the bar still shows
    assert b"error SPEC101" in out


def test_ci_turns_progress_off_on_a_terminal() -> None:
    code, out = _on_a_terminal("validate", "specs/", BAD, CI="true")
    assert code == 1
    assert b"validating" not in out
    assert SGR.search(out)  # still a terminal: still colour


def test_machine_formats_stay_clean_on_a_terminal() -> None:
    code, out = _on_a_terminal("validate", "-f", "json", "specs/", BAD)
    assert code == 1
    assert b"\x1b" not in out
    assert json.loads(out.decode())["errors"] == 2


def test_compile_shows_progress_on_a_terminal(tmp_path: Path) -> None:
    code, out = _on_a_terminal("compile", "specs/", "-t", "model-card", "-o", str(tmp_path))
    assert code == 0, out
    assert b"rendering" in out and b"3/3" in out
    assert b": 9 new, 0 changed" in out  # six outputs, three facts files


def test_piped_output_has_no_escape_codes_at_all() -> None:
    done = _specops("validate", "specs/", BAD)
    assert done.returncode == 1
    assert "\x1b" not in done.stdout + done.stderr
    assert "validating" not in done.stderr


def test_force_color_colours_a_pipe_and_no_color_wins() -> None:
    assert "\x1b[" in _specops("validate", BAD, FORCE_COLOR="1").stdout
    assert "\x1b[" not in _specops("validate", BAD, FORCE_COLOR="1", NO_COLOR="1").stdout


def test_an_empty_no_color_is_not_set(monkeypatch: pytest.MonkeyPatch) -> None:
    from compiler.cli.console import colour_enabled

    monkeypatch.setenv("NO_COLOR", "")
    monkeypatch.setenv("FORCE_COLOR", "1")
    assert colour_enabled(io.StringIO())
    monkeypatch.setenv("NO_COLOR", "0")  # any non-empty value disables colour
    assert not colour_enabled(io.StringIO())


# --- what the colours are --------------------------------------------------------------------


def test_colour_report_marks_location_severity_and_hint() -> None:
    text = "a.yaml:8:3: error SPEC101: unknown key 'x'\n    at $.x\n    hint: did you mean 'y'?\n"
    assert colour_report(text) == (
        "\x1b[1ma.yaml:8:3\x1b[0m: \x1b[1;31merror\x1b[0m \x1b[1mSPEC101\x1b[0m: unknown key 'x'\n"
        "    at $.x\n"
        "    \x1b[36mhint:\x1b[0m did you mean 'y'?\n"
    )


def test_colour_diff_is_gits() -> None:
    text = "--- a/x\n+++ b/x\n@@ -1 +1 @@\n-old\n+new\n same\n"
    assert colour_diff(text) == (
        "\x1b[1m--- a/x\x1b[0m\n\x1b[1m+++ b/x\x1b[0m\n\x1b[36m@@ -1 +1 @@\x1b[0m\n"
        "\x1b[31m-old\x1b[0m\n\x1b[32m+new\x1b[0m\n same\n"
    )


def test_run_logs_lose_kfps_colours_off_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    from kfp.local import logging_utils  # what kfp.local writes, coloured unconditionally

    line = f"Task {logging_utils.format_task_name('train')} finished\n"
    monkeypatch.delenv("FORCE_COLOR", raising=False)
    sink = io.StringIO()
    stream = log_stream(sink)
    assert isinstance(stream, StripAnsi)
    stream.write(line)
    assert sink.getvalue() == "Task 'train' finished\n"
    monkeypatch.setenv("FORCE_COLOR", "1")
    assert log_stream(sink) is sink
