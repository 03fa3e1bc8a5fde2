"""Benchmark: `specops validate` on 1,000 varied specs against a bare libyaml parse and
check-jsonschema, all measured in this run on the same files.

    python bench/validate.py [--count 1000] [--repeat 3]

Goals: validate <= 1.5x the bare parse (issue 14; issue 2 asked for 3x), and faster than
check-jsonschema; validate never imports kfp (tests/test_kubeflow.py asserts that).
Each command runs as its own process, so each pays its interpreter start-up; the in-process
ratio (library call vs parse loop) is printed too.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # this checkout's compiler
sys.path.insert(0, str(Path(__file__).resolve().parent))
from specgen import write_specs

ROOT = Path(__file__).resolve().parents[1]

BARE_PARSE = (
    "import sys, yaml\n"
    "for p in sys.argv[1:]:\n"
    "    with open(p, encoding='utf-8') as f: yaml.load(f, Loader=yaml.CSafeLoader)\n"
)


def best_of(repeat: int, command: list[str], ok_codes: tuple[int, ...] = (0,)) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        proc = subprocess.run(command, capture_output=True, text=True, check=False, cwd=ROOT)
        times.append(time.perf_counter() - start)
        if proc.returncode not in ok_codes:
            raise SystemExit(
                f"{command[:3]} failed ({proc.returncode}):\n{proc.stdout[-2000:]}"
                f"{proc.stderr[-2000:]}"
            )
    return min(times)


def in_process(paths: list[Path], repeat: int) -> tuple[float, float]:
    import yaml

    from compiler.api import validate

    def parse() -> None:
        for path in paths:
            with path.open(encoding="utf-8") as handle:
                yaml.load(handle, Loader=yaml.CSafeLoader)

    def ours() -> None:
        assert validate(paths).ok

    results = []
    for func in (parse, ours):
        times = []
        for _ in range(repeat):
            start = time.perf_counter()
            func()
            times.append(time.perf_counter() - start)
        results.append(min(times))
    return results[0], results[1]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="specops-bench-"))
    try:
        paths = write_specs(workdir / "specs", args.count)
        files = [str(p) for p in paths]
        parse = best_of(args.repeat, [sys.executable, "-c", BARE_PARSE, *files])
        ours = best_of(args.repeat, [sys.executable, "-m", "compiler", "validate", str(workdir)])
        schema = str(ROOT / "schemas" / "mlpipeline.v1.json")
        cjs = shutil.which("check-jsonschema")
        other = best_of(args.repeat, [cjs, "--schemafile", schema, *files]) if cjs else None
        lib_parse, lib_ours = in_process(paths, args.repeat)
    finally:
        shutil.rmtree(workdir)
    print(f"{args.count} specs, best of {args.repeat}")
    print(f"(a) bare CSafeLoader parse      {parse:7.3f} s")
    print(
        f"(b) specops validate            {ours:7.3f} s   (b)/(a) = {ours / parse:.2f}  goal <= 1.5"
    )
    if other is not None:
        print(
            f"(c) check-jsonschema            {other:7.3f} s   (c)/(b) = {other / ours:.2f}  "
            "goal > 1"
        )
    print(
        f"in-process: parse {lib_parse:.3f} s, validate {lib_ours:.3f} s, "
        f"ratio {lib_ours / lib_parse:.2f}"
    )


if __name__ == "__main__":
    main()
