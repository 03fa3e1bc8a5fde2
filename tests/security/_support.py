"""Helpers shared by the output-folder attack tests: run the real CLI, snapshot directories."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

from compiler import cli
from tests.conftest import REPO

CHEAP_TARGETS = ["model-card", "argocd"]  # fast to render; kubeflow compiles are slow


def target_args(targets: list[str] = CHEAP_TARGETS) -> list[str]:
    return [arg for t in targets for arg in ("--target", t)]


def run_cli(argv: list[str]) -> int:
    """The CLI in this process: its exit code (stderr is left to capsys)."""
    return cli.run(argv)


def compile_args(specs: Path, out: Path, *extra: str) -> list[str]:
    return ["compile", str(specs), "--out", str(out), *target_args(), *extra]


def spawn(argv: list[str], **env: str) -> subprocess.Popen[str]:
    """The CLI in a real child process, from the repository root, so this worktree runs."""
    return subprocess.Popen(
        [sys.executable, "-m", "compiler", *argv],
        cwd=REPO,
        env={**os.environ, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def tree_hashes(root: Path) -> dict[str, str]:
    """Every entry below `root` (links included, not followed) with a hash of what it holds."""
    found: dict[str, str] = {}
    for path in sorted(root.rglob("*")):
        key = path.relative_to(root).as_posix()
        if path.is_symlink():
            found[key] = "link:" + os.readlink(path)
        elif path.is_file():
            found[key] = hashlib.sha256(path.read_bytes()).hexdigest()
        else:
            found[key] = "dir"
    return found


def files(root: Path) -> dict[str, bytes]:
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and not p.is_symlink()
    }


def temporaries(root: Path) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*.specops-tmp"))
