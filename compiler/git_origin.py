"""The `origin` remote of the git checkout holding a directory, as git prints it.

A spec may take its repository URL from there (compiler.platform.delivery), so it is one of
the inputs a build is keyed on (compiler.fingerprint); this module imports nothing else so
that computing the keys stays cheap.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

_GIT_TIMEOUT_SECONDS = 10


def origin_url(directory: Path) -> str | None:
    """`remote.origin.url` of the checkout holding `directory`; None without one, without
    git, or when git hangs."""
    try:
        done = subprocess.run(
            ["git", "-C", str(directory), "config", "--get", "remote.origin.url"],
            capture_output=True,
            text=True,
            timeout=_GIT_TIMEOUT_SECONDS,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() if done.returncode == 0 else None
