"""Attack class: an output that deploys somewhere nobody chose. The GitOps repository, the Argo CD
project and the runbook URL come from the spec, the platform or (the repository only) the
checkout's git remote, without credentials; when nothing gives one it is CHK024/CHK025/CHK026.

The corpus is data: remote URLs as git stores them and the https URL (or nothing) Argo CD gets;
spec edits and the exact diagnostics."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from compiler.api import CompileOptions, compile_specs, validate
from compiler.platform.delivery import git_remote_url, https_remote
from tests.conftest import HIDE_CHECKOUT_REMOTE, REPO

REMOTES = [
    ("git@github.com:acme/ml-gitops.git", "https://github.com/acme/ml-gitops.git"),
    ("github.com:acme/ml-gitops", "https://github.com/acme/ml-gitops"),
    ("ssh://git@gitlab.example.com:2222/ml/gitops.git", "https://gitlab.example.com/ml/gitops.git"),
    ("https://x-access-token:ghp_abc123@github.com/acme/gitops.git",
     "https://github.com/acme/gitops.git"),
    ("https://oauth2:glpat-secret@gitlab.example.com:8443/ml/gitops.git",
     "https://gitlab.example.com:8443/ml/gitops.git"),
    ("https://user@github.com/acme/gitops", "https://github.com/acme/gitops"),
    ("git://example.org/gitops.git", "https://example.org/gitops.git"),
    ("/srv/git/gitops.git", None),  # a local path: no host Argo CD could reach
    ("file:///srv/git/gitops.git", None),
    ("../gitops", None),
    ("C:/repos/gitops", None),
    ("https://github.com/acme/gitops?token=abc", None),
    ("", None),
]  # fmt: skip

SPEC = REPO / "specs" / "churn-classifier.yaml"


@pytest.mark.parametrize(("remote", "expected"), REMOTES)
def test_a_remote_becomes_https_without_credentials(remote: str, expected: str | None) -> None:
    assert https_remote(remote) == expected


@given(
    user=st.text(st.characters(codec="ascii", exclude_characters="@/:?#"), min_size=1),
    secret=st.text(st.characters(codec="ascii", exclude_characters="@/:?#"), min_size=1),
)
def test_no_userinfo_survives(user: str, secret: str) -> None:
    url = https_remote(f"https://{user}:{secret}@github.com/acme/gitops.git")
    assert url in (None, "https://github.com/acme/gitops.git")


def _spec_without(tmp: Path, *, repo: bool, project: bool, runbook: bool) -> Path:
    data = yaml.safe_load(SPEC.read_text(encoding="utf-8"))
    argocd = data["deploy"]["argocd"]
    if not repo:
        del argocd["repo_url"]
    if not project:
        del argocd["project"]
    if not runbook:
        del data["monitoring"]["alerts"]["runbook_url"]
    (tmp / "data").mkdir()
    shutil.copy(REPO / "specs" / "data" / "churn.csv", tmp / "data" / "churn.csv")
    path = tmp / "spec.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def _git(directory: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(directory), *args], check=True, capture_output=True)


def test_nothing_gives_them_each_is_a_located_error(tmp_path: Path) -> None:
    spec = _spec_without(tmp_path, repo=False, project=False, runbook=False)
    found = [(d.code, d.location.json_path) for d in validate([spec]).diagnostics]
    assert found == [
        ("CHK024", ("deploy",)),
        ("CHK025", ("deploy", "environments", 0, "name")),
        ("CHK025", ("deploy", "environments", 1, "name")),
        ("CHK026", ("monitoring", "alerts")),
    ]
    messages = {d.code: (d.message, d.hint) for d in validate([spec]).diagnostics}
    assert messages["CHK024"][1] == (
        "add deploy.argocd.repo_url to the spec, or defaults.gitops.repo_url to platform.yaml, "
        "or compile in a git checkout whose remote origin is the repository"
    )
    assert messages["CHK026"][0] == (
        "the alerts link no runbook: neither the spec nor the platform gives a runbook URL"
    )


def test_the_platform_gives_them(tmp_path: Path) -> None:
    spec = _spec_without(tmp_path, repo=False, project=False, runbook=False)
    platform = REPO / "specs" / "platform" / "platform.yaml"
    assert validate([spec], platform).diagnostics == []


def test_the_checkout_remote_gives_the_repository_without_its_token(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in HIDE_CHECKOUT_REMOTE:
        monkeypatch.delenv(name)
    spec = _spec_without(tmp_path, repo=False, project=True, runbook=True)
    _git(tmp_path, "init", "-q")
    _git(tmp_path, "remote", "add", "origin", "https://ci:tok3n@git.example.com/ml/gitops.git")
    git_remote_url.cache_clear()
    assert validate([spec]).diagnostics == []
    out = tmp_path / "out"
    result = compile_specs(CompileOptions([spec], out, ["argocd"]))
    assert result.ok, result.diagnostics
    for app in (out / "argocd").rglob("*.yaml"):
        text = app.read_text(encoding="utf-8")
        assert 'repoURL: "https://git.example.com/ml/gitops.git"' in text
        assert "tok3n" not in text and "ci:" not in text
