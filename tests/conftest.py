"""Shared fixtures. Tests run from the repository root, so paths in diagnostics and provenance
headers read `specs/...` exactly as they do for a user running specops there."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
DATA = REPO / "tests" / "data"
SHARED = REPO.parent / "shared"
UPDATE_GOLDEN = os.environ.get("SPECOPS_UPDATE_GOLDEN") == "1"


@pytest.fixture(autouse=True)
def _run_from_repo_root(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.chdir(REPO)
    yield


# The checkout's `origin` remote is a fallback for the GitOps repository of a spec that names
# none (CHK024). Tests must not depend on how this checkout was cloned (CI clones it afresh):
# git sees an empty `remote.origin.url`, unless a test takes this away to try a real remote.
HIDE_CHECKOUT_REMOTE = {
    "GIT_CONFIG_COUNT": "1",
    "GIT_CONFIG_KEY_0": "remote.origin.url",
    "GIT_CONFIG_VALUE_0": "",
}


@pytest.fixture(autouse=True)
def _hide_checkout_remote(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in HIDE_CHECKOUT_REMOTE.items():
        monkeypatch.setenv(name, value)

IN_CI = os.environ.get("CI") == "true"


def needs_tool(name: str) -> pytest.MarkDecorator:
    """Skip where `name` is not on PATH, except under CI=true, where the test runs and fails:
    `.ci/install-tools` installs every tool the suite needs, so a missing one there is a bug."""
    missing = shutil.which(name) is None
    return pytest.mark.skipif(missing and not IN_CI, reason=f"{name} not on PATH")
