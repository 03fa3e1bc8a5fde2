"""Delivery settings no built-in default may invent: the GitOps repository Argo CD syncs from,
each environment's Argo CD project and the base URL of the alerts' runbooks.

Each comes from the spec, else the platform, else (the repository only) the git remote `origin`
of the checkout that holds the spec, made an https URL without credentials. What nothing gives
is an error at validate time (CHK024 repository, CHK025 project, CHK026 runbook: see
compiler.platform.checks), as CHK018 is for a namespace: a placeholder like
`https://github.com/acme/ml-gitops.git` would deploy somewhere nobody chose.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from pydantic import TypeAdapter, ValidationError

from compiler.git_origin import origin_url
from compiler.loader import LoadedSpec
from compiler.model.spec import MLPipeline
from compiler.model.types import RepoUri
from compiler.plan import Defaults

_REPO_URI: TypeAdapter[str] = TypeAdapter(RepoUri)
# git's scp-like syntax: [user@]host:path, where the host has no '/' and the path no leading '/'
_SCP_LIKE = re.compile(r"^(?:[^@/:]+@)?(?P<host>[A-Za-z0-9.-]+):(?!/)(?P<path>.+)$")


@dataclass(frozen=True, slots=True)
class DeliverySettings:
    repo_url: str | None
    projects: dict[str, str | None]  # environment name -> Argo CD project
    runbook_url: str | None  # None too when the spec has no alerts (nothing links a runbook)


def delivery_settings(
    defaults: Defaults,
    spec: MLPipeline,
    loaded: LoadedSpec,
    platform_projects: Mapping[str, str | None],
) -> DeliverySettings:
    """What the spec, the platform (its `defaults` and each environment's Argo CD project) and
    the checkout give; None where nothing does."""
    argocd = spec.deploy.argocd
    repo = argocd.repo_url or defaults.argocd_repo_url
    if repo is None:
        repo = git_remote_url(loaded.source.directory.resolve())
    # A project is an Argo CD access boundary: the platform's per-environment choice wins over
    # the spec's, which wins over the platform-wide default.
    projects = {
        env.name: platform_projects.get(env.name) or argocd.project or defaults.argocd_project
        for env in spec.deploy.environments
    }
    alerts = spec.monitoring.alerts
    runbook = (alerts.runbook_url or defaults.runbook_base_url) if alerts else None
    return DeliverySettings(repo, projects, runbook)


@functools.cache
def git_remote_url(directory: Path) -> str | None:
    """The https URL of the `origin` remote of the git checkout holding `directory`, if any."""
    url = origin_url(directory)
    return https_remote(url) if url is not None else None


def https_remote(url: str) -> str | None:
    """`url` as an https URL Argo CD can read, without user, password or token; None when it
    names no host (a local path) or is no valid repository URI afterwards."""
    scp = _SCP_LIKE.match(url) if "://" not in url else None
    if scp is not None:
        host, path = scp["host"], scp["path"]
    else:
        try:
            parts = urlsplit(url)
            host, path = parts.hostname or "", parts.path.lstrip("/")
        except ValueError:
            return None
        if parts.scheme not in ("https", "http", "ssh", "git", "git+ssh") or parts.query:
            return None
        if parts.scheme in ("https", "http") and parts.port:  # an ssh port is no https port
            host = f"{host}:{parts.port}"
    if not host or not path:
        return None
    try:
        return _REPO_URI.validate_python(f"https://{host}/{path}")
    except ValidationError:
        return None
