"""What reaches a person's terminal: colour and progress, and never either where a program reads.

Colour only on a terminal: `NO_COLOR` (any non-empty value, https://no-color.org) turns it off,
`FORCE_COLOR` (any non-empty value) on, NO_COLOR winning as in uv and ruff; `TERM=dumb` is no
terminal. Progress goes to stderr, on a terminal and outside CI (`CI` set), unless `--progress`
or `--no-progress` says otherwise; piped, it is one plain line per item.
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:
    from rich.progress import Progress as RichProgress
    from rich.progress import TaskID

    from compiler.progress import Progress

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
MIN_SPECS = 2  # one spec is quick: a bar would only flash
_DOING = {"validate": "validating", "render": "rendering", "verify": "verifying"}

_BOLD, _RED, _YELLOW, _CYAN, _GREEN, _RESET = "1", "31", "33", "36", "32", "0"
_DIAGNOSTIC = re.compile(r"^(?P<at>\S.*?:\d+:\d+): (?P<severity>error|warning|note) (?P<code>\S+):")
_SEVERITY = {"error": _RED, "warning": _YELLOW, "note": _CYAN}


def _is_terminal(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):  # no isatty, or a closed stream
        return False


def colour_enabled(stream: Any) -> bool:
    """Whether text written to `stream` may carry ANSI colour."""
    if os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("FORCE_COLOR"):
        return True
    return os.environ.get("TERM") != "dumb" and _is_terminal(stream)


def style(text: str, *codes: str) -> str:
    return f"\x1b[{';'.join(codes)}m{text}\x1b[{_RESET}m"


def colour_report(text: str) -> str:
    """A text report with its locations bold and its severities coloured."""
    lines = []
    for line in text.splitlines(keepends=True):
        match = _DIAGNOSTIC.match(line)
        if match:
            severity = match["severity"]
            head = (
                f"{style(match['at'], _BOLD)}: {style(severity, _BOLD, _SEVERITY[severity])} "
                f"{style(match['code'], _BOLD)}:"
            )
            line = head + line[match.end() :]
        elif line.lstrip().startswith("hint:"):
            indent = line[: len(line) - len(line.lstrip())]
            line = indent + style("hint:", _CYAN) + line.lstrip()[len("hint:") :]
        lines.append(line)
    return "".join(lines)


def colour_diff(text: str) -> str:
    """A unified diff coloured as git colours one."""
    lines = []
    for line in text.splitlines(keepends=True):
        body, end = (line[:-1], "\n") if line.endswith("\n") else (line, "")
        if line.startswith(("+++", "---")):
            body = style(body, _BOLD)
        elif line.startswith("+"):
            body = style(body, _GREEN)
        elif line.startswith("-"):
            body = style(body, _RED)
        elif line.startswith("@@"):
            body = style(body, _CYAN)
        lines.append(body + end)
    return "".join(lines)


def write_report(text: str, stream: TextIO) -> None:
    stream.write(colour_report(text) if colour_enabled(stream) else text)


def write_diff(text: str, stream: TextIO) -> None:
    stream.write(colour_diff(text) if colour_enabled(stream) else text)


def error_prefix(stream: TextIO) -> str:
    return style("specops: error:", _BOLD, _RED) if colour_enabled(stream) else "specops: error:"


class StripAnsi:
    """A text stream that drops ANSI escape codes (kfp.local colours its logs unconditionally)."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream

    def write(self, text: str) -> int:
        self.stream.write(ANSI.sub("", text))
        return len(text)

    def flush(self) -> None:
        self.stream.flush()

    def isatty(self) -> bool:
        return False


def log_stream(stream: TextIO) -> TextIO:
    """Where a child's coloured logs go: as they are on a colour terminal, else stripped."""
    return stream if colour_enabled(stream) else StripAnsi(stream)  # type: ignore[return-value]


def progress_wanted(asked: bool | None, machine_format: bool = False) -> bool:
    """--progress / --no-progress decide; else on a terminal outside CI, for text output."""
    if asked is not None:
        return asked
    ci = bool(os.environ.get("CI"))
    return not machine_format and not ci and _is_terminal(sys.stderr)


class _Sink:
    """Shows nothing for a command over fewer than MIN_SPECS specs (its first stage decides)."""

    enabled: bool | None = None

    def stage(self, name: str, total: int) -> None:
        if self.enabled is None:
            self.enabled = total >= MIN_SPECS
        if self.enabled:
            self.start(_DOING.get(name, name), total)

    def advance(self, item: str) -> None:
        if self.enabled:
            self.step(item)

    def start(self, name: str, total: int) -> None:
        raise NotImplementedError

    def step(self, item: str) -> None:
        raise NotImplementedError


class LineProgress(_Sink):
    """Progress as plain lines, for a log that asked for it (`--progress` when piped)."""

    def __init__(self, stream: TextIO) -> None:
        self.stream, self.name, self.total, self.done = stream, "", 0, 0

    def start(self, name: str, total: int) -> None:
        self.name, self.total, self.done = name, total, 0

    def step(self, item: str) -> None:
        self.done += 1
        self.stream.write(f"specops: {self.name} {self.done}/{self.total} {item}\n")
        self.stream.flush()


class BarProgress(_Sink):
    """A rich progress bar on a terminal, one task per stage, cleared when the work ends."""

    def __init__(self, bar: RichProgress) -> None:
        self.bar = bar
        self.task_id: TaskID | None = None

    def start(self, name: str, total: int) -> None:
        if self.task_id is not None:
            self.bar.remove_task(self.task_id)
        self.task_id = self.bar.add_task(name, total=total, item="")
        self.bar.refresh()  # a stage quicker than the refresh rate still shows

    def step(self, item: str) -> None:
        if self.task_id is not None:
            self.bar.update(self.task_id, advance=1, item=item, refresh=True)


@contextlib.contextmanager
def progress(asked: bool | None, machine_format: bool = False) -> Iterator[Progress]:
    """The progress sink for one command; a bar only while the context is open."""
    from compiler.progress import NO_PROGRESS

    if not progress_wanted(asked, machine_format):
        yield NO_PROGRESS
    elif not _is_terminal(sys.stderr):
        yield LineProgress(sys.stderr)
    else:
        with _bar() as bar:
            yield BarProgress(bar)


def _bar() -> RichProgress:
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    colour = colour_enabled(sys.stderr)
    console = Console(
        file=sys.stderr,
        force_terminal=True,
        color_system="auto" if colour else None,
        no_color=not colour,
        highlight=False,
    )
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[item]}", markup=False),
        console=console,
        transient=True,
        redirect_stdout=False,
        redirect_stderr=False,
    )
