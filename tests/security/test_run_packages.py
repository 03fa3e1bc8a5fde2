"""Attack class: a local run that starts and fails minutes in, or silently reads other data.

`specops run --local` names `pip install 'specops[run]'` when a package the spec's steps import
is missing, before any step starts. Each case is a spec (as data), the modules made
unimportable in a real child process (`sys.modules[name] = None`, as an uninstalled package
behaves) and the exact message. The [run] extra must install what ingest needs for every URI
scheme the README lists."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml

from compiler.plan import Defaults
from tests.conftest import REPO

DEMAND = REPO / "specs" / "demand-forecast.yaml"
HINT = "hint: pip install 'specops[run]'"


def _remote(spec: Path, scheme: str, tmp: Path) -> Path:
    data = yaml.safe_load(spec.read_text(encoding="utf-8"))
    for source in data["data"]["sources"]:
        source.pop("sha256")
        source["uri"] = f"{scheme}://acme-warehouse/{source['name']}.csv"
        source["version"] = "2026-11-20"
    path = tmp / "demand-forecast.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


# (case, source scheme or None for the spec as committed, unimportable modules, missing dists)
CASES = [
    ("booster", None, ["lightgbm"], "lightgbm"),
    ("table", None, ["pyarrow", "sklearn"], "pyarrow, scikit-learn"),
    ("gs reader", "gs", ["gcsfs"], "gcsfs"),
    ("s3 reader", "s3", ["s3fs", "fsspec"], "fsspec, s3fs"),
]


def _run(spec: Path, blocked: list[str], out: Path) -> subprocess.CompletedProcess[str]:
    program = (
        "import sys\n"
        f"for name in {blocked!r}:\n"
        "    sys.modules[name] = None\n"
        "from compiler.cli import main\n"
        f"sys.argv = ['specops', 'run', {str(spec)!r}, '--local', '--out-dir', {str(out)!r}]\n"
        "main()\n"
    )
    return subprocess.run(
        [sys.executable, "-c", program], cwd=REPO, capture_output=True, text=True, timeout=300
    )


@pytest.mark.parametrize(("case", "scheme", "blocked", "missing"), CASES, ids=[c[0] for c in CASES])
def test_a_missing_package_is_named_before_any_step(
    tmp_path: Path, case: str, scheme: str | None, blocked: list[str], missing: str
) -> None:
    spec = DEMAND if scheme is None else _remote(DEMAND, scheme, tmp_path)
    shown = "specs/demand-forecast.yaml" if scheme is None else str(spec)
    done = _run(spec, blocked, tmp_path / "out")
    assert done.returncode == 1, done.stderr
    assert f"{shown}: a local run needs {missing}, not installed here" in done.stderr
    assert HINT in done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "out").exists()  # nothing compiled, no step started


def test_the_run_extra_installs_every_reader_the_components_pin() -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    extra = {r.split("=")[0].split(">")[0]: r for r in project["optional-dependencies"]["run"]}
    pins = Defaults().kfp_packages
    for name in ("fsspec", "gcsfs", "s3fs"):  # gs:// and s3://; https:// is the stdlib's
        version = pins[name].split("==")[1]
        assert extra[name] in (f"{name}=={version}", f"{name}>={version}"), extra.get(name)
    for name in ("scikit-learn", "xgboost", "lightgbm"):  # exactly what the catalog describes
        assert extra[name] == pins[name]
