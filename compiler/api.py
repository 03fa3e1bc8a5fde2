"""The public entry points: run the stages and return a result object. No printing here."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from compiler.check import run_checks
from compiler.check.secrets import spec_secrets
from compiler.credentials import scrub
from compiler.diagnostics import Diagnostic, Location, error, has_errors
from compiler.errors import TemplateError, UsageError
from compiler.install_source import running_install_source
from compiler.loader import LoadedSpec, load
from compiler.model import MLPipeline, build_model
from compiler.plan import Defaults, Plan
from compiler.planner import build_plan
from compiler.platform import LoadedPlatform, load_platform
from compiler.platform.checks import resolved_diagnostics
from compiler.platform.resolve import ResolvedSpec, resolve_spec
from compiler.platform.settings import apply_platform_defaults
from compiler.progress import NO_PROGRESS, Progress
from compiler.sources import Discovery, check_spec_path, discover_all, display_path, read_source

if TYPE_CHECKING:  # the compile stages load these when a compile runs: validate never does
    from compiler.render import RenderedFile
    from compiler.targets import Target
    from compiler.write import SpecState, WritePlan

Mode = Literal["write", "check", "diff"]


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


@dataclass
class CompileOptions:
    paths: list[Path]
    out_dir: Path
    targets: list[str] | None = None
    template_dirs: list[Path] = field(default_factory=list)
    crd_dirs: list[Path] = field(default_factory=list)
    mode: Mode = "write"
    platform: Path | None = None  # a platform.yaml (the CLI defaults to ./platform.yaml)
    progress: Progress = NO_PROGRESS  # told of each spec validated and rendered


@dataclass
class CompileResult:
    diagnostics: list[Diagnostic]
    files: list[RenderedFile] = field(default_factory=list)
    write_plan: WritePlan | None = None
    stale: list[str] = field(default_factory=list)
    diff: str = ""
    unverified: list[str] = field(default_factory=list)
    spec_count: int = 0
    notes: list[str] = field(default_factory=list)  # said on stderr, never an error

    @property
    def ok(self) -> bool:
        return not has_errors(self.diagnostics) and not self.stale


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
    found = discover_all(paths)
    if not found.specs and not found.platforms:
        raise UsageError(
            problem=f"no spec files found in {', '.join(map(str, paths))}",
            hint=_no_spec_hint(found),
        )
    progress.stage("validate", len(found.specs))
    specs = _unique_names([_validate_one(p, loaded_platform, progress) for p in found.specs])
    problems = [*platform_problems, *found.skipped, *(d for s in specs for d in s.diagnostics)]
    for named in found.platforms:  # `specops validate platform.yaml` checks it as a platform
        if platform is None or named.resolve() != platform.resolve():
            problems += load_platform(named)[1]
    diagnostics = sorted(problems, key=lambda d: d.sort_key())
    shown = [display_path(p) for p in found.platforms]
    return ValidateResult(specs, diagnostics, loaded_platform, shown)


def _no_spec_hint(found: Discovery) -> str:
    hint = "specs are *.yaml files that start with 'apiVersion: specops/v1'"
    if found.skipped:
        first = found.skipped[0]
        more = f" (and {len(found.skipped) - 1} more)" if len(found.skipped) > 1 else ""
        hint = f"{first.location}: {first.message}{more}; {hint}"
    return hint


def _validate_one(path: Path, platform: LoadedPlatform | None, progress: Progress) -> ValidatedSpec:
    validated = validate_spec(path, platform)
    progress.advance(validated.path)
    return validated


def _unique_names(specs: list[ValidatedSpec]) -> list[ValidatedSpec]:
    """Two specs with one metadata.name would write the same outputs: the later one is wrong."""
    first: dict[str, str] = {}
    result = []
    for item in specs:
        if item.spec is not None and item.loaded is not None:
            name = item.spec.metadata.name
            if name in first:
                item = ValidatedSpec(
                    item.path,
                    item.loaded,
                    item.spec,
                    [
                        *item.diagnostics,
                        error(
                            "CHK016",
                            f"metadata.name {name!r} is already used by {first[name]}",
                            item.loaded.locate(("metadata", "name")),
                            "every spec needs its own name",
                        ),
                    ],
                    item.resolved,
                )
            first.setdefault(name, item.path)
        result.append(item)
    return result


def _ci_notes(files: list[RenderedFile], platform: LoadedPlatform | None) -> list[str]:
    """A note when the CI workflows written install a specops no index may serve."""
    if not any(f.target == "ci" for f in files):
        return []
    defaults = apply_platform_defaults(Defaults(), platform) if platform else Defaults()
    if defaults.ci.specops_requirement is not None:
        return []
    note = running_install_source().note
    return [note] if note else []


def compile_specs(options: CompileOptions) -> CompileResult:
    """Validate, render, verify and write (or check, or diff) the outputs of every spec.

    Raises UsageError for bad options and OutputConflictError when writing would touch files
    specops does not own; a spec or verification problem is returned as diagnostics.
    """
    from compiler.facts_record import record_facts
    from compiler.render import Renderer
    from compiler.targets import discover_targets, select_targets
    from compiler.verify import VerifyContext, verify_files
    from compiler.write import SpecState

    validated = validate(options.paths, options.platform, options.progress)
    _refuse_platform_files(validated)
    if not validated.ok:
        return CompileResult(validated.diagnostics, spec_count=len(validated.specs))
    template_dirs = layered_template_dirs(options.template_dirs, validated.platform)
    try:
        targets = select_targets(discover_targets(template_dirs), options.targets)
    except TemplateError as exc:  # a broken layer: reported like a spec problem, located
        return CompileResult([*validated.diagnostics, template_diagnostic(exc)])
    renderer = Renderer(template_dirs)
    files: list[RenderedFile] = []
    planned: dict[str, SpecState] = {}  # every spec's facts, whichever targets render files
    diagnostics = list(validated.diagnostics)
    options.progress.stage("render", len(validated.specs))
    for item in validated.specs:
        assert item.resolved is not None  # validated.ok
        plan: Plan = build_plan(item.resolved)
        rendered, problems = renderer.render(plan, targets)
        planned[plan.provenance.spec_path] = SpecState(
            plan.provenance.spec_sha256, record_facts(plan)
        )
        files.extend(rendered)
        diagnostics.extend(problems)
        options.progress.advance(item.path)
    context = VerifyContext(crd_dirs=tuple(options.crd_dirs))
    options.progress.stage("verify", 1)  # one step: batch verifiers see every file at once
    diagnostics.extend(verify_files(files, context))
    options.progress.advance(f"{len(files)} files")
    result = CompileResult(
        diagnostics,
        files,
        unverified=sorted(context.unverified),
        spec_count=len(validated.specs),
        notes=_ci_notes(files, validated.platform),
    )
    if has_errors(diagnostics):
        return result
    _check_unique_paths(files)  # a second guard: targets could still collide on a path
    _write(options, validated, targets, result, planned)
    return result


def _write(
    options: CompileOptions,
    validated: ValidateResult,
    targets: list[Target],
    result: CompileResult,
    planned: dict[str, SpecState],
) -> None:
    """Plan the writes of the rendered files into the output folder, and apply, check or diff."""
    from compiler.write import Scope, output_session, plan_writes

    scope = Scope(
        frozenset(t.name for t in targets),
        frozenset(s.path for s in validated.specs),
        tuple(display_path(p) for p in options.paths if p.is_dir()),
    )
    paths = [s.path for s in validated.specs]
    with output_session(options.out_dir, options.mode == "write", paths):
        result.write_plan = plan_writes(options.out_dir, result.files, scope, planned)
        _apply(result, result.write_plan, options.mode)


def _refuse_platform_files(validated: ValidateResult) -> None:
    """A kind: Platform file named to compile is a mistake for --platform, not a spec."""
    if validated.platform_files:
        raise UsageError(
            problem=f"{validated.platform_files[0]} is a platform file, not a spec",
            hint=f"pass it as --platform {validated.platform_files[0]}",
        )


def template_diagnostic(exc: TemplateError) -> Diagnostic:
    """A broken target.yaml or layer as a TPL001 diagnostic at its file and line."""
    where = Location(display_path(Path(exc.template)), exc.line, 1 if exc.line else 0)
    return error("TPL001", exc.problem, where)


def layered_template_dirs(given: list[Path], platform: LoadedPlatform | None) -> list[Path]:
    """Highest priority first: --templates directories, the platform's, then the built-in one."""
    from compiler.targets import builtin_templates

    from_platform = platform.template_dirs if platform is not None else []
    return [*given, *from_platform, builtin_templates()]


def _check_unique_paths(files: list[RenderedFile]) -> None:
    seen: dict[str, RenderedFile] = {}
    for file in files:
        other = seen.setdefault(file.path, file)
        if other is not file:
            raise UsageError(
                problem=f"two outputs write {file.path}: {other.spec_path} "
                f"({other.template}) and {file.spec_path} ({file.template})",
                hint="two specs may not share a metadata.name",
            )


def _apply(result: CompileResult, plan: WritePlan, mode: Mode) -> None:
    from compiler.write import apply_to_disk, stale_report, unified_diff

    if mode == "write":
        apply_to_disk(plan)
    elif mode == "check":
        result.stale = stale_report(plan)
    else:
        result.diff = unified_diff(plan)
