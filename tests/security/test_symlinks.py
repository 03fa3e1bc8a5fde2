"""Attack: symbolic links planted in the output folder to redirect specops' writes.

Links at the old predictable temporary names, at `.specops`, at parent directories and at the
outputs themselves must never be followed: the folder they point into stays byte for byte.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from compiler import safefs
from compiler.safefs import UnsafeOutputError
from tests.conftest import REPO
from tests.security._support import compile_args, files, run_cli, temporaries, tree_hashes

CARD = "model-cards/churn-classifier.md"


@pytest.fixture
def world(tmp_path: Path) -> Path:
    shutil.copytree(REPO / "specs", tmp_path / "specs")
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "keep.txt").write_text("precious\n")
    return tmp_path


def _compile(world: Path, capsys: pytest.CaptureFixture[str], *extra: str) -> tuple[int, str]:
    capsys.readouterr()
    code = run_cli(compile_args(world / "specs", world / "out", *extra))
    return code, capsys.readouterr().err


def _change_specs(world: Path) -> None:
    for spec in (world / "specs").glob("*.yaml"):
        spec.write_text(spec.read_text().replace("description: ", "description: Changed. ", 1))


def test_links_at_predictable_temporary_names_are_not_followed(
    world: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _compile(world, capsys)[0] == 0
    _change_specs(world)
    out = world / "out"
    planted = []
    for relative in [CARD, ".specops/manifest.json", ".specops/journal.json"]:
        final = out / relative
        for pid in {os.getpid(), os.getpid() + 1}:  # the names the old writer used
            link = final.with_name(f".{final.name}.specops-{pid}.tmp")
            link.symlink_to(world / "victim/keep.txt")
            planted.append(link)
    before = tree_hashes(world / "victim")
    assert _compile(world, capsys)[0] == 0
    assert tree_hashes(world / "victim") == before
    assert "Changed." in (out / CARD).read_text()
    assert all(link.is_symlink() for link in planted)  # not ours: left alone


def test_symlinked_specops_folder_is_refused(
    world: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = world / "out"
    out.mkdir()
    (out / ".specops").symlink_to(world / "victim")
    before = tree_hashes(world / "victim")
    for extra in ([], ["--check"]):
        code, err = _compile(world, capsys, *extra)
        assert code == 1
        assert err.splitlines()[0] == (
            f"specops: error: refusing to write {out}: .specops is a symbolic link "
            "or not a directory"
        )
    assert tree_hashes(world / "victim") == before
    assert not (out / "model-cards").exists()


def test_symlinked_parent_directory_is_a_conflict(
    world: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = world / "out"
    out.mkdir()
    (out / "model-cards").symlink_to(world / "victim")
    code, err = _compile(world, capsys)
    assert code == 1
    assert f"  - {CARD}: model-cards is a symbolic link" in err.splitlines()
    assert sorted(os.listdir(world / "victim")) == ["keep.txt"]


def test_directory_swapped_for_a_link_after_compile_is_named_in_the_manifest(
    world: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _compile(world, capsys)[0] == 0
    out = world / "out"
    shutil.rmtree(out / "model-cards")
    (out / "model-cards").symlink_to(world / "victim")
    _change_specs(world)
    code, err = _compile(world, capsys)
    assert code == 1
    first = err.splitlines()[0]
    assert first.startswith(f"specops: error: {out}/.specops/manifest.json:")
    assert first.endswith(
        "not a specops manifest: entry 'model-cards/churn-classifier.json' goes through the "
        "symbolic link model-cards (at $.files['model-cards/churn-classifier.json'])"
    )
    assert sorted(os.listdir(world / "victim")) == ["keep.txt"]


def test_output_file_that_is_a_link_is_a_conflict(
    world: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = world / "out"
    (out / "model-cards").mkdir(parents=True)
    (out / CARD).symlink_to(world / "victim/keep.txt")
    code, err = _compile(world, capsys)
    assert code == 1
    assert f"  - {CARD}: {CARD} is a symbolic link" in err.splitlines()
    assert (world / "victim/keep.txt").read_text() == "precious\n"


@pytest.mark.parametrize("link", ["sub", "sub/deeper", ".specops"])
def test_writer_refuses_a_link_that_appears_after_planning(tmp_path: Path, link: str) -> None:
    """The plan checks for links, but the writer walks each component again with O_NOFOLLOW."""
    out, victim = tmp_path / "out", tmp_path / "victim"
    victim.mkdir()
    (out / link).parent.mkdir(parents=True, exist_ok=True)
    (out / link).symlink_to(victim)
    with pytest.raises(UnsafeOutputError, match=f"{link} is a symbolic link"):
        safefs.write_new(out, f"{link}/f.md", b"data")
    assert list(victim.iterdir()) == []


def test_temporary_names_are_unpredictable_and_created_exclusively(tmp_path: Path) -> None:
    names = {safefs.temp_name("a/b.md") for _ in range(100)}
    assert len(names) == 100
    assert all(safefs.TEMP_NAME.match(Path(n).name) for n in names)
    target = tmp_path / "victim.txt"
    target.write_text("precious\n")
    taken = safefs.temp_name("f.md")
    (tmp_path / taken).symlink_to(target)
    with pytest.raises(FileExistsError):
        safefs.write_new(tmp_path, taken, b"data")
    assert target.read_text() == "precious\n"


@pytest.mark.parametrize("where", ["root", "home", "specs"])
def test_out_may_not_be_root_home_or_the_specs_folder(
    world: Path, where: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOME", str(world / "victim"))
    out = {"root": Path("/"), "home": world / "victim", "specs": world / "specs"}[where]
    reason = "a folder of specs" if where == "specs" else "the root or home directory"
    before = tree_hashes(world)
    capsys.readouterr()
    for extra in ([], ["--check"]):
        assert run_cli(compile_args(world / "specs", out, *extra)) == 2
        assert capsys.readouterr().err.splitlines()[0] == (
            f"specops: error: refusing to use {out} as the output directory: it is {reason}"
        )
    assert tree_hashes(world) == before


def test_a_clean_compile_leaves_no_temporaries(
    world: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _compile(world, capsys)[0] == 0
    _change_specs(world)
    assert _compile(world, capsys)[0] == 0
    assert temporaries(world / "out") == []
    assert ".specops/journal.json" not in files(world / "out")


def test_out_that_is_a_file_is_a_clear_error(
    world: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = world / "victim/keep.txt"
    capsys.readouterr()
    for extra in ([], ["--check"]):
        assert run_cli(compile_args(world / "specs", out, *extra)) == 1
        first = capsys.readouterr().err.splitlines()[0]
        assert first.startswith(f"specops: error: cannot use {out} as the output directory: ")
    assert out.read_text() == "precious\n"
