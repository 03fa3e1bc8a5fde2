"""Where the build cache lives and how it writes: what every part of the cache shares, kept
free of the build's imports so that a no-op compile (compiler.settled) can use it alone."""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from pathlib import Path

CACHE_FORMAT = 1
# A file changed this close to its hashing may change again unseen: its stat is not trusted.
RACY_NS = 2_000_000_000


def default_cache_dir() -> Path:
    if found := os.environ.get("SPECOPS_CACHE_DIR"):
        return Path(found)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "specops"


def versioned_root(base: Path) -> Path:
    """The directory of this cache format below the cache folder `base`."""
    return base / f"v{CACHE_FORMAT}"


def folder_file(base: Path, kind: str, out_dir: Path) -> Path:
    """Where the cache keeps `kind` (e.g. "manifests") of the output folder `out_dir`."""
    key = hashlib.sha256(str(out_dir.resolve()).encode()).hexdigest()
    return versioned_root(base) / kind / f"{key}.json"


def cache_inside(base: Path, out_dir: Path) -> bool:
    """Whether the cache folder is the output folder or inside it, where a pull request could
    forge what the cache says was built."""
    root, out = base.resolve(), out_dir.resolve()
    return root == out or out in root.parents


def atomic_write(target: Path, data: bytes) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
        os.replace(temporary, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
