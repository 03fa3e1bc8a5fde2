"""The shell scripts of generated CI files, extracted for shellcheck: each `run:` step of a GitHub
workflow whose shell is bash or sh, and each `before_script`/`script`/`after_script` of a GitLab
job (its lines joined, as the runner runs them), each in a file named after where it came from."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

from tests.conftest import tool

SHELLS = {"bash": "bash", "sh": "sh"}
GITLAB_SCRIPTS = ("before_script", "script", "after_script")


def _load(path: Path) -> dict[Any, Any]:
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(document, dict), path
    return document


def github_scripts(path: Path) -> Iterator[tuple[str, str, str]]:
    """(where, shell, script) of each shell `run:` step; GitHub's default shell is bash."""
    workflow = _load(path)
    default = (workflow.get("defaults") or {}).get("run", {}).get("shell", "bash")
    for job_id, job in workflow["jobs"].items():
        job_default = (job.get("defaults") or {}).get("run", {}).get("shell", default)
        for index, step in enumerate(job.get("steps", [])):
            shell = step.get("shell", job_default)
            if "run" in step and shell in SHELLS:
                yield f"{path.stem}.{job_id}.{index}", SHELLS[shell], str(step["run"])


def _lines(value: Any) -> Iterator[str]:
    for item in value if isinstance(value, list) else [value]:
        if isinstance(item, list):  # GitLab flattens nested lists (from !reference)
            yield from _lines(item)
        else:
            yield str(item)


def gitlab_scripts(path: Path) -> Iterator[tuple[str, str, str]]:
    """(where, shell, script) of each job's script sections, checked as POSIX sh: the runner
    falls back to sh in an image without bash."""
    for job_id, job in _load(path).items():
        if not isinstance(job, dict):
            continue
        for key in GITLAB_SCRIPTS:
            if key in job:
                yield f"{path.name}.{job_id}.{key}", "sh", "\n".join(_lines(job[key])) + "\n"


def shellcheck(
    folder: Path, scripts: list[tuple[str, str, str]]
) -> subprocess.CompletedProcess[str]:
    """One shellcheck run over every script (each with its shell's shebang), gcc-style output
    naming the file each finding is in."""
    names = []
    for where, shell, script in scripts:
        assert "${{" not in script, f"{where}: a GitHub expression inside a script: {script!r}"
        name = f"{where}.sh".replace("/", "_")
        (folder / name).write_text(f"#!/bin/{shell}\n{script}", encoding="utf-8")
        names.append(name)
    return subprocess.run(
        [tool("shellcheck"), "--format=gcc", "--severity=style", *names],
        cwd=folder,
        capture_output=True,
        text=True,
        check=False,
    )
