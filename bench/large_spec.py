"""Benchmark: validate + compile (every target) of the largest legal specs, against the bundled
churn example measured in the same run.

    python bench/large_spec.py [--targets kubeflow ...]

Goal (issue 17): no legal spec under the 1 MiB size limit takes more than a few seconds. Each
case maxes out one list that multiplies work downstream (allowed values, columns, sources,
environments, data checks). The 784 KB spec of 2,000 columns x 88 allowed values that took
27 s before the limit is shown too: it must now be refused, quickly.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # this checkout's compiler, not an installed one
BASE = ROOT / "specs" / "churn-classifier.yaml"
Spec = dict[str, Any]


def _columns(spec: Spec, count: int, values: int) -> None:
    columns: list[dict[str, Any]] = [
        {"name": f"c{i:04d}", "type": "category", "allowed": [f"v{j}" for j in range(values)]}
        if values
        else {"name": f"c{i:04d}", "type": "float", "min": 0}
        for i in range(count - 3)
    ]
    columns += [
        {"name": "churned", "type": "int", "allowed": [0, 1]},
        {"name": "plan", "type": "string"},
        {"name": "customer_id", "type": "string"},
    ]
    spec["data"]["schema"]["columns"] = columns


def _sources(spec: Spec) -> None:
    first = spec["data"]["sources"][0]
    spec["data"]["sources"] = [{**first, "name": f"part-{i:02d}"} for i in range(50)]


def _environments(spec: Spec) -> None:
    first = spec["deploy"]["environments"][0]
    spec["deploy"]["environments"] = [
        {**first, "name": f"env-{i:02d}", "namespace": f"ml-env-{i:02d}"} for i in range(20)
    ]


def _data_checks(spec: Spec) -> None:
    checks = [{"kind": "null_fraction", "column": "plan", "max": 0.1}] * 99
    spec["validation"]["data_checks"] = [{"kind": "row_count", "min": 500}, *checks]


def _everything(spec: Spec) -> None:
    for change in (_sources, _environments, _data_checks):
        change(spec)
    _columns(spec, 2000, 5)


CASES: dict[str, Callable[[Spec], None]] = {
    "10,000 allowed values (the limit)": lambda s: _columns(s, 2000, 5),
    "2,000 columns": lambda s: _columns(s, 2000, 0),
    "50 sources": _sources,
    "20 environments": _environments,
    "100 data checks": _data_checks,
    "all of the above": lambda s: _everything(s),
    "2,000 x 88 allowed values (refused)": lambda s: _columns(s, 2000, 88),
}


class _NoAliases(yaml.SafeDumper):
    """Specs refuse anchors; shared Python objects must be written out in full."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def _write(folder: Path, name: str, change: Callable[[Spec], None] | None) -> Path:
    spec = yaml.safe_load(BASE.read_text(encoding="utf-8"))
    if change is not None:
        change(spec)
    path = folder / f"{name}.yaml"
    text = yaml.dump(spec, Dumper=_NoAliases, sort_keys=False, default_flow_style=None, width=10**6)
    path.write_text(text)
    return path


def _time(spec: Path, out: Path, targets: list[str] | None) -> tuple[float, bool]:
    from compiler.api import CompileOptions, compile_specs

    start = time.perf_counter()
    result = compile_specs(CompileOptions([spec], out, targets))
    elapsed = time.perf_counter() - start
    for diagnostic in result.diagnostics[:2]:
        print(f"    {diagnostic.code} {diagnostic.message[:110]}")
    return elapsed, result.ok


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--targets", nargs="*", default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "data").symlink_to(BASE.parent / "data", target_is_directory=True)
        _time(_write(folder, "warm-up", None), folder / "out-warm", args.targets)  # imports, kfp
        baseline, ok = _time(_write(folder, "churn", None), folder / "out-churn", args.targets)
        print(f"{'churn-classifier (baseline)':40} {baseline:6.2f} s  ok={ok}")
        for index, (label, change) in enumerate(CASES.items()):
            spec = _write(folder, f"case-{index}", change)
            elapsed, ok = _time(spec, folder / f"out-{index}", args.targets)
            size = spec.stat().st_size // 1024
            print(f"{label:40} {elapsed:6.2f} s  {elapsed / baseline:5.1f}x  {size:4d} KB  ok={ok}")


if __name__ == "__main__":
    main()
