"""Discovery: near-miss specs are reported, not skipped in silence; a named platform file is
validated as a platform."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from compiler.api import CompileOptions, compile_specs, validate
from compiler.cli import run
from compiler.diagnostics import Severity
from compiler.errors import UsageError
from compiler.sources import discover_all

from .conftest import REPO

SPEC = REPO / "specs" / "churn-classifier.yaml"
PLATFORM = REPO / "specs" / "platform" / "platform.yaml"


def _folder(tmp_path: Path, files: dict[str, str]) -> Path:
    folder = tmp_path / "specs"
    folder.mkdir()
    shutil.copytree(REPO / "specs" / "data", folder / "data")
    for name, api_version in files.items():
        text = SPEC.read_text(encoding="utf-8")
        text = text.replace("apiVersion: specops/v1", api_version)
        text = text.replace("name: churn-classifier", f"name: {Path(name).stem}")
        (folder / name).write_text(text, encoding="utf-8")
    return folder


@pytest.mark.parametrize(
    ("declared", "line"),
    [
        ("apiVersion: specop/v1", 2),  # line 1 is the yaml-language-server comment
        ("apiVersion: Specops/v1", 2),
        ("apiVersion: spec-ops/v1", 2),
        ('apiVersion: "SPECOPS/v1"', 2),
        ("apiVersion: kubeflow.org/v1", 2),  # kind: MLPipeline under another apiVersion
        ("api: specops/v1", 3),  # no apiVersion at all: the kind: MLPipeline line
    ],
)
def test_a_near_miss_in_a_folder_is_a_warning(tmp_path: Path, declared: str, line: int) -> None:
    folder = _folder(tmp_path, {"good.yaml": "apiVersion: specops/v1", "typo.yaml": declared})
    result = validate([folder])
    assert [s.path.rsplit("/", 1)[-1] for s in result.specs] == ["good.yaml"]
    (skipped,) = [d for d in result.diagnostics if d.code == "SPEC005"]
    assert skipped.severity is Severity.WARNING
    assert skipped.location.file.endswith("specs/typo.yaml")
    assert skipped.location.line == line
    assert skipped.hint is not None and "apiVersion: specops/v1" in skipped.hint
    assert result.ok  # a warning: the good spec still validates


def test_other_yaml_in_a_folder_is_skipped_quietly(tmp_path: Path) -> None:
    folder = _folder(tmp_path, {"good.yaml": "apiVersion: specops/v1"})
    (folder / "deploy.yaml").write_text("apiVersion: apps/v1\nkind: Deployment\n")
    (folder / "ci.yml").write_text("on: push\njobs: {}\n")
    shutil.copy(PLATFORM, folder / "platform.yaml")
    found = discover_all([folder])
    assert [p.name for p in found.specs] == ["good.yaml"]
    assert found.skipped == [] and found.platforms == []


def test_a_wrong_version_is_read_and_refused(tmp_path: Path) -> None:
    folder = _folder(tmp_path, {"v2.yaml": "apiVersion: specops/v2"})
    result = validate([folder])
    assert [d.code for d in result.diagnostics] == ["SPEC104"]


def test_only_near_misses_is_a_usage_error_naming_them(tmp_path: Path) -> None:
    folder = _folder(tmp_path, {"typo.yaml": "apiVersion: specop/v1"})
    with pytest.raises(UsageError) as raised:
        validate([folder])
    assert raised.value.hint is not None and "typo.yaml:2:1" in raised.value.hint
    assert "'specop/v1'" in raised.value.hint


def test_validate_a_named_platform_file_checks_it_as_a_platform(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(["validate", str(PLATFORM.relative_to(REPO))]) == 0
    broken = tmp_path / "platform.yaml"
    text = PLATFORM.read_text(encoding="utf-8").replace("\nenvironments:", "\nenvironmentz:")
    broken.write_text(text, encoding="utf-8")
    capsys.readouterr()
    assert run(["validate", str(broken)]) == 1
    out = capsys.readouterr().out
    assert "SPEC101: unknown key 'environmentz'" in out
    assert "did you mean 'environments'?" in out


def test_a_platform_file_with_specs_is_checked_once() -> None:
    result = validate([PLATFORM, SPEC], PLATFORM)
    assert result.ok and result.checked == 2 and len(result.specs) == 1


def test_compile_refuses_a_platform_file_given_as_a_spec(tmp_path: Path) -> None:
    with pytest.raises(UsageError) as raised:
        compile_specs(CompileOptions([PLATFORM], tmp_path / "out"))
    assert "--platform" in (raised.value.hint or "")
    assert not (tmp_path / "out").exists()
