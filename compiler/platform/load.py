"""Read a platform file once per run: the strict spec loader, the spec's error mapping, and a few
cross-field checks that need the whole file (directories exist, names are unique)."""

from __future__ import annotations

import functools
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from compiler.check.secrets import role_patterns
from compiler.credentials import secret_diagnostics
from compiler.diagnostics import Diagnostic, JsonPath, Location, error, warning
from compiler.errors import UsageError
from compiler.loader import LoadedSpec, load
from compiler.model.build import validate_as
from compiler.platform.defaults import alias_clashes
from compiler.platform.model import Platform
from compiler.sources import read_source
from compiler.typed_paths import typed_paths

_SECRET_HINT = (
    "platform.yaml is committed to git: keep the credential in the CI or cluster secret store "
    "and name the secret here (e.g. defaults.kfp.host_secret)"
)


@dataclass(frozen=True, slots=True)
class LoadedPlatform:
    platform: Platform
    loaded: LoadedSpec  # the raw data says which keys each layer really sets

    @property
    def path(self) -> str:
        return self.loaded.source.path

    @property
    def template_dirs(self) -> list[Path]:
        """The platform's template directories, highest priority first."""
        base = self.loaded.source.directory
        return [base / d for d in self.platform.templates]

    def locate(self, path: JsonPath, *, key: bool = False) -> Location:
        return self.loaded.locate(path, key=key)

    def environment_index(self, name: str) -> int | None:
        names = [e.name for e in self.platform.environments]
        return names.index(name) if name in names else None


def load_platform(path: Path) -> tuple[LoadedPlatform | None, list[Diagnostic]]:
    """Load and check a platform file; problems in it come back as diagnostics.

    Raises UsageError when the file does not exist.
    """
    if not path.is_file():
        raise UsageError(
            problem=f"platform file not found: {path}",
            hint="pass --platform FILE, or leave it out to use ./platform.yaml when present",
        )
    source, diagnostics = read_source(path)
    if source is None:
        return None, diagnostics
    loaded, diagnostics = load(source)
    if loaded is None:
        return None, diagnostics
    found = secret_diagnostics(loaded, _roles(), "platform file", _SECRET_HINT)
    platform, diagnostics = validate_as(loaded, Platform)
    if platform is None:
        return None, [*found, *diagnostics]
    result = LoadedPlatform(platform, loaded)
    return result, [*found, *_checks(result)]


@functools.cache
def _roles() -> dict[JsonPath, str]:
    return typed_paths(Platform, role_patterns())


def _checks(item: LoadedPlatform) -> Iterator[Diagnostic]:
    platform = item.platform
    for index, directory in enumerate(item.template_dirs):
        if not directory.is_dir():
            yield error(
                "PLT001",
                f"template directory {platform.templates[index]!r} not found",
                item.locate(("templates", index)),
                f"paths are relative to the platform file's folder ({directory.parent})",
            )
    seen: set[str] = set()
    for index, env in enumerate(platform.environments):
        if env.name in seen:
            yield error(
                "PLT002",
                f"environment {env.name!r} is defined twice",
                item.locate(("environments", index, "name")),
            )
        seen.add(env.name)
    for path, alias in alias_clashes(item.loaded.data):
        yield error(
            "PLT004",
            f"{'.'.join(map(str, alias))} and {'.'.join(map(str, path))} set the same default",
            item.locate(alias, key=True),
            f"keep one; {'.'.join(map(str, path))} is also set at {item.locate(path, key=True)}",
        )
    yield from _policy_environments(item, seen)


def _policy_environments(item: LoadedPlatform, known: set[str]) -> Iterator[Diagnostic]:
    if not known:
        return  # without named environments any spec environment name is fine
    for key, policy in item.platform.policies:
        for name in getattr(policy, "environments", {}) or {}:
            if name not in known:
                yield warning(
                    "PLT003",
                    f"policy {key} names environment {name!r}, which the platform does not define",
                    item.locate(("policies", key, "environments", name), key=True),
                    f"defined environments: {', '.join(sorted(known))}",
                )
