"""Attack: a compile killed mid-commit (or out of disk) must not leave a mixed folder.

SIGKILL at many renames, and at random moments; then `--check` must call the folder
inconsistent, and the next compile must recover to exactly a fresh compile's bytes with no
temporary left. A hostile journal is refused like a hostile manifest.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bench.specgen import write_specs
from compiler.commit import PAUSE_ENV, read_journal
from compiler.manifest import ManifestError
from tests.security._support import compile_args, files, run_cli, spawn, temporaries, tree_hashes

JOURNAL = ".specops/journal.json"
INTERRUPTED = f"inconsistent: {JOURNAL}: a compile was interrupted; run compile"


class World:
    """Specs in two versions: `out` holds version 1, `fresh` a clean compile of version 2."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.specs = root / "specs"
        write_specs(self.specs, 24, seed=7)
        self.v1 = root / "v1"
        assert run_cli(compile_args(self.specs, self.v1)) == 0
        for spec in self.specs.glob("*.yaml"):
            spec.write_text(spec.read_text().replace("Benchmark model", "Changed model"))
        (self.specs / "model-0003.yaml").unlink()  # so the commit prunes, too
        self.fresh = root / "fresh"
        assert run_cli(compile_args(self.specs, self.fresh)) == 0
        old, new = files(self.v1), files(self.fresh)
        self.renames = sum(old.get(path) != data for path, data in new.items())

    def copy_v1(self, name: str) -> Path:
        out = self.root / name
        shutil.copytree(self.v1, out, symlinks=True)
        return out


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    return World(tmp_path_factory.mktemp("crash"))


def _kill_before_rename(out: Path, world: World, index: int) -> None:
    run = spawn(compile_args(world.specs, out), **{PAUSE_ENV: str(index)})
    assert run.stderr is not None
    for line in run.stderr:
        if line.startswith(f"specops: paused before rename {index}"):
            break
    else:
        pytest.fail(f"the compile ended without reaching rename {index}: {run.wait()}")
    run.send_signal(signal.SIGKILL)
    run.communicate()


def _check(world: World, out: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    capsys.readouterr()
    code = run_cli(compile_args(world.specs, out, "--check"))
    return code, capsys.readouterr().out


def _assert_recovers(world: World, out: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run_cli(compile_args(world.specs, out)) == 0
    assert files(out) == files(world.fresh)
    assert temporaries(out) == []
    assert _check(world, out, capsys)[0] == 0


@pytest.mark.parametrize("where", ["first", "second", "middle", "manifest"])
def test_kill_during_renames_is_reported_then_rolled_forward(
    world: World, where: str, capsys: pytest.CaptureFixture[str]
) -> None:
    last = world.renames - 1  # the manifest is renamed last
    index = {"first": 0, "second": 1, "middle": last // 2, "manifest": last}[where]
    out = world.copy_v1(f"killed-{where}")
    _kill_before_rename(out, world, index)
    assert (out / JOURNAL).is_file()
    assert temporaries(out) != []
    code, report = _check(world, out, capsys)
    assert code == 1
    assert INTERRUPTED in report.splitlines()
    assert "inconsistent: " in report.replace(INTERRUPTED, "")  # the temporaries, too
    _assert_recovers(world, out, capsys)


def test_kill_at_random_moments_always_recovers(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    rng = random.Random(20261201)
    for round_number in range(5):
        out = world.copy_v1(f"random-{round_number}")
        run = spawn(compile_args(world.specs, out))
        time.sleep(rng.uniform(0.2, 1.5))
        run.send_signal(signal.SIGKILL)
        run.communicate()
        _assert_recovers(world, out, capsys)


@pytest.fixture
def small_disk(tmp_path: Path, world: World) -> Iterator[Path]:
    """A real tmpfs too small for version 2's staged files beside version 1's."""
    mount = tmp_path / "disk"
    mount.mkdir()
    pages = sum(-(-len(data) // 4096) for data in files(world.v1).values())
    size = (pages + world.renames // 2) * 4096  # room for half of the new files' temporaries
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(mount)])
    if done.returncode != 0:
        if os.environ.get("CI") == "true":
            pytest.fail("cannot mount a tmpfs (needs root): the disk-full test must run in CI")
        pytest.skip("cannot mount a tmpfs here (needs root)")
    try:
        yield mount
    finally:
        subprocess.run(["umount", str(mount)], check=True)


def test_full_disk_leaves_the_previous_output_and_no_temporaries(
    world: World, small_disk: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = small_disk / "out"
    shutil.copytree(world.v1, out)
    before = tree_hashes(out)
    capsys.readouterr()
    assert run_cli(compile_args(world.specs, out)) == 1
    first = capsys.readouterr().err.splitlines()[0]
    assert first.startswith(f"specops: error: cannot write {out}: [Errno 28] No space left")
    assert tree_hashes(out) == before  # nothing replaced, no temporary, no journal


def _journal(**override: object) -> dict[str, object]:
    return {"state": "committing", "renames": [], "prunes": [], "manifest_sha256": "", **override}


def _rename(temp: str, final: str) -> dict[str, object]:
    return _journal(renames=[{"temp": temp, "final": final}])


TEMP = ".x.yaml.0123456789abcdef.specops-tmp"
HOSTILE_JOURNALS = [
    (
        "final-outside",
        _rename(f"../victim/{TEMP}", "../victim/x.yaml"),
        "entry '../victim/x.yaml' has a '.' or '..' segment (at $.renames[0].final)",
    ),
    (
        "not-a-temporary",
        _rename("model-cards/notes.md", "model-cards/x.yaml"),
        "'model-cards/notes.md' is not a specops temporary of 'model-cards/x.yaml' "
        "(at $.renames[0].temp)",
    ),
    (
        "temporary-elsewhere",
        _rename(f"other/{TEMP}", "x.yaml"),
        f"'other/{TEMP}' is not a specops temporary of 'x.yaml' (at $.renames[0].temp)",
    ),
    (
        "prune-absolute",
        _journal(prunes=[{"path": "/etc/passwd", "sha256": "0" * 64}]),
        "entry '/etc/passwd' is absolute (at $.prunes[0].path)",
    ),
    (
        "bad-state",
        _journal(state="rollforward"),
        "Input should be 'staging' or 'committing' (at $.state)",
    ),
    ("renames-object", _journal(renames={}), "Input should be a valid list (at $.renames)"),
]


@pytest.mark.parametrize(
    ("journal", "problem"), [j[1:] for j in HOSTILE_JOURNALS], ids=[j[0] for j in HOSTILE_JOURNALS]
)
def test_hostile_journal_is_refused(
    world: World, journal: dict[str, object], problem: str, capsys: pytest.CaptureFixture[str]
) -> None:
    out = world.copy_v1(f"journal-{len(list(world.root.iterdir()))}")
    (out / JOURNAL).write_text(json.dumps(journal))
    before = tree_hashes(world.root)
    capsys.readouterr()
    for extra in ([], ["--check"]):
        assert run_cli(compile_args(world.specs, out, *extra)) == 1
        first = capsys.readouterr().err.splitlines()[0]
        assert first.startswith(f"specops: error: {out}/{JOURNAL}")
        assert first.endswith(f"not a specops journal: {problem}")
    assert tree_hashes(world.root) == before


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=16,
)
RENAME = st.fixed_dictionaries({"temp": st.text(max_size=40), "final": st.text(max_size=20)})


@settings(max_examples=200, deadline=None)
@given(
    st.one_of(
        JSON,
        st.builds(lambda r: _journal(renames=r), st.lists(RENAME, max_size=3)),
        st.builds(lambda s: _journal(state=s), JSON),
    )
)
def test_any_journal_is_read_or_refused_never_crashes(value: object) -> None:
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder)
        (out / ".specops").mkdir()
        (out / JOURNAL).write_text(json.dumps(value))
        try:
            journal = read_journal(out)
        except ManifestError as exc:
            assert exc.message.startswith(f"{out}/{JOURNAL}")
        else:
            assert journal is not None
            for rename in journal.renames:
                assert Path(out, rename.final).resolve().is_relative_to(out.resolve())
