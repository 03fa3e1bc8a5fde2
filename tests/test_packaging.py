"""A non-editable install carries its templates, schemas and CRD schemas and works from any
directory."""

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
    crds = REPO / "compiler" / "verify" / "crds"
    shipped = [p for p in crds.rglob("*") if p.is_file() and "__pycache__" not in p.parts]
    assert {p.name for p in shipped} >= {"index.json", "NOTICE.md", "Apache-2.0.txt"}
    assert len([p for p in shipped if p.name.endswith(".json.gz")]) == 3
    for path in shipped:
        assert f"compiler/verify/crds/{path.relative_to(crds).as_posix()}" in names
    templates = {n for n in (REPO / "templates").rglob("*") if n.is_file()}
    for path in templates:
        assert (
            f"compiler/_data/templates/{path.relative_to(REPO / 'templates').as_posix()}" in names
        )


@pytest.fixture(scope="module")
def installed(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The python of a venv with the wheel installed (not editable)."""
    env_dir = tmp_path_factory.mktemp("venv")
    venv.EnvBuilder(with_pip=False).create(env_dir)
    python = env_dir / "bin" / "python"
    _see_dependencies_of_this_interpreter(python)
    subprocess.run(
        [python, "-m", "pip", "install", "--no-deps", "-q", str(wheel)],
        check=True,
        capture_output=True,
    )
    return python


def test_installed_wheel_compiles_from_another_directory(installed: Path, tmp_path: Path) -> None:
    python = installed
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


def test_installed_wheel_verifies_custom_resources_with_no_crd_dir(
    installed: Path, tmp_path: Path
) -> None:
    code = "import sys; from compiler.cli import run; sys.exit(run(sys.argv[1:]))"
    args = ["compile", str(REPO / "specs"), "--out", "build", "-t", "serving", "-t", "argocd"]
    proc = subprocess.run(
        [installed, "-c", code, *args], cwd=tmp_path, capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, proc.stderr
    assert "not verified" not in proc.stderr
    assert (tmp_path / "build/deploy/prod/churn-classifier/inferenceservice.yaml").is_file()
    # and the installed schemas do reject a broken InferenceService
    check = (
        "import compiler.verify.crds as c; from compiler.render import RenderedFile; "
        "from compiler.verify import VerifyContext; "
        "from compiler.verify.kubernetes import verify_custom_resources as v; "
        "text = 'apiVersion: serving.kserve.io/v1beta1\\nkind: InferenceService\\n"
        "metadata: {name: m}\\nspec: {predictor: {minReplicas: two}}\\n'; "
        "f = RenderedFile('m.yaml', text, 't', 't/m.yaml.j2', '', 's.yaml', ''); "
        "print(c.DATA_DIR); print([(d.code, d.hint) for d in v(f, VerifyContext())])"
    )
    proc = subprocess.run(
        [installed, "-c", check], cwd=tmp_path, capture_output=True, text=True, check=True
    )
    data_dir, found = proc.stdout.splitlines()
    assert not data_dir.startswith(str(REPO))
    assert "K8S005" in found and "built-in CRD serving.kserve.io_inferenceservices.yaml" in found


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
