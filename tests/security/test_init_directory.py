"""`specops init --dir` at a place that cannot hold a spec: a usage error (exit 2), no traceback."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from compiler.cli import run

Where = Callable[[Path], str]  # builds the hostile --dir under tmp_path


def _a_file(tmp_path: Path) -> str:
    (tmp_path / "file").write_text("x")
    return str(tmp_path / "file")


def _below_a_file(tmp_path: Path) -> str:
    (tmp_path / "file").write_text("x")
    return str(tmp_path / "file" / "specs")


def _a_link_to_proc(tmp_path: Path) -> str:
    (tmp_path / "link").symlink_to("/proc/self", target_is_directory=True)
    return str(tmp_path / "link")


def _too_long(tmp_path: Path) -> str:
    return str(tmp_path / ("x" * 300))


ATTACKS: dict[str, tuple[Where, str]] = {
    "a file": (_a_file, "is not a directory"),
    "below a file": (_below_a_file, "cannot write a spec in"),
    "/proc": (lambda _: "/proc", "is a system folder"),
    "/proc/self/fd": (lambda _: "/proc/self/fd", "is a system folder"),
    "/": (lambda _: "/", "is a system folder"),
    "/sys/kernel": (lambda _: "/sys/kernel", "is a system folder"),
    "/dev": (lambda _: "/dev", "is a system folder"),
    "a link to /proc": (_a_link_to_proc, "is a system folder"),
    "a name too long": (_too_long, "cannot write a spec in"),
}


def _init(capsys: pytest.CaptureFixture[str], directory: str) -> tuple[int, str]:
    code = run(["init", "demo", "--team", "growth", "--dir", directory])
    captured = capsys.readouterr()
    return code, captured.out + captured.err


@pytest.mark.parametrize(("where", "expected"), ATTACKS.values(), ids=ATTACKS.keys())
def test_an_unusable_directory_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], where: Where, expected: str
) -> None:
    directory = where(tmp_path)
    before = sorted(p.name for p in tmp_path.iterdir())
    code, output = _init(capsys, directory)
    assert code == 2, output
    assert expected in output
    assert "Traceback" not in output and "internal error" not in output
    assert sorted(p.name for p in tmp_path.iterdir()) == before


@pytest.fixture
def read_only_folder(tmp_path: Path) -> Iterator[Path]:
    """A folder nobody may write: by its mode, or, for root (who ignores modes), a read-only
    tmpfs mounted there."""
    folder = tmp_path / "ro"
    folder.mkdir()
    if os.geteuid() != 0:
        folder.chmod(0o500)
        yield folder
        folder.chmod(0o700)
        return
    subprocess.run(["mount", "-t", "tmpfs", "-o", "ro,size=64k", "tmpfs", str(folder)], check=True)
    try:
        yield folder
    finally:
        subprocess.run(["umount", str(folder)], check=True)


def test_a_read_only_directory_is_a_usage_error(
    read_only_folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, output = _init(capsys, str(read_only_folder))
    assert code == 2 and "cannot write a spec in" in output
    assert list(read_only_folder.iterdir()) == []


def test_a_usable_directory_still_works(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, output = _init(capsys, str(tmp_path / "specs"))
    assert code == 0, output
    assert (tmp_path / "specs" / "demo.yaml").is_file()
