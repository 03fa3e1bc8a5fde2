"""The generated CI publishes the change summary: GitHub's job summary and one pull request
comment, GitLab's exposed artifact and one merge request note (run here against a local API)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest
import yaml

from tests.conftest import REPO

GOLDEN = REPO / "tests" / "golden"
MARKER = "<!-- specops-summary:churn-classifier -->"


def _load(path: Path) -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    return document


def test_github_summary_job_alone_may_comment() -> None:
    workflow = _load(GOLDEN / ".github/workflows/specops-churn-classifier-pr.yml")
    assert set(workflow[True]) == {"pull_request"}  # `on`, to YAML 1.1; no pull_request_target
    jobs = workflow["jobs"]
    assert jobs["summary"]["permissions"] == {"contents": "read", "pull-requests": "write"}
    assert "pull-requests" not in jobs["validate"]["permissions"]
    assert jobs["summary"]["env"]["SPECOPS_MARKER"] == MARKER
    steps = jobs["summary"]["steps"]
    assert steps[0]["with"] == {"fetch-depth": 2, "persist-credentials": False}
    runs = "\n".join(step.get("run", "") for step in steps)
    assert "${{" not in runs  # no expression expands into a script
    assert 'specops diff --summary --base HEAD^1 -- "$SPECOPS_SPEC" > specops-summary.md' in runs
    assert 'cat specops-summary.md >> "$GITHUB_STEP_SUMMARY"' in runs
    comment = steps[-1]
    assert comment["if"] == "github.event.pull_request.head.repo.full_name == github.repository"
    assert comment["env"] == {"GH_TOKEN": "${{ secrets.GITHUB_TOKEN }}"}
    assert "startswith(env.SPECOPS_MARKER)" in comment["run"]
    assert '.user.login == "github-actions[bot]"' in comment["run"]
    assert "--method PATCH" in comment["run"] and "--method POST" in comment["run"]


def test_gitlab_summary_job_is_an_exposed_artifact() -> None:
    pipeline = _load(GOLDEN / "ci/gitlab/churn-classifier.gitlab-ci.yml")
    job = pipeline["specops-churn-classifier-summary"]
    assert job["stage"] == "test"
    assert job["rules"][0]["if"].startswith('$CI_PIPELINE_SOURCE == "merge_request_event"')
    assert job["artifacts"] == {
        "when": "always",
        "expose_as": "specops summary",
        "paths": ["specops-summary.md", "specops-summary.json"],
    }
    assert job["variables"]["SPECOPS_NOTE_TOKEN"] == "$SPECOPS_GITLAB_TOKEN"
    assert job["variables"]["SPECOPS_MARKER"] == {"value": MARKER, "expand": False}
    base = '--base "$CI_MERGE_REQUEST_DIFF_BASE_SHA"'
    assert any(base in line and "> specops-summary.md" in line for line in job["script"])


# --- the GitLab note script against a local API ----------------------------------------------


class _Api(BaseHTTPRequestHandler):
    notes: ClassVar[list[dict[str, Any]]] = []
    calls: ClassVar[list[tuple[str, str, Any]]] = []

    def _reply(self, value: Any) -> None:
        data = json.dumps(value).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        assert self.headers["PRIVATE-TOKEN"] == "glpat-test"
        self.calls.append(("GET", self.path, None))
        if self.path == "/api/v4/user":
            self._reply({"username": "specops-bot"})
        else:
            page = int(self.path.rsplit("page=", 1)[1])
            self._reply(self.notes[(page - 1) * 100 : page * 100])

    def _body(self) -> Any:
        return json.loads(self.rfile.read(int(self.headers["Content-Length"])))

    def do_POST(self) -> None:
        self.calls.append(("POST", self.path, self._body()))
        self._reply({"id": 999})

    def do_PUT(self) -> None:
        self.calls.append(("PUT", self.path, self._body()))
        self._reply({"id": 1})

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def api() -> Iterator[tuple[str, type[_Api]]]:
    _Api.notes, _Api.calls = [], []
    server = HTTPServer(("127.0.0.1", 0), _Api)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/api/v4", _Api
    server.shutdown()
    server.server_close()


def _note_script() -> str:
    pipeline = _load(GOLDEN / "ci/gitlab/churn-classifier.gitlab-ci.yml")
    block = pipeline["specops-churn-classifier-summary"]["script"][-1]
    body = block.split("<<'SPECOPS_PY'\n", 1)[1].rsplit("SPECOPS_PY", 1)[0]
    return body


def _run_note(tmp_path: Path, url: str, token: str = "glpat-test") -> str:
    (tmp_path / "specops-summary.md").write_text("### specops: what this change does\n")
    env = {
        "PATH": os.environ["PATH"],
        "SPECOPS_NOTE_TOKEN": token,
        "CI_API_V4_URL": url,
        "CI_PROJECT_ID": "group/project",
        "CI_MERGE_REQUEST_IID": "7",
        "SPECOPS_MARKER": MARKER,
    }
    done = subprocess.run(
        [sys.executable, "-c", _note_script()],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return done.stdout


NOTES = "/api/v4/projects/group%2Fproject/merge_requests/7/notes"


def test_gitlab_note_is_created_once_then_updated(
    tmp_path: Path, api: tuple[str, type[_Api]]
) -> None:
    url, state = api
    state.notes = [
        {"id": 5, "author": {"username": "someone"}, "body": MARKER + "\n\nforged"},
        *({"id": 10 + i, "author": {"username": "x"}, "body": "hi"} for i in range(100)),
    ]
    _run_note(tmp_path, url)
    posted = [c for c in state.calls if c[0] != "GET"]
    assert posted == [
        ("POST", NOTES, {"body": MARKER + "\n\n### specops: what this change does\n"})
    ]  # someone else's note with the marker is not ours to edit
    state.calls = []
    state.notes.append({"id": 42, "author": {"username": "specops-bot"}, "body": MARKER + "\nold"})
    _run_note(tmp_path, url)  # on the second page
    assert [c[:2] for c in state.calls if c[0] != "GET"] == [("PUT", f"{NOTES}/42")]


def test_gitlab_note_without_a_token_leaves_the_artifact(
    tmp_path: Path, api: tuple[str, type[_Api]]
) -> None:
    url, state = api
    out = _run_note(tmp_path, url, token="$SPECOPS_GITLAB_TOKEN")  # the variable is not set
    assert "job artifact" in out
    assert state.calls == []
