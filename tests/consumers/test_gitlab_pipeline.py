"""gitlab-ci-local (from npm, on its own Node 22) lists the jobs of the merged GitLab pipeline, as
GitLab would for a merge request and for a push to the default branch: a repository whose
.gitlab-ci.yml includes every generated include, whose origin/main lacks one spec's edit."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REPO, needs_tool, tool
from tests.consumers.conftest import Compiled

pytestmark = needs_tool("gitlab-ci-local")
EDITED = "churn-classifier"  # its spec changes; the other spec's jobs must not run
MR_EVENT = [
    "--variable=CI_PIPELINE_SOURCE=merge_request_event",
    "--variable=CI_MERGE_REQUEST_TARGET_BRANCH_NAME=main",
    "--unset-variable=CI_COMMIT_BRANCH",  # GitLab sets no branch in merge request pipelines
]
PUSH_EVENT = ["--variable=CI_PIPELINE_SOURCE=push"]


def _git(repo: Path, *args: str) -> None:
    identity = ["-c", "user.name=t", "-c", "user.email=t@example.com", "-c", "commit.gpgsign=false"]
    subprocess.run(["git", *identity, *args], cwd=repo, check=True, capture_output=True)


def _repository(compiled: Compiled, folder: Path, edit: str, branch: str) -> Path:
    """The generated includes and the specs they watch, committed as origin/main; then, on
    `branch`, a commit that edits the file `edit`."""
    repo = folder / "repo"
    includes = compiled.files("ci/gitlab/*.gitlab-ci.yml")
    (repo / "ci" / "gitlab").mkdir(parents=True)
    for path in includes:
        shutil.copy(path, repo / "ci" / "gitlab" / path.name)
    for name in (p.name.removesuffix(".gitlab-ci.yml") for p in includes):
        spec = repo / compiled.spec_paths[name]
        spec.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(REPO / compiled.spec_paths[name], spec)
    root = "include:\n" + "".join(f"  - local: ci/gitlab/{p.name}\n" for p in includes)
    (repo / ".gitlab-ci.yml").write_text(root)
    (repo / "README.md").write_text("a repository\n")
    _git(repo, "init", "-q", "-b", "main")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-qm", "base")
    _git(repo, "remote", "add", "origin", "https://gitlab.example.com/acme/ml.git")
    _git(repo, "update-ref", "refs/remotes/origin/main", "HEAD")
    _git(repo, "symbolic-ref", "refs/remotes/origin/HEAD", "refs/remotes/origin/main")
    if branch != "main":
        _git(repo, "checkout", "-q", "-b", branch)
    with (repo / edit).open("a") as edited:
        edited.write("# an edit\n")
    _git(repo, "commit", "-qam", f"edit {edit}")
    return repo


def _jobs(repo: Path, home: Path, event: list[str]) -> dict[str, dict[str, Any]]:
    """gitlab-ci-local's --list-json for the event: every job, `when: never` ones included."""
    result = subprocess.run(
        [
            tool("gitlab-ci-local"),
            "--list-json",
            "--no-color",
            f"--home={home}",
            "--ignore-predefined-vars=CI_PIPELINE_SOURCE,CI_COMMIT_BRANCH",
            *event,
        ],
        cwd=repo,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return {job["name"]: job for job in json.loads(result.stdout)}


def _running(jobs: dict[str, dict[str, Any]]) -> dict[str, tuple[str, list[str]]]:
    return {
        name: (job["when"], [need["job"] for need in job.get("needs") or []])
        for name, job in jobs.items()
        if job["when"] != "never"
    }


def test_a_merge_request_validates_and_summarises_only_the_edited_spec(
    compiled: Compiled, tmp_path: Path
) -> None:
    repo = _repository(compiled, tmp_path, compiled.spec_paths[EDITED], "feature")
    jobs = _jobs(repo, tmp_path, MR_EVENT)
    assert len(jobs) > 4, jobs  # every spec's jobs were read
    assert _running(jobs) == {
        f"specops-{EDITED}-validate": ("on_success", []),
        f"specops-{EDITED}-summary": ("on_success", []),
    }
    assert jobs[f"specops-{EDITED}-validate"]["stage"] == "test"


def test_a_push_to_main_publishes_then_promotes_in_order(
    compiled: Compiled, tmp_path: Path
) -> None:
    repo = _repository(compiled, tmp_path, compiled.spec_paths[EDITED], "main")
    spec = compiled.specs[EDITED]
    expected = {f"specops-{EDITED}-publish": ("on_success", [])}
    previous = f"specops-{EDITED}-publish"
    for env in spec["deploy"]["environments"]:
        when = "manual" if env.get("approval") == "required" else "on_success"
        expected[f"specops-{EDITED}-promote-{env['name']}"] = (when, [previous])
        previous = f"specops-{EDITED}-promote-{env['name']}"
    assert "manual" in {when for when, _ in expected.values()}, "the spec asks for no approval"
    jobs = _jobs(repo, tmp_path, PUSH_EVENT)
    assert _running(jobs) == expected
    manual = [name for name, (when, _) in expected.items() if when == "manual"]
    assert all(jobs[name]["allow_failure"] is False for name in manual)  # the pipeline waits


@pytest.mark.parametrize("branch", ["main", "feature"])
def test_an_edit_outside_the_watched_paths_runs_no_job(
    compiled: Compiled, tmp_path: Path, branch: str
) -> None:
    repo = _repository(compiled, tmp_path, "README.md", branch)
    assert _running(_jobs(repo, tmp_path, PUSH_EVENT if branch == "main" else MR_EVENT)) == {}


def test_a_batch_only_environment_is_scheduled_at_publish_not_promoted(
    compiled: Compiled, tmp_path: Path
) -> None:
    name = "batch-only"  # dev serves, nightly only scores in batch, prod serves
    repo = _repository(compiled, tmp_path, compiled.spec_paths[name], "main")
    assert _running(_jobs(repo, tmp_path, PUSH_EVENT)) == {
        f"specops-{name}-publish": ("on_success", []),
        f"specops-{name}-promote-dev": ("on_success", [f"specops-{name}-publish"]),
        f"specops-{name}-promote-prod": ("manual", [f"specops-{name}-promote-dev"]),
    }
