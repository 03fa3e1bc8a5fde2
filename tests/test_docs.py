"""The docs cannot rot: every shell block of README.md and docs/*.md runs, in order per file, in a
temporary copy of the repository, with a `specops` on PATH that runs this checkout's code; every
relative link resolves. The markers a block may carry are described in docs/development.md."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import IN_CI, REPO

DOCS = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
SHELLS = {"sh", "bash", "console"}
_FENCE = re.compile(r"^(?P<indent>\s*)(?P<fence>`{3,})(?P<lang>[\w-]*)\s*$")
_MARKER = re.compile(
    r"^\s*<!-- docs-test: (?P<what>skip|exit|needs|slow)\b\s*(?P<arg>[^>]*?)\s*-->$"
)
_LINK = re.compile(r"\[[^\]]*\]\((?P<target>[^)\s]+)\)")
_INLINE_CODE = re.compile(r"(`+).+?\1")
_IGNORED = shutil.ignore_patterns(
    ".git", "__pycache__", ".pytest_cache", ".mypy_cache", ".ruff_cache", "*.egg-info", "build",
    ".specops-run", ".venv",
)  # fmt: skip
_BLOCK_TIMEOUT_SECONDS = 900


@dataclass(frozen=True)
class Block:
    doc: Path
    line: int  # of the opening fence, 1-based
    lang: str
    text: str
    marker: tuple[str, str] | None  # ("exit", "1"), ("skip", "(why)"), ("needs", "kubectl"), …

    def __str__(self) -> str:
        shown = self.doc.relative_to(REPO) if self.doc.is_relative_to(REPO) else self.doc
        return f"{shown}:{self.line}"


def blocks(doc: Path) -> list[Block]:
    """Every fenced block of `doc` with its language and the docs-test marker just above it."""
    found: list[Block] = []
    lines = doc.read_text(encoding="utf-8").splitlines()
    index = 0
    while index < len(lines):
        opening = _FENCE.match(lines[index])
        if opening is None:
            index += 1
            continue
        end = index + 1
        while end < len(lines) and lines[end].strip() != opening["fence"]:
            end += 1
        indent = len(opening["indent"])
        body = "\n".join(line[indent:] for line in lines[index + 1 : end])
        found.append(Block(doc, index + 1, opening["lang"], body + "\n", _marker(lines, index)))
        index = end + 1
    return found


def _marker(lines: list[str], fence: int) -> tuple[str, str] | None:
    above = fence - 1
    while above >= 0 and not lines[above].strip():
        above -= 1
    found = _MARKER.match(lines[above]) if above >= 0 else None
    return (found["what"], found["arg"]) if found else None


def test_markers_are_understood_and_skips_are_rare() -> None:
    """A misspelt marker would silently run (or not run) a block; skips need a reason."""
    skips = []
    for doc in DOCS:
        for number, line in enumerate(doc.read_text(encoding="utf-8").splitlines(), 1):
            if line.lstrip().startswith("<!--") and "docs" in line:
                assert _MARKER.match(line), f"{doc.relative_to(REPO)}:{number}: {line}"
                if "docs-test: skip" in line:
                    assert re.search(r"skip \(.+\)", line), f"{doc}:{number}: give a reason"
                    skips.append(f"{doc.name}:{number}")
                if "docs-test: exit" in line:
                    assert re.fullmatch(r".*exit \d+ -->", line), f"{doc}:{number}"
    runnable = [b for doc in DOCS for b in blocks(doc) if b.lang in SHELLS]
    assert len(skips) <= 4 and len(skips) * 5 < len(runnable), skips


def test_the_readme_setup_commands_are_what_ci_runs() -> None:
    """CI runs the README's test command itself (`.ci/run`): the two are the same text."""
    setup = [b.text.strip() for b in blocks(REPO / "README.md") if b.lang == "sh"][:2]
    ci = (REPO / ".ci" / "run").read_text(encoding="utf-8").strip().splitlines()[-1]
    assert setup[1] == ci


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Path:
    copy = tmp_path_factory.mktemp("docs-repo") / "repo"
    shutil.copytree(REPO, copy, ignore=_IGNORED, symlinks=True)
    # A checkout, as a reader has one: `diff --summary` compares with a git ref.
    git = ["git", "-c", "user.name=docs", "-c", "user.email=docs@example.com"]
    subprocess.run([*git, "init", "-q", "-b", "main"], cwd=copy, check=True)
    subprocess.run([*git, "add", "-A"], cwd=copy, check=True)
    subprocess.run([*git, "commit", "-q", "-m", "docs test"], cwd=copy, check=True)
    return copy


@pytest.fixture(scope="module")
def shim(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A `specops` that runs `python -m compiler` in the working directory (the copy)."""
    bin_dir = tmp_path_factory.mktemp("docs-bin")
    script = bin_dir / "specops"
    script.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m compiler "$@"\n')
    script.chmod(0o755)
    return bin_dir


@pytest.mark.parametrize("doc", DOCS, ids=lambda d: str(d.relative_to(REPO)))
def test_every_shell_block_runs(doc: Path, pristine: Path, shim: Path, tmp_path: Path) -> None:
    work = tmp_path / "repo"
    shutil.copytree(pristine, work, symlinks=True)
    env = {
        **os.environ,
        "PATH": f"{shim}{os.pathsep}{os.environ['PATH']}",
        "PYTHONUNBUFFERED": "1",
        "NO_COLOR": "1",
        "TERM": "dumb",
    }
    env.pop("PYTHONPATH", None)
    problems: list[str] = []
    for block in blocks(doc):
        if block.lang in SHELLS and _should_run(block):
            problems += _run(block, work, env)
    assert not problems, "\n\n".join(problems)


def _should_run(block: Block) -> bool:
    what, arg = block.marker or ("", "")
    if what == "skip":
        return False
    if what == "needs" and shutil.which(arg) is None:
        assert not IN_CI, f"{block}: {arg} is not on PATH under CI=true"
        return False
    if what == "slow":
        return IN_CI or os.environ.get("SPECOPS_DOCS_SLOW") == "1"
    return True


def _expected_exit(block: Block) -> int:
    return int(block.marker[1]) if block.marker and block.marker[0] == "exit" else 0


def _run(block: Block, work: Path, env: dict[str, str]) -> list[str]:
    if block.lang != "console":
        done = _bash(block.text, work, env)
        if done.returncode != _expected_exit(block):
            return [f"{block}: exit {done.returncode}, not {_expected_exit(block)}\n{done.stdout}"]
        return []
    commands = _console_commands(block)
    problems = []
    for number, (command, expected) in enumerate(commands, 1):
        done = _bash(command, work, env)
        want = _expected_exit(block) if number == len(commands) else 0
        if done.returncode != want:
            problems.append(f"{block}: `{command}` exit {done.returncode}, not {want}")
        got = [line.rstrip() for line in done.stdout.rstrip("\n").splitlines()]
        if got != expected:
            problems.append(f"{block}: `{command}` printed\n" + "\n".join(got))
    return problems


def _console_commands(block: Block) -> list[tuple[str, list[str]]]:
    commands: list[tuple[str, list[str]]] = []
    for line in block.text.rstrip("\n").splitlines():
        if line.startswith("$ "):
            commands.append((line[2:], []))
        else:
            assert commands, f"{block}: a console block starts with a `$ ` line"
            commands[-1][1].append(line.rstrip())
    for _, expected in commands:
        while expected and not expected[-1]:
            expected.pop()
    return commands


def _bash(script: str, work: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", "-e", "-o", "pipefail", "-c", script],
        cwd=work,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=_BLOCK_TIMEOUT_SECONDS,
        check=False,
    )


# --- links -----------------------------------------------------------------------------------


def _prose(doc: Path, *, code: bool = False) -> str:
    """The text of `doc` outside fenced blocks, and outside inline code unless `code`."""
    lines, inside = [], None
    for line in doc.read_text(encoding="utf-8").splitlines():
        fence = _FENCE.match(line)
        if fence and (inside is None or line.strip() == inside):
            inside = fence["fence"] if inside is None else None
        elif inside is None:
            lines.append(line if code else _INLINE_CODE.sub("", line))
    return "\n".join(lines)


def anchors(doc: Path) -> set[str]:
    """GitHub's heading anchors: lower case, punctuation dropped, spaces as hyphens."""
    found = set()
    for line in _prose(doc, code=True).splitlines():
        if line.startswith("#"):
            title = line.lstrip("#").strip().lower()
            found.add(re.sub(r"[^\w\- ]", "", title).replace(" ", "-"))
    return found


@pytest.mark.parametrize("doc", DOCS, ids=lambda d: str(d.relative_to(REPO)))
def test_every_relative_link_resolves(doc: Path) -> None:
    assert broken_links(doc, REPO) == []


def broken_links(doc: Path, root: Path) -> list[str]:
    """Relative links of `doc` to no file under `root`, or to no heading of a Markdown file."""
    broken = []
    for match in _LINK.finditer(_prose(doc)):
        target = match["target"]
        if re.match(r"^[a-z][a-z0-9+.-]*:", target):  # https:, mailto:
            continue
        path, _, anchor = target.partition("#")
        resolved = (doc.parent / path).resolve() if path else doc
        if not resolved.exists() or not resolved.is_relative_to(root):
            broken.append(f"{target}: no such file")
        elif anchor and resolved.suffix == ".md" and anchor not in anchors(resolved):
            broken.append(f"{target}: no heading #{anchor} in {resolved.relative_to(root)}")
    return broken


def test_a_broken_link_or_anchor_is_found(tmp_path: Path) -> None:
    (tmp_path / "b.md").write_text("# Title `code`\n\n## Other: part\n")
    doc = tmp_path / "a.md"
    doc.write_text(
        "[ok](b.md#title-code) [ok](b.md#other-part) [ok](#here) [web](https://x.io/y)\n"
        "`[code](nothing.md)`\n\n## Here\n\n[bad](c.md) [bad](b.md#title) [bad](../../etc)\n"
    )
    assert broken_links(doc, tmp_path) == [
        "c.md: no such file",
        "b.md#title: no heading #title in b.md",
        "../../etc: no such file",
    ]


def test_every_docs_page_is_linked_from_the_index_and_the_readme() -> None:
    index, readme = _prose(REPO / "docs" / "index.md"), _prose(REPO / "README.md")
    for page in sorted((REPO / "docs").glob("*.md")):
        if page.name != "index.md":
            assert f"({page.name}" in index, page.name
            assert f"(docs/{page.name}" in readme, page.name


def test_the_block_parser_reads_markers_indented_fences_and_console_output(
    tmp_path: Path,
) -> None:
    doc = tmp_path / "x.md"
    doc.write_text(
        "1. step\n\n   ```sh\n   echo a\n   ```\n\n<!-- docs-test: exit 3 -->\n"
        "```console\n$ echo hi\nhi\n$ exit 3\n```\n\n```yaml\nk: v\n```\n"
    )
    found = blocks(doc)
    assert [(b.lang, b.text, b.marker) for b in found] == [
        ("sh", "echo a\n", None),
        ("console", "$ echo hi\nhi\n$ exit 3\n", ("exit", "3")),
        ("yaml", "k: v\n", None),
    ]
    assert _console_commands(found[1]) == [("echo hi", ["hi"]), ("exit 3", [])]
    env = dict(os.environ)
    assert _run(found[1], tmp_path, env) == []
    wrong = Block(doc, 1, "console", "$ echo hi\nbye\n", None)
    assert "printed" in _run(wrong, tmp_path, env)[0]
