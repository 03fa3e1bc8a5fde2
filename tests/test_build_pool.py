"""The build pool: a compile killed while its workers build leaves no process behind, and no
worker keeps the compile's output pipe open."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from bench.specgen import write_specs
from tests.conftest import REPO


def _group_alive(group: int) -> bool:
    try:
        os.killpg(group, 0)
    except ProcessLookupError:
        return False
    return True


def test_killing_a_compile_kills_its_workers(tmp_path: Path) -> None:
    write_specs(tmp_path / "specs", 12, seed=3)
    command = [sys.executable, "-m", "compiler", "compile", "specs", "--out", "out"]
    compiling = subprocess.Popen(
        [*command, "--jobs", "2", "--progress", "--no-cache"],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,  # its own process group: the workers are in it too
    )
    assert compiling.stderr is not None
    for line in compiling.stderr:  # the pool is building once a spec has been rendered
        if b"rendering 1/12" in line:
            break
    os.kill(compiling.pid, signal.SIGKILL)
    compiling.wait()
    assert compiling.stderr.read() is not None  # EOF: no worker holds the pipe
    deadline = time.monotonic() + 60  # a liveness bound, not a speed measurement
    while _group_alive(compiling.pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _group_alive(compiling.pid), "a worker outlived its compile"
    assert not (tmp_path / "out").exists()  # nothing was written half-way
