"""Stages 1-4 for many specs: read, load, model, resolve and check each spec file (and, with a
platform, its layers and policies). Nothing here renders: validate never imports kfp or Jinja."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from compiler.check import run_checks
from compiler.check.secrets import spec_secrets
from compiler.credentials import scrub
from compiler.diagnostics import Diagnostic, Location, error, has_errors
from compiler.loader import LoadedSpec, load
from compiler.model import MLPipeline, build_model
from compiler.platform import LoadedPlatform, load_platform
from compiler.platform.checks import resolved_diagnostics
from compiler.platform.resolve import ResolvedSpec, resolve_spec
from compiler.progress import NO_PROGRESS, Progress
from compiler.sources import check_spec_path, discover_specs, display_path, read_source


@dataclass(frozen=True, slots=True)
class ValidatedSpec:
    path: str
    loaded: LoadedSpec | None
    spec: MLPipeline | None  # with what the platform fills in (`resolved.spec`)
    diagnostics: list[Diagnostic]
    resolved: ResolvedSpec | None = None  # what the plan is built from; None: no model


@dataclass
class ValidateResult:
    specs: list[ValidatedSpec]
    diagnostics: list[Diagnostic]
    platform: LoadedPlatform | None = None
    platform_files: list[str] = field(default_factory=list)  # kind: Platform files named

    @property
    def ok(self) -> bool:
        return not has_errors(self.diagnostics)

    @property
    def checked(self) -> int:
        """How many files were validated: specs and platform files."""
        return len(self.specs) + len(self.platform_files)


def validate_spec(path: Path, platform: LoadedPlatform | None = None) -> ValidatedSpec:
    """Load, model and check one spec file (and, with a platform, its layers and policies);
    problems come back as diagnostics."""
    unsafe = check_spec_path(display_path(path))
    if unsafe is not None:  # before reading: nothing of this file may reach an output
        return ValidatedSpec(display_path(path), None, None, [unsafe])
    source, diagnostics = read_source(path)
    shown = source.path if source else display_path(path)
    if source is None:
        return ValidatedSpec(shown, None, None, diagnostics)
    loaded, diagnostics = load(source)
    if loaded is None:
        return ValidatedSpec(shown, None, None, diagnostics)
    found, secrets = spec_secrets(loaded)  # needs no model: reported even when it fails
    spec, diagnostics = build_model(loaded)
    if spec is None:
        return ValidatedSpec(shown, loaded, None, scrub([*found, *diagnostics], secrets))
    resolved = resolve_spec(spec, loaded, platform)  # once: the plan reads it too
    diagnostics = [*found, *run_checks(resolved.spec, loaded, resolved.estimators)]
    diagnostics += resolved_diagnostics(resolved)  # delivery, registry, layering, policies
    return ValidatedSpec(shown, loaded, resolved.spec, scrub(diagnostics, secrets), resolved)


def validate(
    paths: list[Path], platform: Path | None = None, progress: Progress = NO_PROGRESS
) -> ValidateResult:
    """Validate every spec named or found below `paths`, under the platform file if given;
    `progress` hears of each spec file as it is done.

    Raises UsageError when a path (or the platform file) does not exist or no spec is found.
    """
    loaded_platform, platform_problems = load_platform(platform) if platform else (None, [])
    if has_errors(platform_problems):
        return ValidateResult([], platform_problems)
    found = discover_specs(paths)
    progress.stage("validate", len(found.specs))
    specs = _unique_names([_validate_one(p, loaded_platform, progress) for p in found.specs])
    problems = [*platform_problems, *found.skipped, *(d for s in specs for d in s.diagnostics)]
    for named in found.platforms:  # `specops validate platform.yaml` checks it as a platform
        if platform is None or named.resolve() != platform.resolve():
            problems += load_platform(named)[1]
    diagnostics = sorted(problems, key=lambda d: d.sort_key())
    shown = [display_path(p) for p in found.platforms]
    return ValidateResult(specs, diagnostics, loaded_platform, shown)


def _validate_one(path: Path, platform: LoadedPlatform | None, progress: Progress) -> ValidatedSpec:
    validated = validate_spec(path, platform)
    progress.advance(validated.path)
    return validated


def _unique_names(specs: list[ValidatedSpec]) -> list[ValidatedSpec]:
    """Two specs with one metadata.name would write the same outputs: the later one is wrong."""
    first: dict[str, str] = {}
    result = []
    for item in specs:
        clash = name_clash(item, first)
        if clash is not None:
            diagnostics = [*item.diagnostics, clash]
            item = ValidatedSpec(item.path, item.loaded, item.spec, diagnostics, item.resolved)
        result.append(item)
    return result


def name_clash(item: ValidatedSpec, first: dict[str, str]) -> Diagnostic | None:
    """CHK016 when an earlier spec (in `first`, name -> path, which this updates) has the name."""
    if item.spec is None or item.loaded is None:
        return None
    return clash_of(
        item.spec.metadata.name, item.path, item.loaded.locate(("metadata", "name")), first
    )


def clash_of(name: str, path: str, where: Location, first: dict[str, str]) -> Diagnostic | None:
    """CHK016 at `where` when `first` (name -> path, which this updates) has `name` already."""
    if name not in first:
        first[name] = path
        return None
    return name_taken(name, first[name], where)


def name_taken(name: str, first_path: str, where: Location) -> Diagnostic:
    """CHK016: the spec at `where` has the name of the spec at `first_path`."""
    return error(
        "CHK016",
        f"metadata.name {name!r} is already used by {first_path}",
        where,
        "every spec needs its own name",
    )
