"""Benchmark: the serving and Argo CD outputs of 200 specs, rendering alone against rendering plus
verification (kubernetes-validate for core kinds, the shipped CRD schemas for custom resources,
or the CRDs under --crd-dir).

    python bench/compile_serving.py [--count 200] [--repeat 5] [--crd-dir DIR]

Goal (issue 4): render + verify <= 2x render alone, both measured in this run on the same plans.
Each repetition starts cold: a new renderer (templates compiled again) and a new verify context
(every CRD schema read again, kubernetes-validate's schemas loaded again). Loading and
validating the specs is outside both timings: it is the same work either way.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from specgen import make_spec

from compiler.api import validate
from compiler.plan import Plan
from compiler.planner import build_plan
from compiler.render import RenderedFile, Renderer
from compiler.targets import builtin_templates, discover_targets, select_targets
from compiler.verify import VerifyContext, verify_files

TARGETS = ["serving", "argocd"]
GPU_SERVER = "registry.acme.io/serving/torch-server@sha256:" + "ab" * 32


def serving_spec(index: int, rng: random.Random) -> dict[str, Any]:
    """specgen's spec plus what only serving reads: accounts, explainers, custom GPU servers."""
    spec = make_spec(index, rng)
    deploy, envs = spec["deploy"], spec["deploy"]["environments"]
    if rng.random() < 0.5:
        deploy["service_account"] = "models-reader"
    if rng.random() < 0.3:
        spec["validation"]["explainability"] = {"serve": True}
    for env in envs:
        env["autoscaling"] = {"metric": rng.choice(["concurrency", "rps"]), "target": 20}
        if rng.random() < 0.4:
            env["replicas"] = {"min": 2, "max": 8}
    if rng.random() < 0.2:  # a custom model on GPUs
        spec["model"] = {"framework": "custom", "task": spec["model"]["task"],
                         "image": GPU_SERVER, "command": ["python", "-m", "train"]}  # fmt: skip
        deploy["serving"] = {"image": GPU_SERVER, "port": 8080, "command": ["serve"]}
        envs[-1]["resources"] = {"cpu": "4", "memory": "16Gi", "gpu": {"count": 1, "type": "l4"}}
    return spec


def plans(directory: Path, count: int) -> list[Plan]:
    import yaml

    rng = random.Random(4)
    for index in range(count):
        text = yaml.safe_dump(serving_spec(index, rng), sort_keys=False, allow_unicode=True)
        (directory / f"model-{index:04d}.yaml").write_text(text, encoding="utf-8")
    result = validate([directory])
    if not result.ok:
        raise SystemExit("\n".join(str(d.message) for d in result.diagnostics[:10]))
    return [build_plan(s.resolved) for s in result.specs if s.resolved]


def render_all(all_plans: list[Plan]) -> list[RenderedFile]:
    dirs = [builtin_templates()]
    targets = select_targets(discover_targets(dirs), TARGETS)
    renderer = Renderer(dirs)
    files: list[RenderedFile] = []
    for plan in all_plans:
        rendered, problems = renderer.render(plan, targets)
        if problems:
            raise SystemExit(str(problems[0].message))
        files += rendered
    return files


def render_and_verify(all_plans: list[Plan], crd_dirs: tuple[Path, ...]) -> int:
    files = render_all(all_plans)
    context = VerifyContext(crd_dirs=crd_dirs)
    problems = verify_files(files, context)
    if problems or context.unverified:
        raise SystemExit(f"verification failed: {problems[:3]} {sorted(context.unverified)}")
    return len(files)


def timed(func: Any, *args: Any) -> tuple[float, float]:
    """Wall and CPU seconds: CPU time is what to compare on a busy machine."""
    wall, cpu = time.perf_counter(), time.process_time()
    func(*args)
    return time.perf_counter() - wall, time.process_time() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--crd-dir", type=Path, action="append", default=[])
    args = parser.parse_args()
    crd_dirs = tuple(args.crd_dir)
    with tempfile.TemporaryDirectory() as tmp:
        all_plans = plans(Path(tmp), args.count)
    files = render_and_verify(all_plans, crd_dirs)  # imports and checks, outside the timings
    ratios: dict[str, list[float]] = {"wall": [], "cpu": []}
    for _ in range(args.repeat):
        alone = timed(render_all, all_plans)
        both = timed(render_and_verify, all_plans, crd_dirs)
        for clock, a, b in [("wall", alone[0], both[0]), ("cpu", alone[1], both[1])]:
            ratios[clock].append(b / a)
        print(
            f"render {alone[0]:.3f}s (cpu {alone[1]:.3f}s), render+verify {both[0]:.3f}s "
            f"(cpu {both[1]:.3f}s): {ratios['wall'][-1]:.2f}x wall, {ratios['cpu'][-1]:.2f}x cpu"
        )
    print(f"{args.count} specs, {files} files, {args.repeat} cold repetitions")
    for clock, values in ratios.items():
        print(
            f"{clock:>4} ratio render+verify / render: median {statistics.median(values):.2f}x, "
            f"worst {max(values):.2f}x (goal <= 2.00x)"
        )


if __name__ == "__main__":
    main()
