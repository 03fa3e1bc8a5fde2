"""Data-driven spec examples: valid files validate cleanly; each invalid file produces exactly
the diagnostics in its `.expected` sidecar.

Regenerate the sidecars: SPECOPS_UPDATE_GOLDEN=1 pytest tests/test_examples.py
"""

from __future__ import annotations

from pathlib import Path

import pytest

from compiler.api import validate
from compiler.report import TextReporter
from tests.conftest import DATA, REPO, UPDATE_GOLDEN

VALID = sorted((DATA / "valid").glob("*.yaml")) + sorted((REPO / "specs").glob("*.yaml"))
INVALID = sorted((DATA / "invalid").glob("*.yaml"))


@pytest.mark.parametrize("path", VALID, ids=lambda p: p.name)
def test_valid_spec_has_no_diagnostics(path: Path) -> None:
    result = validate([path.relative_to(REPO)])
    assert result.diagnostics == []


@pytest.mark.parametrize("path", INVALID, ids=lambda p: p.name)
def test_invalid_spec_reports_exactly_the_expected_diagnostics(path: Path) -> None:
    result = validate([path.relative_to(REPO)])
    assert not result.ok
    text = TextReporter().render(result.diagnostics, len(result.specs))
    expected_file = path.with_suffix(".expected")
    if UPDATE_GOLDEN:
        expected_file.write_text(text, encoding="utf-8")
    assert text == expected_file.read_text(encoding="utf-8")


def test_every_diagnostic_is_located() -> None:
    for path in INVALID:
        for diagnostic in validate([path.relative_to(REPO)]).diagnostics:
            assert diagnostic.location.line >= 1, (path.name, diagnostic)
            assert diagnostic.location.column >= 1, (path.name, diagnostic)


def test_directory_validation_reports_every_file() -> None:
    result = validate([Path("tests/data/invalid")])
    files_with_errors = {d.location.file for d in result.diagnostics}
    declared = [p for p in INVALID if p.read_bytes().startswith(b"apiVersion: specops/")]
    assert len(files_with_errors) == len(declared)
