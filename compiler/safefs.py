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
from collections import OrderedDict
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
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
    """A descriptor of `out_dir/relative` (the caller's to close), walked one component at a
    time with O_NOFOLLOW.

    Returns -1 when a component is missing and `create` is false. Raises UnsafeOutputError when
    a component is a symbolic link or not a directory.
    """
    with OpenFolder(out_dir) as folder:
        fd = folder.dir(relative, create=create)
        return os.dup(fd) if fd >= 0 else -1


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


class OpenFolder:
    """`out_dir` as one commit works in it: each directory is walked once, component by
    component with O_NOFOLLOW, and its descriptor kept (at most MAX_OPEN_DIRS, the least
    recently used closed first), so writing thousands of files does not walk every path four
    times. With `batch_sync`, files `write_new` creates are fsynced together by `sync()` (the
    kernel commits concurrent fsyncs as one journal transaction) instead of one at a time."""

    MAX_OPEN_DIRS = 64
    SYNC_THREADS = 8

    def __init__(self, out_dir: Path, *, batch_sync: bool = False) -> None:
        self.out_dir = out_dir
        self.batch_sync = batch_sync
        self.pending: list[int] = []  # created files not yet fsynced
        self._dirs: OrderedDict[str, int] = OrderedDict()
        self._threads: ThreadPoolExecutor | None = None  # made by the first sync()

    def __enter__(self) -> OpenFolder:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def dir(self, relative: str, *, create: bool = False) -> int:
        """A descriptor of `out_dir/relative`, valid until the next call; -1 when a component
        is missing and not `create`. Raises UnsafeOutputError for a link or a non-directory."""
        key = "" if relative in ("", ".") else relative
        if (fd := self._dirs.get(key)) is not None:
            self._dirs.move_to_end(key)
            return fd
        if not key:
            fd = os.open(self.out_dir, os.O_RDONLY | os.O_DIRECTORY)  # --out is the user's
        else:
            parent_key, _, name = key.rpartition("/")
            parent = self.dir(parent_key, create=create)
            if parent < 0:
                return -1
            fd = _open_child(self.out_dir, parent, name, key, create)
            if fd < 0:
                return -1
        self._dirs[key] = fd
        while len(self._dirs) > self.MAX_OPEN_DIRS:
            os.close(self._dirs.popitem(last=False)[1])
        return fd

    def forget(self, relative: str) -> None:
        """Close the descriptors of a removed directory and of everything below it."""
        for key in [k for k in self._dirs if k == relative or k.startswith(f"{relative}/")]:
            os.close(self._dirs.pop(key))

    def sync(self) -> None:
        """fsync every file created since the last call, in threads, and close them."""
        pending, self.pending = self.pending, []
        if self._threads is None:
            self._threads = ThreadPoolExecutor(self.SYNC_THREADS)
        try:
            for _ in self._threads.map(os.fsync, pending):
                pass
        finally:
            for fd in pending:
                os.close(fd)

    def close(self) -> None:
        """Close every descriptor (files not yet synced too: their commit failed)."""
        for fd in [*self.pending, *self._dirs.values()]:
            os.close(fd)
        self.pending, self._dirs = [], OrderedDict()
        if self._threads is not None:
            self._threads.shutdown()
            self._threads = None


def _open_child(out_dir: Path, parent: int, name: str, walked: str, create: bool) -> int:
    if create:
        with contextlib.suppress(FileExistsError):
            os.mkdir(name, 0o777, dir_fd=parent)
    try:
        return os.open(name, _DIR_FLAGS, dir_fd=parent)
    except FileNotFoundError:
        if create:
            raise
        return -1
    except OSError as exc:
        if exc.errno not in (errno.ELOOP, errno.ENOTDIR):
            raise
        raise UnsafeOutputError(
            out_dir=str(out_dir), path=walked, problem="is a symbolic link or not a directory"
        ) from exc


Where = Path | OpenFolder  # a folder to walk once per call, or a commit's open folder


@contextlib.contextmanager
def _folder(where: Where) -> Iterator[OpenFolder]:
    if isinstance(where, OpenFolder):
        yield where
        return
    with OpenFolder(where) as folder:
        yield folder


def _split(relative: str) -> tuple[str, str]:
    path = PurePosixPath(relative)
    return str(path.parent), path.name


def write_new(where: Where, temp: str, data: bytes) -> None:
    """Create `temp` exclusively (never through a link), write and fsync it (with a batch-sync
    folder, leave it to the folder's `sync()`)."""
    directory, name = _split(temp)
    with _folder(where) as folder:
        parent = folder.dir(directory, create=True)
        fd = os.open(name, _NEW_FILE_FLAGS, 0o666, dir_fd=parent)
        try:
            with os.fdopen(fd, "wb", closefd=False) as handle:
                handle.write(data)
            if folder.batch_sync:
                folder.pending.append(fd)
                fd = -1
            else:
                os.fsync(fd)
        except BaseException:
            os.unlink(name, dir_fd=parent)
            raise
        finally:
            if fd >= 0:
                os.close(fd)


def rename(where: Where, temp: str, final: str) -> None:
    directory, name = _split(final)
    with _folder(where) as folder:
        parent = folder.dir(directory)
        os.replace(_split(temp)[1], name, src_dir_fd=parent, dst_dir_fd=parent)


def unlink(where: Where, relative: str) -> None:
    """Remove a file (never what a link points to); a missing file or directory is fine."""
    directory, name = _split(relative)
    with _folder(where) as folder:
        parent = folder.dir(directory)
        if parent >= 0:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(name, dir_fd=parent)


def file_sha256(where: Where, relative: str) -> str | None:
    """The hash of a regular file read without following links; None when it cannot be read."""
    directory, name = _split(relative)
    with _folder(where) as folder:
        parent = folder.dir(directory)
        if parent < 0:
            return None
        try:
            fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW, dir_fd=parent)
        except OSError:
            return None
        with os.fdopen(fd, "rb") as handle:
            return hashlib.sha256(handle.read()).hexdigest()


def exists(where: Where, relative: str) -> bool:
    directory, name = _split(relative)
    with _folder(where) as folder:
        parent = folder.dir(directory)
        if parent < 0:
            return False
        try:
            os.stat(name, dir_fd=parent, follow_symlinks=False)
        except FileNotFoundError:
            return False
        return True


def remove_empty_parents(where: Where, relative: str) -> None:
    parent = PurePosixPath(relative).parent
    with _folder(where) as folder:
        while parent != PurePosixPath("."):
            fd = folder.dir(str(parent.parent))
            try:
                os.rmdir(parent.name, dir_fd=fd)
            except OSError:
                return  # still holds files (or is not ours to remove)
            folder.forget(str(parent))
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
