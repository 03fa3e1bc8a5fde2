"""The no-op shortcut (compiler.settled): a compile whose inputs and output folder are as a
settled compile left them is answered from the cache's record, and anything else is compiled.

Each test compiles a copy of the bundled examples with a cache of its own. The racy window is
closed (RACY_NS = 0) unless a test is about it: files a compile has just written may then be
recorded at once, so tests change what they edit in size, or wait out the clock's tick.
"""

from __future__ import annotations

import fcntl
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from compiler import fingerprint, settled
from compiler.api import CompileOptions, CompileResult, compile_specs
from compiler.cache_files import folder_file
from compiler.cli import run
from compiler.targets import builtin_templates
from tests.conftest import REPO
from tests.test_incremental import CHURN, PLATFORM, Checkout, tree


class Folder(Checkout):
    """A checkout whose compiles may be answered by the shortcut, as the CLI's are."""

    def settle(self, mode: str = "write", **change: object) -> CompileResult:
        options = CompileOptions(
            [Path("specs")],
            Path("out"),
            template_dirs=[self.layer],
            mode=mode,  # type: ignore[arg-type]
        )
        options.platform = Path(PLATFORM)
        options.jobs, options.cache_dir, options.settled_shortcut = 1, self.cache, True
        for name, value in change.items():
            setattr(options, name, value)
        return compile_specs(options)

    @property
    def record(self) -> Path:
        return folder_file(self.cache, "settled", Path("out"))


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Folder:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(settled, "RACY_NS", 0)
    made = Folder(tmp_path)
    first = made.settle()
    assert first.ok and not first.settled and made.record.is_file()
    return made


def test_a_settled_folder_is_answered_from_its_record(folder: Folder) -> None:
    full = folder.settle(settled_shortcut=False)
    answered = folder.settle()
    assert answered.settled and not answered.files and not answered.reuse
    assert answered.file_count == len(full.files) > 50
    assert answered.diagnostics == full.diagnostics
    assert (answered.notes, answered.unverified) == (full.notes, full.unverified)
    assert answered.spec_count == full.spec_count == 3
    checked = folder.settle(mode="check")
    assert checked.settled and checked.ok and not checked.stale


def test_the_api_answers_only_when_asked(folder: Folder) -> None:
    """compile_specs' callers read `files` unless they ask for the shortcut, as the CLI does."""
    assert not folder.settle(settled_shortcut=False).settled
    assert not folder.settle(cache=False).settled


def _cli(*args: str) -> tuple[int, str, str]:
    done = subprocess.run(
        [sys.executable, "-m", "compiler", *args],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    return done.returncode, done.stdout, done.stderr


@pytest.mark.parametrize("mode", [[], ["--check"]])
def test_the_cli_says_what_a_full_compile_says(folder: Folder, mode: list[str]) -> None:
    """The same words and exit code either way; the answering process imports no spec model,
    template engine or kfp."""
    args = ["compile", "specs", "--out", "out", "--templates", str(folder.layer)]
    args += ["--platform", PLATFORM, "--cache-dir", str(folder.cache), "--no-progress", *mode]
    full = _cli(*args, "--no-cache")
    probe = (
        "import sys; from compiler.cli import run; code = run(sys.argv[1:]); "
        "heavy = [m for m in ('compiler.validation', 'compiler.compile_run', 'kfp', 'jinja2') "
        "if m in sys.modules]; sys.stderr.write(f'IMPORTED {heavy}'); sys.exit(code)"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe, *args],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    stderr, imported = done.stderr.rsplit("IMPORTED ", 1)
    assert (done.returncode, done.stdout, stderr) == full
    assert imported == "[]"
    assert full[0] == 0


def test_diff_with_nothing_changed_is_answered(
    folder: Folder, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["diff", "specs", "--out", "out", "--templates", str(folder.layer)]
    args += ["--platform", PLATFORM, "--cache-dir", str(folder.cache)]
    assert run([*args, "--no-progress"]) == 0
    answered = capsys.readouterr()
    assert run([*args, "--no-progress", "--no-cache"]) == 0
    assert capsys.readouterr() == answered
    assert answered.out.startswith("no changes: out is up to date (")


def _copy_template(folder: Folder, name: str) -> None:
    (folder.layer / name).parent.mkdir(parents=True, exist_ok=True)
    (folder.layer / name).write_bytes((builtin_templates() / name).read_bytes())


def _append(path: Path, text: str) -> None:
    with path.open("a") as stream:
        stream.write(text)


INPUT_EDITS: dict[str, Callable[[Folder], object]] = {
    "a spec": lambda f: _append(f.root / CHURN, "# edited\n"),
    "a new spec": lambda f: (f.root / "specs" / "copy.yaml").write_bytes(
        (f.root / CHURN).read_bytes().replace(b"name: churn-classifier", b"name: churn-copy")
    ),
    "a removed spec": lambda f: (f.root / "specs" / "vision-defects.yaml").unlink(),
    "a template": lambda f: _append(f.layer / "kubeflow" / "batch.py.j2", "# edited\n"),
    "a new template": lambda f: _copy_template(f, "model-card/card.md.j2"),
    "the platform": lambda f: _append(f.root / PLATFORM, "# edited\n"),
    "a skipped file": lambda f: (f.root / "specs" / "near.yaml").write_text(
        "apiVersion: specop/v1\nkind: MLPipeline\n"
    ),
}


@pytest.mark.parametrize("edit", sorted(INPUT_EDITS))
def test_an_input_change_is_compiled(folder: Folder, edit: str) -> None:
    INPUT_EDITS[edit](folder)
    result = folder.settle()
    assert not result.settled
    if result.ok:
        assert tree(folder.root / "out") == folder.scratch()


def test_other_options_are_compiled(folder: Folder, monkeypatch: pytest.MonkeyPatch) -> None:
    assert not folder.settle(targets=["serving"]).settled
    assert not folder.settle(crd_dirs=[folder.layer]).settled
    assert not folder.settle().settled  # the record is the last compile's, with other options
    assert folder.settle().settled
    monkeypatch.setattr(fingerprint, "compiler_digest", lambda: "another specops")
    assert not folder.settle().settled


def _same_size_same_mtime(path: Path) -> None:
    before = path.stat()
    time.sleep(0.05)  # past the clock's tick: the ctime of the edit differs from the write's
    data = bytearray(path.read_bytes())
    data[-2] = ord("X") if data[-2] != ord("X") else ord("Y")
    path.write_bytes(bytes(data))
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    after = path.stat()
    assert (after.st_size, after.st_mtime_ns) == (before.st_size, before.st_mtime_ns)


STRAY = ".app.yaml.0123456789abcdef.specops-tmp"  # what a killed compile leaves
FOLDER_EDITS: dict[str, Callable[[Path], object]] = {
    "an edited file": lambda out: _append(out / "model-cards" / "churn-classifier.md", "x"),
    "an edit keeping size and mtime": lambda out: _same_size_same_mtime(
        out / "model-cards" / "churn-classifier.md"
    ),
    "a deleted file": lambda out: (out / "model-cards" / "churn-classifier.md").unlink(),
    "a stray file": lambda out: (out / "model-cards" / "notes.md").write_text("mine\n"),
    "a stray temporary": lambda out: (
        out / "argocd" / ".app.yaml.0123456789abcdef.specops-tmp"
    ).write_text(""),
    "an edited manifest": lambda out: _append(out / ".specops" / "manifest.json", "\n"),
    "a file made a link": lambda out: _relink(out / "model-cards" / "churn-classifier.md"),
}


def _relink(path: Path) -> None:
    target = path.with_name("elsewhere.md")
    path.rename(target)
    path.symlink_to(target.name)


@pytest.mark.parametrize("edit", sorted(FOLDER_EDITS))
def test_a_folder_change_is_compiled(folder: Folder, edit: str) -> None:
    out = folder.root / "out"
    FOLDER_EDITS[edit](out)
    checked = folder.settle(mode="check")
    assert not checked.settled
    full = folder.settle(mode="check", settled_shortcut=False)
    assert (checked.stale, checked.diagnostics) == (full.stale, full.diagnostics)


def test_the_output_folder_replaced_by_a_link_is_compiled(folder: Folder) -> None:
    (folder.root / "out").rename(folder.root / "real")
    (folder.root / "out").symlink_to("real")
    assert settled.answer(_options(folder)) is None


def _options(folder: Folder) -> CompileOptions:
    options = CompileOptions([Path("specs")], Path("out"), template_dirs=[folder.layer])
    options.platform, options.cache_dir, options.settled_shortcut = (
        Path(PLATFORM),
        folder.cache,
        True,
    )
    return options


DAMAGE: dict[str, Callable[[bytes], bytes]] = {
    "truncated": lambda data: data[: len(data) // 2],
    "a flipped byte": lambda data: data.replace(b'"files": ', b'"files": 1', 1),
    "not an object": lambda data: b"[]",
}


@pytest.mark.parametrize("how", sorted(DAMAGE))
def test_a_damaged_record_is_compiled(folder: Folder, how: str) -> None:
    folder.record.write_bytes(DAMAGE[how](folder.record.read_bytes()))
    assert settled.answer(_options(folder)) is None
    result = folder.settle()
    assert result.ok and not result.settled and folder.record.is_file()


def _forge(folder: Folder, **fields: object) -> None:
    document = json.loads(folder.record.read_bytes())
    document.update(fields)
    document["check"] = settled._checksum(document)
    folder.record.write_text(json.dumps(document))


def test_a_forged_record_with_an_error_or_a_wrong_type_is_compiled(folder: Folder) -> None:
    where = {"file": CHURN, "line": 1, "column": 1, "json_path": []}
    broken = {"code": "CHK001", "severity": "error", "message": "m", "hint": None}
    _forge(folder, diagnostics=[{**broken, "location": where, "related": []}])
    assert settled.answer(_options(folder)) is None
    _forge(folder, diagnostics=[], files="many")
    assert settled.answer(_options(folder)) is None
    _forge(folder, files=3, extra=1)
    assert settled.answer(_options(folder)) is None


def test_a_writer_holding_the_folder_is_waited_for_by_a_full_compile(folder: Folder) -> None:
    fd = os.open(folder.root / "out" / ".specops", os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        assert settled.answer(_options(folder)) is None
    finally:
        os.close(fd)
    assert settled.answer(_options(folder)) is not None


def test_a_folder_written_within_the_racy_window_is_not_recorded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A change in the same clock tick as the write could keep every stat: the compile that
    wrote does not record the folder, a compile after the window does."""
    monkeypatch.chdir(tmp_path)
    made = Folder(tmp_path)
    assert made.settle().ok and not made.record.exists()
    monkeypatch.setattr(settled, "RACY_NS", 0)
    assert not made.settle().settled and made.record.is_file()
    assert made.settle().settled
