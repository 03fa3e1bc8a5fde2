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

IN_CI = os.environ.get("CI") == "true"


def needs_tool(name: str) -> pytest.MarkDecorator:
    """Skip where `name` is not on PATH, except under CI=true, where the test runs and fails:
    `.ci/install-tools` installs every tool the suite needs, so a missing one there is a bug."""
    missing = shutil.which(name) is None
    return pytest.mark.skipif(missing and not IN_CI, reason=f"{name} not on PATH")
