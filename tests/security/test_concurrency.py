"""Attack: two compiles into one folder at once (the manifest used to lose entries).

Real processes race; the lock serialises them, so the manifest ends complete and a later
`--check` is clean. A compile that cannot get the lock in time fails clearly.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
from pathlib import Path

import pytest

from tests.conftest import REPO
from tests.security._support import compile_args, files, run_cli, spawn, temporaries

SPECS = ["churn-classifier.yaml", "demand-forecast.yaml", "vision-defects.yaml"]


@pytest.fixture
def specs(tmp_path: Path) -> Path:
    shutil.copytree(REPO / "specs", tmp_path / "specs")
    return tmp_path / "specs"


def _edit(specs: Path, round_number: int) -> None:
    for name in SPECS:
        spec = specs / name
        text = spec.read_text()
        spec.write_text(text.replace("description: ", f"description: R{round_number}. ", 1))


def test_concurrent_compiles_of_different_specs_keep_every_entry(
    specs: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    for round_number in range(4):
        _edit(specs, round_number)
        runs = [spawn(compile_args(specs / name, out)) for name in SPECS]
        for run in runs:
            _, err = run.communicate(timeout=120)
            assert run.returncode == 0, err
    fresh = tmp_path / "fresh"
    assert run_cli(compile_args(specs, fresh)) == 0
    assert files(out) == files(fresh)  # every spec's files and a complete manifest
    manifest = json.loads((out / ".specops/manifest.json").read_text())
    assert {e["spec"] for e in manifest["files"].values()} == {str(specs / n) for n in SPECS}
    assert temporaries(out) == []
    assert run_cli(compile_args(specs, out, "--check")) == 0


def test_concurrent_compile_and_check_never_see_half_a_commit(specs: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert run_cli(compile_args(specs, out)) == 0
    for round_number in range(3):
        _edit(specs, round_number)
        writer = spawn(compile_args(specs, out))
        checker = spawn(compile_args(specs, out, "--check"))
        _, err = writer.communicate(timeout=120)
        assert writer.returncode == 0, err
        check_out, _ = checker.communicate(timeout=120)
        # before the writer: all stale; after it: up to date. Never a mix, never a conflict.
        assert "blocked:" not in check_out and "inconsistent:" not in check_out
        assert checker.returncode in (0, 1)
    assert run_cli(compile_args(specs, out, "--check")) == 0


def test_a_compile_that_cannot_get_the_lock_fails_clearly(specs: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert run_cli(compile_args(specs, out)) == 0
    _edit(specs, 9)
    before = files(out)
    holder = os.open(out / ".specops", os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(holder, fcntl.LOCK_EX)
        for extra in ([], ["--check"]):
            run = spawn(compile_args(specs, out, *extra), SPECOPS_LOCK_TIMEOUT="0.2")
            _, err = run.communicate(timeout=120)
            assert run.returncode == 1
            assert err.splitlines()[0] == (
                f"specops: error: {out} is locked by another specops run (waited 0.2 s)"
            )
    finally:
        os.close(holder)
    assert files(out) == before
    assert run_cli(compile_args(specs, out)) == 0  # free again
