"""Benchmark: a cold `specops compile` of N generated specs (all targets), with the time of each
stage, against a baseline revision of the compiler measured in the same run.

    python bench/compile_cold.py [--count 100] [--repeat 2] [--baseline-rev REV]

Each compile is a fresh process (cold: imports, template compilation, kfp's caches), importing
the compiler from this checkout or from `git archive REV` of it; runs alternate between the two
so that other load on the machine hits both alike, and the best of --repeat is reported. Stages
are timed inside the process: imports (the compiler and kfp), validate, render (templates only),
the kfp post-step, each verifier, writing. Without --baseline-rev only this checkout runs.
"""

from __future__ import annotations

import argparse
import importlib
import json
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
Stages = dict[str, float]
CPU = "cpu time (whole process)"
LABEL = "this checkout"


def _timed(stages: Stages, name: str, func: Callable[..., Any]) -> Callable[..., Any]:
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        try:
            return func(*args, **kwargs)
        finally:
            stages[name] += time.perf_counter() - start

    return wrapper


def child(source: Path, specs: Path, out: Path) -> None:
    """One cold compile, importing the compiler from `source`; prints its stages as JSON."""
    start = time.perf_counter()
    sys.path.insert(0, str(source))
    importlib.import_module("kfp.dsl")  # what every compile of the kubeflow target imports

    from compiler import api, post, render, verify
    from compiler.verify import basic, ci, kfp, kubernetes  # noqa: F401  (register)

    stages: Stages = defaultdict(float)
    stages["imports"] = time.perf_counter() - start
    api.validate = _timed(stages, "validate", api.validate)
    renderer = render.Renderer.render
    render.Renderer.render = _timed(stages, "render (with kfp)", renderer)  # type: ignore[method-assign]
    render.run_post_step = _timed(stages, "kfp post-step", post.run_post_step)
    for registry in (verify.VERIFIERS, verify.BATCH_VERIFIERS):
        for name, func in registry.items():
            registry[name] = _timed(stages, f"verify {name}", func)
    api._apply = _timed(stages, "write", api._apply)
    result = api.compile_specs(api.CompileOptions(paths=[specs], out_dir=out))
    if not result.ok:
        problems = [f"{d.location}: {d.message}" for d in result.diagnostics if d.is_error]
        raise SystemExit("compile failed:\n" + "\n".join(problems[:10]))
    stages["render (templates)"] = stages.pop("render (with kfp)") - stages["kfp post-step"]
    stages[CPU] = time.process_time()  # steadier than wall time on a shared machine
    print(json.dumps(dict(stages)))


def cold(source: Path, specs: Path, out: Path) -> tuple[float, Stages]:
    command = [sys.executable, __file__, "--child", str(source), str(specs), str(out)]
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, check=False, cwd=source)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{source}: exit {done.returncode}\n{done.stdout[-2000:]}{done.stderr}")
    stages: Stages = json.loads(done.stdout.strip().splitlines()[-1])
    return elapsed, stages


def checkout(rev: str, into: Path) -> Path:
    into.mkdir()
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", rev], capture_output=True, check=True
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    return into


def report(label: str, runs: list[tuple[float, Stages]]) -> tuple[float, float]:
    wall, stages = min(runs, key=lambda run: run[0])
    cpu = min(run[1][CPU] for run in runs)
    print(f"{label}: {wall:.2f} s wall, {cpu:.2f} s cpu (best of {len(runs)}, fresh process)")
    for name, seconds in sorted(stages.items(), key=lambda item: -item[1]):
        if name != CPU:
            print(f"  {name:<28} {seconds:7.2f} s  {100 * seconds / wall:5.1f}% of wall")
    return wall, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--baseline-rev", help="a git revision of this repository to compare")
    parser.add_argument("--child", nargs=3, type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return
    sys.path.insert(0, str(ROOT / "bench"))
    from specgen import write_specs

    with tempfile.TemporaryDirectory(prefix="specops-bench-cold-") as tmp:
        root = Path(tmp)
        write_specs(root / "specs", args.count)
        sources = {LABEL: ROOT}
        if args.baseline_rev:
            sources[f"baseline {args.baseline_rev}"] = checkout(args.baseline_rev, root / "base")
        runs: dict[str, list[tuple[float, Stages]]] = {label: [] for label in sources}
        for attempt in range(args.repeat):
            for number, (label, source) in enumerate(sources.items()):
                out = root / f"out-{number}-{attempt}"
                runs[label].append(cold(source, root / "specs", out))
        print(f"{args.count} specs, cold compile of every target")
        times = {label: report(label, label_runs) for label, label_runs in runs.items()}
    if args.baseline_rev:
        (base_wall, base_cpu), (wall, cpu) = times[f"baseline {args.baseline_rev}"], times[LABEL]
        print(
            f"baseline / this checkout: {base_wall / wall:.2f}x (wall), {base_cpu / cpu:.2f}x (cpu)"
        )


if __name__ == "__main__":
    main()
