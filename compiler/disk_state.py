"""What the output folder holds at each path a plan looks at: a file's sha256, nothing, or a
reason specops may not write there (a symbolic link on the way, a directory, a FIFO).

Every path is read at most once per plan, without following links; with the build cache's stat
index (compiler.build_cache.StatIndex) a file whose stat is unchanged since it was last hashed is
not read at all, which is what keeps a no-op `compile --check` of thousands of files cheap.
"""

from __future__ import annotations

import hashlib
import os
import stat
from pathlib import Path

from compiler.build_cache import StatIndex


class DiskHasher:
    """The state of each path of the output folder as a plan sees it, each file read at most
    once: its sha256, None when absent, or why specops may not write through it. With a stat
    index a file whose stat is unchanged since it was last hashed is not read at all."""

    def __init__(self, out_dir: Path, index: StatIndex | None = None) -> None:
        self.out_dir = out_dir
        self.index = index
        self._root = str(out_dir)
        self._links: dict[str, bool] = {}
        self._states: dict[str, tuple[str | None, str | None]] = {}

    def state(self, relative: str) -> tuple[str | None, str | None]:
        """(sha256 or None when absent, None or the reason the path is blocked)."""
        if relative not in self._states:
            self._states[relative] = self._read(relative)
        return self._states[relative]

    def _linked_folder(self, relative: str) -> str | None:
        """The first folder on the way to `relative` that is a symbolic link, if any."""
        parts = relative.split("/")
        for depth in range(1, len(parts)):
            prefix = "/".join(parts[:depth])
            if prefix not in self._links:
                self._links[prefix] = os.path.islink(f"{self._root}/{prefix}")
            if self._links[prefix]:
                return prefix
        return None

    def _read(self, relative: str) -> tuple[str | None, str | None]:
        if (linked := self._linked_folder(relative)) is not None:
            return None, f"{relative}: {linked} is a symbolic link"
        path = f"{self._root}/{relative}"
        try:
            found = os.lstat(path)
        except (FileNotFoundError, NotADirectoryError):
            return None, None
        except OSError as exc:
            return None, f"{relative}: cannot be read ({exc.strerror})"
        if stat.S_ISLNK(found.st_mode):
            return None, f"{relative}: {relative} is a symbolic link"
        if stat.S_ISDIR(found.st_mode):
            return None, f"{relative}: a directory is in the way"
        if not stat.S_ISREG(found.st_mode):
            return None, f"{relative}: not a regular file"
        if self.index is not None and (known := self.index.lookup(relative, found)):
            return known, None
        return self._hash(relative, path)

    def _hash(self, relative: str, path: str) -> tuple[str | None, str | None]:
        """Read the file without following a link swapped in since it was stat'ed."""
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
        except OSError as exc:
            return None, f"{relative}: cannot be read ({exc.strerror})"
        with os.fdopen(fd, "rb") as handle:
            found = os.fstat(handle.fileno())
            if not stat.S_ISREG(found.st_mode):
                return None, f"{relative}: not a regular file"
            digest = hashlib.sha256(handle.read()).hexdigest()
        if self.index is not None:
            self.index.remember(relative, found, digest)
        return digest, None

    def forget(self, paths: list[str]) -> None:
        """Paths a commit rewrote or deleted: their next stat is new."""
        for path in paths:
            self._states.pop(path, None)
            if self.index is not None:
                self.index.forget(path)
