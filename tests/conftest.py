"""Shared fixtures. Tests run from the repository root, so paths in diagnostics and provenance
headers read `specs/...` exactly as they do for a user running specops there."""

from __future__ import annotations

import os
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
