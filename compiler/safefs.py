"""Files and directories below `--out`, reached without ever following a symbolic link.

Everything below `--out` may have been planted by a pull request, so every directory is opened
component by component with O_NOFOLLOW (a descriptor at a time, so a link swapped in after a
check is still refused) and new files are created with O_EXCL under unpredictable names.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import re
import secrets
from collections.abc import Iterator
from pathlib import Path, PurePosixPath

from compiler.errors import SpecopsError

TEMP_NAME = re.compile(r"^\..+\.[0-9a-f]{16}\.specops-tmp$")
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW
_NEW_FILE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW


class UnsafeOutputError(SpecopsError):
    """Writing would follow a symbolic link (or go through a non-directory) under `--out`."""

    def __init__(self, *, out_dir: str, path: str, problem: str) -> None:
        super().__init__(
            f"refusing to write {out_dir}: {path} {problem}",
            hint="remove the link: specops never writes through symbolic links in its output",
        )


def open_dir(out_dir: Path, relative: str, *, create: bool) -> int:
    """A descriptor of `out_dir/relative`, walked one component at a time with O_NOFOLLOW.

    Returns -1 when a component is missing and `create` is false. Raises UnsafeOutputError when
    a component is a symbolic link or not a directory.
    """
    fd = os.open(out_dir, os.O_RDONLY | os.O_DIRECTORY)  # --out itself is the user's choice
    walked = PurePosixPath()
    try:
        for part in PurePosixPath(relative).parts:
            walked /= part
            if create:
                with contextlib.suppress(FileExistsError):
                    os.mkdir(part, 0o777, dir_fd=fd)
            try:
                child = os.open(part, _DIR_FLAGS, dir_fd=fd)
            except FileNotFoundError:
                if create:
                    raise
                os.close(fd)
                return -1
            except OSError as exc:
                if exc.errno not in (errno.ELOOP, errno.ENOTDIR):
                    raise
                raise UnsafeOutputError(
                    out_dir=str(out_dir),
                    path=walked.as_posix(),
                    problem="is a symbolic link or not a directory",
                ) from exc
            os.close(fd)
            fd = child
    except BaseException:
        os.close(fd)
        raise
    return fd


@contextlib.contextmanager
def dir_fd(out_dir: Path, relative: str, *, create: bool = False) -> Iterator[int]:
    fd = open_dir(out_dir, relative, create=create)
    try:
        yield fd
    finally:
        if fd >= 0:
            os.close(fd)


def temp_name(relative: str) -> str:
    """An unpredictable temporary beside `relative`, so nobody can plant a link there first."""
    final = PurePosixPath(relative)
    return final.with_name(f".{final.name}.{secrets.token_hex(8)}.specops-tmp").as_posix()


def write_new(out_dir: Path, temp: str, data: bytes) -> None:
    """Create `temp` exclusively (never through a link), write and fsync it."""
    with dir_fd(out_dir, str(PurePosixPath(temp).parent), create=True) as parent:
        fd = os.open(PurePosixPath(temp).name, _NEW_FILE_FLAGS, 0o666, dir_fd=parent)
        try:
            with os.fdopen(fd, "wb", closefd=False) as handle:
                handle.write(data)
            os.fsync(fd)
        except BaseException:
            os.unlink(PurePosixPath(temp).name, dir_fd=parent)
            raise
        finally:
            os.close(fd)


def rename(out_dir: Path, temp: str, final: str) -> None:
    with dir_fd(out_dir, str(PurePosixPath(final).parent)) as parent:
        os.replace(
            PurePosixPath(temp).name,
            PurePosixPath(final).name,
            src_dir_fd=parent,
            dst_dir_fd=parent,
        )


def unlink(out_dir: Path, relative: str) -> None:
    """Remove a file (never what a link points to); a missing file or directory is fine."""
    with dir_fd(out_dir, str(PurePosixPath(relative).parent)) as parent:
        if parent >= 0:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(PurePosixPath(relative).name, dir_fd=parent)


def file_sha256(out_dir: Path, relative: str) -> str | None:
    """The hash of a regular file read without following links; None when it cannot be read."""
    with dir_fd(out_dir, str(PurePosixPath(relative).parent)) as parent:
        if parent < 0:
            return None
        try:
            fd = os.open(PurePosixPath(relative).name, os.O_RDONLY | os.O_NOFOLLOW, dir_fd=parent)
        except OSError:
            return None
        with os.fdopen(fd, "rb") as handle:
            return hashlib.sha256(handle.read()).hexdigest()


def exists(out_dir: Path, relative: str) -> bool:
    with dir_fd(out_dir, str(PurePosixPath(relative).parent)) as parent:
        if parent < 0:
            return False
        try:
            os.stat(PurePosixPath(relative).name, dir_fd=parent, follow_symlinks=False)
        except FileNotFoundError:
            return False
        return True


def remove_empty_parents(out_dir: Path, relative: str) -> None:
    parent = PurePosixPath(relative).parent
    while parent != PurePosixPath("."):
        with dir_fd(out_dir, str(parent.parent)) as fd:
            try:
                os.rmdir(parent.name, dir_fd=fd)
            except OSError:
                return  # still holds files (or is not ours to remove)
        parent = parent.parent


def stray_temporaries(out_dir: Path, directories: set[str]) -> list[str]:
    """specops temporaries left in `directories` (relative to `out_dir`) by a crashed run."""
    found: list[str] = []
    for directory in sorted(directories):
        with dir_fd(out_dir, directory) as fd:
            if fd >= 0:
                prefix = "" if directory in ("", ".") else f"{directory}/"
                found += [f"{prefix}{n}" for n in os.listdir(fd) if TEMP_NAME.match(n)]
    return sorted(found)
