"""The estimator catalog the validator and the training component trust: generated from the
pinned library versions, unchanged since (drift), and listing only real estimators of their task."""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
import tomllib
import warnings

import pytest

from compiler.catalog import CATALOG_FILE, catalog_data, render
from compiler.catalog.generate import (
    VersionMismatchError,
    build_catalog,
    pinned_versions,
    version_mismatches,
)
from tests.conftest import REPO


def test_catalog_records_the_pinned_versions() -> None:
    frameworks = catalog_data()["frameworks"]
    recorded = {s["distribution"]: s["version"] for s in frameworks.values()}
    assert recorded == pinned_versions(), (
        "Defaults.kfp_packages pins other versions than the catalog describes: regenerate it "
        "with the pinned versions installed (see compiler/catalog/generate.py)"
    )


def test_catalog_file_is_in_canonical_form() -> None:
    text = CATALOG_FILE.read_text(encoding="utf-8")
    assert render(json.loads(text)) == text


def test_catalog_has_no_drift() -> None:
    """Regenerated from the installed libraries (or SPECOPS_CATALOG_PYTHON, an interpreter that
    has the pinned versions), the catalog is byte for byte the committed one."""
    mismatches = version_mismatches(pinned_versions())
    other = os.environ.get("SPECOPS_CATALOG_PYTHON")
    if not mismatches:
        text = render(build_catalog())
    elif other:
        command = [other, "-m", "compiler.catalog.generate"]
        text = subprocess.run(command, cwd=REPO, capture_output=True, text=True, check=True).stdout
    else:
        with pytest.raises(VersionMismatchError):
            build_catalog()
        pytest.fail(
            "catalog drift cannot be checked: the installed libraries are not the pinned versions ("
            + "; ".join(mismatches)
            + "); install them with pip install -e '.[test]', or set SPECOPS_CATALOG_PYTHON to a "
            "Python that has them"
        )
    assert text == CATALOG_FILE.read_text(encoding="utf-8"), (
        "compiler/catalog/estimators.json is stale: run python -m compiler.catalog.generate --write"
    )


ENTRIES = [
    (framework, path, entry["task"])
    for framework, section in sorted(catalog_data()["frameworks"].items())
    for path, entry in sorted(section["estimators"].items())
]


@pytest.mark.parametrize(("framework", "path", "task"), ENTRIES, ids=[e[1] for e in ENTRIES])
def test_catalogued_class_is_an_estimator_of_its_task(framework: str, path: str, task: str) -> None:
    from sklearn.base import BaseEstimator, is_classifier, is_regressor

    assert path.startswith(f"{framework}.") and "._" not in path
    module, _, name = path.rpartition(".")
    cls = getattr(importlib.import_module(module), name)
    assert isinstance(cls, type) and issubclass(cls, BaseEstimator)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        instance = cls()
    assert (is_classifier if task == "classifier" else is_regressor)(instance)


def test_reading_the_catalog_imports_no_framework() -> None:
    code = (
        "import sys; from pathlib import Path; from compiler.api import validate; "
        "assert validate([Path('specs')]).ok; "
        "print(sorted(m for m in ('sklearn', 'xgboost', 'lightgbm') if m in sys.modules))"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True
    )
    assert proc.stdout.strip() == "[]"


def test_run_extra_installs_exactly_the_pinned_estimator_libraries() -> None:
    """`pip install 'specops[run]'` trains with the versions the catalog and the cluster use."""
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    extras = project["optional-dependencies"]
    wanted = {f"{name}=={version}" for name, version in pinned_versions().items()}
    assert wanted <= set(extras["run"])
