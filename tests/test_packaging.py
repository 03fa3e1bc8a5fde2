"""A non-editable install carries its templates and schemas and works from any directory."""

from __future__ import annotations

import site
import subprocess
import sys
import sysconfig
import venv
import zipfile
from pathlib import Path

import pytest

from tests.conftest import REPO


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    dist = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(dist), str(REPO)],
        check=True,
        capture_output=True,
    )
    (built,) = dist.glob("specops-*.whl")
    return built


def test_wheel_ships_templates_and_schemas(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "compiler/_data/schemas/mlpipeline.v1.json" in names
    assert "compiler/_data/templates/model-card/target.yaml" in names
    assert "compiler/catalog/estimators.json" in names
    templates = {n for n in (REPO / "templates").rglob("*") if n.is_file()}
    for path in templates:
        assert (
            f"compiler/_data/templates/{path.relative_to(REPO / 'templates').as_posix()}" in names
        )


def test_installed_wheel_compiles_from_another_directory(wheel: Path, tmp_path: Path) -> None:
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=False).create(env_dir)
    python = env_dir / "bin" / "python"
    _see_dependencies_of_this_interpreter(python)
    subprocess.run(
        [python, "-m", "pip", "install", "--no-deps", "-q", str(wheel)],
        check=True,
        capture_output=True,
    )
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    code = (
        "import compiler.targets as t, sys; print(t.builtin_templates()); "
        "from compiler.cli import run; sys.exit(run(sys.argv[1:]))"
    )
    proc = subprocess.run(
        [python, "-c", code, "compile", str(REPO / "specs"), "--out", "build", "-t", "model-card"],
        cwd=elsewhere,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert "/_data/templates" in proc.stdout.splitlines()[0]
    assert (elsewhere / "build/model-cards/churn-classifier.md").is_file()


def _see_dependencies_of_this_interpreter(python: Path) -> None:
    """Let the new venv import what the running interpreter has installed, wheel package aside.

    `system_site_packages` would expose the base interpreter, which lacks the dependencies when
    the tests themselves run in a venv. A path line in a `.pth` file appends the directory
    without running the `.pth` files inside it, so the editable install of specops stays hidden
    and `compiler` comes from the wheel installed in the venv.
    """
    probe = [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"]
    venv_site = Path(
        subprocess.run(probe, check=True, capture_output=True, text=True).stdout.strip()
    )
    (venv_site / "specops-test-dependencies.pth").write_text("\n".join(_site_dirs()) + "\n")


def _site_dirs() -> list[str]:
    """The running interpreter's site directories: its venv's or its base's, Debian's
    `dist-packages` and the user site included, in the order this interpreter searches them."""
    dirs = [sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]]
    dirs += site.getsitepackages()
    if site.ENABLE_USER_SITE:
        dirs.append(site.getusersitepackages())
    return [d for d in dict.fromkeys(dirs) if Path(d).is_dir()]
