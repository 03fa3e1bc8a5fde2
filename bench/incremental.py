"""Benchmark: incremental and parallel compiles of N generated specs (issue 14), every number
against a baseline measured in the same run.

    python bench/incremental.py [--count 1000] [--flat 5000] [--repeat 3]

Each compile is a fresh `python -m compiler` process (interpreter start-up included, as a CI
step pays it). Reported, with the goal of each:

- cold compile with --jobs 1 and --jobs 2, no cache, alternated for --cold-rounds pairs
  (goal: jobs 2 >= 1.7x jobs 1, the median of the pairs' ratios);
- no-op recompile and `compile --check` with a warm cache (goal: <= 1 s, within 50x of
  the same run's hashing of every input: spec files, platform file, templates), answered from
  the record of the settled folder; and the first recompile after a write, a full one;
- one changed spec (goal: <= 2x a cold compile of that one spec alone);
- one changed template that every spec reads (goal: no slower than the cold compile);
- peak memory of the cold compile: the parent, and its largest child process (a worker, or a
  verifier's tool) (goal: <= 300 MB);
- with --flat M: the no-op recompile of M specs, to show it stays flat (0 skips it).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))
from specgen import write_specs  # noqa: E402

# Runs the CLI in this process, then reports its own peak memory and its children's (the pool).
MEASURED = (
    "import json, resource, sys\n"
    "from compiler.cli import run\n"
    "code = run(sys.argv[1:])\n"
    "peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
    "workers = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss\n"
    "sys.stderr.write('\\nBENCH ' + json.dumps([code, peak, workers]) + '\\n')\n"
)
TEMPLATE = "model-card/card.md.j2"  # read by every spec


class Run:
    def __init__(self, seconds: float, parent_kb: int, worker_kb: int) -> None:
        self.seconds, self.parent_mb, self.worker_mb = seconds, parent_kb / 1024, worker_kb / 1024


def specops(work: Path, *args: str, cache: Path | None = None, expect: int = 0) -> Run:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    if cache is not None:
        env["SPECOPS_CACHE_DIR"] = str(cache)
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", MEASURED, *args],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    seconds = time.perf_counter() - start
    code, parent, workers = json.loads(done.stderr.rsplit("BENCH ", 1)[1])
    if code != expect:
        raise SystemExit(f"specops {' '.join(args)} exited {code}:\n{done.stderr[-2000:]}")
    return Run(seconds, parent, workers)


def hashing_floor(work: Path) -> float:
    """Reading and hashing every input a compile reads: the floor of a no-op."""
    start = time.perf_counter()
    digest = hashlib.sha256()
    for root in (work / "specs", work / "layer", ROOT / "templates"):
        for path in sorted(root.rglob("*")):
            if path.is_file():
                digest.update(path.read_bytes())
    return time.perf_counter() - start


def best(runs: list[Run]) -> float:
    return min(r.seconds for r in runs)


def median(runs: list[Run]) -> float:
    return statistics.median(r.seconds for r in runs)


def prepare(work: Path, count: int) -> None:
    write_specs(work / "specs", count)
    layer = work / "layer" / TEMPLATE
    layer.parent.mkdir(parents=True)
    shutil.copy(ROOT / "templates" / TEMPLATE, layer)


def compile_args(out: str, *extra: str) -> list[str]:
    return ["compile", "specs", "--out", out, "--templates", "layer", "--no-progress", *extra]


def measure(work: Path, count: int, repeat: int, cold_rounds: int) -> dict[str, float]:
    cache = work / "cache"
    found: dict[str, float] = {}
    ones: list[Run] = []
    twos: list[Run] = []
    for _ in range(cold_rounds):  # alternated, so that a slow spell of the machine hits both
        for jobs, runs in (("1", ones), ("2", twos)):
            shutil.rmtree(work / f"cold{jobs}", ignore_errors=True)
            args = compile_args(f"cold{jobs}", "--jobs", jobs, "--no-cache")
            runs.append(specops(work, *args))
    found.update(cold_j1=median(ones), cold_j2=median(twos))
    ratios = [a.seconds / b.seconds for a, b in zip(ones, twos, strict=True)]
    found["speedup"] = statistics.median(ratios)
    found["parent_mb"] = max(r.parent_mb for r in twos)
    found["worker_mb"] = max(r.worker_mb for r in twos)
    found["warm_up"] = specops(work, *compile_args("out"), cache=cache).seconds
    # The compile after a write is a full one (the folder is too fresh to record as settled);
    # it records the folder, and the compiles after it are answered from that record.
    found["first_noop"] = specops(work, *compile_args("out"), cache=cache).seconds
    settle(work, cache)
    found["noop"] = median(
        [specops(work, *compile_args("out"), cache=cache) for _ in range(repeat)]
    )
    checks = [specops(work, *compile_args("out", "--check"), cache=cache) for _ in range(repeat)]
    found["check"] = median(checks)
    found["floor"] = min(hashing_floor(work) for _ in range(repeat))
    found["one_changed"] = median([_edit_one(work, cache, i) for i in range(repeat)])
    found["single"] = best([_single(work, i) for i in range(repeat)])
    with (work / "layer" / TEMPLATE).open("a") as template:
        template.write("<!-- a template change every spec reads -->\n")
    found["template"] = specops(work, *compile_args("out"), cache=cache).seconds
    return found


def settle(work: Path, cache: Path) -> None:
    """Wait out the racy window (compiler.settled), then compile once so the folder is
    recorded as settled."""
    time.sleep(2.1)
    specops(work, *compile_args("out"), cache=cache)


def _edit_one(work: Path, cache: Path, index: int) -> Run:
    spec = work / "specs" / f"model-{index:04d}.yaml"
    spec.write_text(spec.read_text().replace("Benchmark model", f"Edited model {index}", 1))
    return specops(work, *compile_args("out"), cache=cache)


def _single(work: Path, index: int) -> Run:
    """A cold compile of one spec alone (its own folder and an empty cache)."""
    alone = work / f"alone{index}"
    (alone / "specs").mkdir(parents=True)
    shutil.copy(work / "specs" / f"model-{index + 10:04d}.yaml", alone / "specs")
    shutil.copytree(work / "layer", alone / "layer")
    return specops(alone, *compile_args("out"), cache=alone / "cache")


def flat(count: int, repeat: int) -> tuple[float, float]:
    """The no-op recompile of `count` specs (after one cold compile), and its floor."""
    with tempfile.TemporaryDirectory(prefix="specops-bench-flat-") as temp:
        work = Path(temp)
        prepare(work, count)
        specops(work, *compile_args("out"), cache=work / "cache")
        settle(work, work / "cache")
        runs = [specops(work, *compile_args("out"), cache=work / "cache") for _ in range(repeat)]
        return median(runs), min(hashing_floor(work) for _ in range(repeat))


def report(count: int, found: dict[str, float]) -> None:
    def line(name: str, value: float, against: str, base: float, goal: str) -> None:
        print(f"{name:<42} {value:8.2f} s  {value / base:6.2f}x {against:<22} goal {goal}")

    print(f"incremental compile, {count} specs (fresh process each, medians)")
    line("cold, --jobs 1 (no cache)", found["cold_j1"], "", found["cold_j1"], "")
    print(
        f"{'cold, --jobs 2 (no cache)':<42} {found['cold_j2']:8.2f} s  {found['speedup']:6.2f}x "
        f"faster than --jobs 1  goal >= 1.7x (median of the rounds' ratios)"
    )
    line("no-op recompile", found["noop"], "the hashing floor", found["floor"], "<= 1 s, <= 50x")
    print(f"{'first recompile after a write (full path)':<42} {found['first_noop']:8.2f} s")
    line(
        "compile --check, nothing changed",
        found["check"],
        "the hashing floor",
        found["floor"],
        "<= 1 s, <= 50x",
    )
    print(f"{'hashing every input (floor)':<42} {found['floor']:8.3f} s")
    line("one spec changed", found["one_changed"], "a 1-spec compile", found["single"], "<= 2x")
    print(f"{'cold compile of that one spec alone':<42} {found['single']:8.2f} s")
    line(
        "one template every spec reads changed",
        found["template"],
        "the cold --jobs 2",
        found["cold_j2"],
        "<= 1x",
    )
    print(
        f"{'peak memory, cold --jobs 2: parent':<42} {found['parent_mb']:8.0f} MB"
        f"{'':<33} goal <= 300 MB"
    )
    label = "peak memory, largest child (worker or tool)"
    print(f"{label:<42} {found['worker_mb']:8.0f} MB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=1000, help="0: only the flat-cost run")
    parser.add_argument("--flat", type=int, default=5000, help="0: skip the flat-cost run")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--cold-rounds", type=int, default=2, help="cold --jobs 1/2 pairs")
    args = parser.parse_args()
    noop = None
    if args.count:
        with tempfile.TemporaryDirectory(prefix="specops-bench-incremental-") as temp:
            work = Path(temp)
            prepare(work, args.count)
            found = measure(work, args.count, args.repeat, args.cold_rounds)
        report(args.count, found)
        noop = found["noop"]
    if args.flat:
        seconds, floor = flat(args.flat, args.repeat)
        than = f"{seconds / noop:6.2f}x the {args.count}-spec no-op" if noop else ""
        print(
            f"{f'no-op recompile, {args.flat} specs':<42} {seconds:8.2f} s  {than}"
            f"  (floor {floor:.3f} s, {seconds / floor:.0f}x)"
        )


if __name__ == "__main__":
    main()
