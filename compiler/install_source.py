"""What the generated CI workflows pip-install to run this specops (`ci.specops_requirement`).

Unless the platform sets `defaults.ci.specops_requirement`, the requirement is derived from how
the running specops was installed, as pip recorded it (PEP 610 `direct_url.json`):

- from an index (no `direct_url.json`): `specops==<version>`, which that index serves;
- from git (`vcs_info`): `specops @ git+<url>@<commit>`, the very commit that runs here.

Anything else (an editable or local-directory install, a wheel file, a source checkout on
`sys.path`) names no place CI can install from: the requirement stays `specops==<version>` and
`compile` says so in a note, with the setting to add.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from pydantic import TypeAdapter, ValidationError

from compiler._version import __version__
from compiler.model.types import InstallRequirement
from compiler.platform.delivery import https_remote

_REQUIREMENT: TypeAdapter[str] = TypeAdapter(InstallRequirement)
_PACKAGE_DIR = Path(__file__).resolve().parent


@dataclass(frozen=True, slots=True)
class InstallSource:
    requirement: str
    note: str | None = None  # why CI may not be able to install `requirement`


@functools.cache
def running_install_source() -> InstallSource:
    """Where CI can install the specops that runs here from, or the fallback and why."""
    fallback = f"specops=={__version__}"
    try:
        dist = metadata.distribution("specops")
    except metadata.PackageNotFoundError:
        return InstallSource(fallback, _note(fallback, "specops runs from a source checkout"))
    direct = _direct_url(dist)
    dir_info = direct.get("dir_info") if direct is not None else None
    from_directory = isinstance(dir_info, dict)  # PEP 610: editable or not, a local directory
    editable = isinstance(dir_info, dict) and dir_info.get("editable") is True
    if dist.version != __version__ or not (from_directory or _holds_running_code(dist)):
        return InstallSource(fallback, _note(fallback, "specops runs from a source checkout"))
    if direct is None:
        return InstallSource(fallback)  # installed from an index, which serves this version
    vcs = direct.get("vcs_info")
    url = https_remote(str(direct.get("url", "")))
    if isinstance(vcs, dict) and vcs.get("vcs") == "git" and url is not None:
        try:
            return InstallSource(
                _REQUIREMENT.validate_python(f"specops @ git+{url}@{vcs.get('commit_id')}")
            )
        except ValidationError:
            pass
    kind = "an editable install" if editable else "a local file or directory"
    return InstallSource(fallback, _note(fallback, f"specops was installed from {kind}"))


def _holds_running_code(dist: metadata.Distribution) -> bool:
    """Whether the installed files are the code running here (not a checkout on sys.path)."""
    return _PACKAGE_DIR.is_relative_to(Path(str(dist.locate_file(""))).resolve())


def _direct_url(dist: metadata.Distribution) -> dict[str, object] | None:
    text = dist.read_text("direct_url.json")
    if text is None:
        return None
    try:
        found = json.loads(text)
    except ValueError:
        return None
    return found if isinstance(found, dict) else None


def _note(requirement: str, reason: str) -> str:
    return (
        f"the CI workflows install {requirement!r}, which no index may serve: {reason}; set "
        "defaults.ci.specops_requirement in platform.yaml (e.g. 'specops @ "
        "git+https://github.com/<owner>/specops@<commit>')"
    )
