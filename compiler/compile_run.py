"""`compile`: discover, look every spec up in the build cache, validate and build the rest,
then plan the writes of every spec's files into the output folder and apply, check or diff.

What a run does for a spec whose inputs are unchanged is hashing: its validation warnings,
files and facts come from its record (compiler.build). Everything else is as it was without a
cache, and the diagnostics are the same whichever way a spec was built.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from compiler import settled
from compiler.build import (
    BuildRun,
    SpecLookup,
    build_diagnostics,
    build_missing,
    default_jobs,
    files_of,
    look_up,
    record_of,
    store_records,
    validation_diagnostics,
    verify_batch,
)
from compiler.build_cache import BlobStore, BuildCache, BuiltFile
from compiler.build_worker import BuildJob, BuildSetup, SpecBuild
from compiler.cache_files import cache_inside, default_cache_dir
from compiler.compile_options import (
    CompileOptions,
    CompileResult,
    layered_template_dirs,
    template_diagnostic,
)
from compiler.diagnostics import Diagnostic, Location, has_errors
from compiler.disk_state import DiskHasher
from compiler.errors import TemplateError, UsageError
from compiler.fingerprint import RunInputs, SpecKey
from compiler.install_source import running_install_source
from compiler.loader import load
from compiler.manifest_memo import ManifestMemo, wanted_digest
from compiler.plan import Defaults
from compiler.platform import LoadedPlatform, load_platform
from compiler.platform.settings import apply_platform_defaults
from compiler.sources import Discovery, discover_specs, display_path, read_source
from compiler.targets import Target, discover_targets, select_targets
from compiler.validation import ValidatedSpec, name_taken, validate_spec
from compiler.write import (
    Scope,
    SpecState,
    WritePlan,
    apply_to_disk,
    output_session,
    plan_writes,
    refuse_unsafe_out,
    stale_report,
    unified_diff,
)


@dataclass(frozen=True, slots=True)
class _Checked:
    """What a compile keeps of a spec it validated: the model itself is dropped (a worker
    validates it again), so that memory does not grow with the number of specs."""

    path: str
    sha256: str | None  # of the bytes validated; None when they did not load
    name: str | None  # metadata.name; None without a model
    diagnostics: list[Diagnostic]

    @classmethod
    def of(cls, item: ValidatedSpec) -> _Checked:
        sha = item.loaded.source.sha256 if item.loaded is not None else None
        name = item.spec.metadata.name if item.spec is not None else None
        return cls(item.path, sha, name, item.diagnostics)


@dataclass
class _Run:
    """One compile's state between its stages."""

    options: CompileOptions
    platform: LoadedPlatform | None
    cache: BuildCache | None
    store: BlobStore
    lookups: list[SpecLookup]
    validated: dict[int, _Checked] = field(default_factory=dict)
    built: BuildRun = field(default_factory=BuildRun)  # every spec built so far
    kept: dict[int, ValidatedSpec] = field(default_factory=dict)  # for an in-process build
    spool: object = None  # the temporary blob store of a run without a cache, kept alive
    recorded: set[int] = field(default_factory=set)  # built specs whose records were stored


def compile_specs(options: CompileOptions) -> CompileResult:
    """Validate, render, verify and write (or check, or diff) the outputs of every spec."""
    platform, problems = load_platform(options.platform) if options.platform else (None, [])
    if has_errors(problems):
        return CompileResult(problems)
    found = discover_specs(options.paths, refuse_platform_files=True)
    template_dirs = layered_template_dirs(options.template_dirs, platform)
    inputs = settled.run_inputs(options, template_dirs)
    run = _start(options, platform, found.specs, inputs)
    diagnostics = sorted([*problems, *found.skipped, *_validate(run)], key=lambda d: d.sort_key())
    if has_errors(diagnostics):
        return CompileResult(diagnostics, spec_count=len(run.lookups))
    try:
        targets = select_targets(discover_targets(template_dirs), options.targets)
    except TemplateError as exc:  # a broken layer: reported like a spec problem, located
        return CompileResult([*diagnostics, template_diagnostic(exc)])
    setup = _setup(run, inputs, template_dirs, targets)
    for retry in (True, False):
        _build(run, setup)
        result = _assemble(run, diagnostics)
        result.spool, result.notes = run.spool, _ci_notes(result.files, platform)
        if has_errors(result.diagnostics):
            return result
        _check_unique_paths(result.files)  # a second guard: targets could still collide
        if not (unwritable := _write(run, targets, result, retry)):
            _settle(run, found, template_dirs, result)
            return result
        for index in unwritable:  # reused, but a file it must write is gone from the cache
            run.lookups[index].record = None
            run.validated[index] = _Checked.of(validate_spec(run.lookups[index].path, platform))
    return result


def _start(
    options: CompileOptions, platform: LoadedPlatform | None, paths: list[Path], inputs: RunInputs
) -> _Run:
    cache = _cache(options, paths)
    spool = None
    if cache is None:
        spool = tempfile.TemporaryDirectory(prefix="specops-build-")
    store = cache if cache is not None else BlobStore(Path(spool.name))  # type: ignore[union-attr]
    lookups = look_up(paths, inputs.input_digest(), cache)
    return _Run(options, platform, cache, store, lookups, spool=spool)


def _cache(options: CompileOptions, paths: list[Path]) -> BuildCache | None:
    """The build cache, which may not be inside the output folder: a pull request can edit
    that folder, and so could forge what the cache says was built."""
    if not options.cache:
        return None
    root = options.cache_dir or default_cache_dir()
    if cache_inside(root, options.out_dir):
        refuse_unsafe_out(options.out_dir, [display_path(p) for p in paths])  # the first reason
        raise UsageError(
            problem=f"the build cache {root} is inside the output folder {options.out_dir}",
            hint="pass --cache-dir outside it, or --no-cache",
        )
    return BuildCache(root)


def _validate(run: _Run) -> list[Diagnostic]:
    """Validate every spec without a record (and any reused one a name clash must locate);
    the validation warnings of reused specs come from their records."""
    misses = [i for i, lookup in enumerate(run.lookups) if lookup.record is None]
    run.options.progress.stage("validate", len(misses))
    keep = len(misses) < 2 or (run.options.jobs or default_jobs()) <= 1  # built in-process
    for index in misses:
        run.validated[index] = _validate_one(run, index, keep)
    while (clash := _clash(run)) is not None:  # a reused spec named like an earlier one
        run.lookups[clash].record = None
        run.validated[clash] = _Checked.of(validate_spec(run.lookups[clash].path, run.platform))
    diagnostics: list[Diagnostic] = []
    first: dict[str, str] = {}
    for index, lookup in enumerate(run.lookups):
        if lookup.record is not None:
            diagnostics += validation_diagnostics(lookup.record)
            first.setdefault(lookup.record.name, lookup.shown)
            continue
        item = run.validated[index]
        diagnostics += item.diagnostics
        if item.name is not None and item.name in first:
            where = _name_location(run, index)  # positions are found only when needed
            diagnostics.append(name_taken(item.name, first[item.name], where))
        elif item.name is not None:
            first[item.name] = item.path
    return diagnostics


def _name_location(run: _Run, index: int) -> Location:
    """Where a spec's metadata.name is: its file loaded again (nothing resolved)."""
    source, _ = read_source(run.lookups[index].path)
    loaded = load(source)[0] if source is not None else None
    return loaded.locate(("metadata", "name")) if loaded else Location(run.lookups[index].shown)


def _validate_one(run: _Run, index: int, keep: bool) -> _Checked:
    """Validate a spec; with `keep` its resolved spec stays for an in-process build to plan
    from (resolved once). A pool's workers validate their spec again instead: holding every
    resolved spec until the fork would make memory grow with the number of specs."""
    validated = validate_spec(run.lookups[index].path, run.platform)
    run.options.progress.advance(validated.path)
    if keep:
        run.kept[index] = validated
    return _Checked.of(validated)


def _clash(run: _Run) -> int | None:
    """A reused spec whose name an earlier spec has: its CHK016 needs its file parsed."""
    seen: set[str] = set()
    for index, lookup in enumerate(run.lookups):
        if lookup.record is not None:
            name = lookup.record.name
            if name in seen:
                return index
        else:
            found = run.validated[index].name
            if found is None:
                continue
            name = found
        seen.add(name)
    return None


def _setup(
    run: _Run, inputs: RunInputs, template_dirs: list[Path], targets: list[Target]
) -> BuildSetup:
    return BuildSetup(
        platform_path=run.options.platform,
        template_dirs=tuple(template_dirs),
        targets=tuple(targets),
        crd_dirs=tuple(run.options.crd_dirs),
        blobs=run.store.root,
        core_digest=inputs.core_digest(),
        cache=run.cache.base if run.cache is not None else None,
    )


def _build(run: _Run, setup: BuildSetup) -> None:
    """Build every validated spec not built yet, into `run.built`."""
    progress = run.options.progress
    jobs = []
    for index, item in sorted(run.validated.items()):
        assert item.sha256 is not None  # valid: the run stopped otherwise
        if index not in run.built.builds:
            jobs.append(BuildJob(index, run.lookups[index].path, item.sha256))
    progress.stage("render", len(jobs))
    workers = run.options.jobs or default_jobs()
    kept = {job.index: run.kept[job.index] for job in jobs if job.index in run.kept}
    built = build_missing(setup, jobs, kept, workers, lambda b: progress.advance(b.spec_path))
    progress.stage("verify", 1)  # one step: batch verifiers see every file built at once
    verify_batch(built, setup, workers)
    progress.advance(f"{sum(len(b.files) for b in built.builds.values())} files")
    run.built.builds.update(built.builds)
    run.built.run_diagnostics += built.run_diagnostics
    run.built.unverified |= built.unverified


def _assemble(run: _Run, diagnostics: list[Diagnostic]) -> CompileResult:
    """Every spec's files and facts in discovery order, reused or built; records stored."""
    built = run.built
    files: list[BuiltFile] = []
    planned: dict[str, SpecState] = {}
    reuse: dict[str, str] = {}
    found: list[Diagnostic] = list(built.run_diagnostics)
    unverified = set(built.unverified)
    for index, lookup in enumerate(run.lookups):
        if lookup.record is not None:
            record = lookup.record
            files += files_of(record, run.store)
            planned[record.spec_path] = SpecState(record.spec_sha256)
            found += build_diagnostics(record)
            unverified.update(record.unverified)
            reuse[record.spec_path] = "input"
            continue
        spec = built.builds[index]
        files += [BuiltFile.of(f, spec.spec_path, spec.spec_sha256, run.store) for f in spec.files]
        planned[spec.spec_path] = SpecState(spec.spec_sha256)
        found += spec.diagnostics
        unverified.update(spec.unverified)
        reuse[spec.spec_path] = "plan" if spec.reused else "built"
        _remember(run, built, index, spec)
    result = CompileResult(
        [*diagnostics, *sorted(found, key=lambda d: d.sort_key())],
        files,
        unverified=sorted(unverified),
        spec_count=len(run.lookups),
    )
    result.planned, result.reuse = planned, reuse
    return result


def _remember(run: _Run, built: BuildRun, index: int, spec: SpecBuild) -> None:
    item = run.validated[index]
    if run.cache is None or not spec.ok or not built.complete or item.name is None:
        return
    record = record_of(spec, item.name, item.diagnostics)
    store_records(run.cache, run.lookups[index], spec, record)
    run.recorded.add(index)


def _settle(run: _Run, found: Discovery, template_dirs: list[Path], result: CompileResult) -> None:
    """Record the folder as settled (compiler.settled) when nothing is left to write and every
    spec's build is in the cache, so that the next compile with nothing changed is a lookup."""
    plan = result.write_plan
    if run.cache is None or plan is None or plan.conflicts or plan.inconsistent:
        return
    if run.options.mode != "write" and not plan.is_current:
        return
    if any(look.record is None and i not in run.recorded for i, look in enumerate(run.lookups)):
        return  # a spec built but not recorded (e.g. unverified) is built again next time
    specs = [SpecKey(look.path, look.shown, look.sha256, look.key) for look in run.lookups]
    settled.remember(run.options, template_dirs, found, specs, result)


def _ci_notes(files: list[BuiltFile], platform: LoadedPlatform | None) -> list[str]:
    """A note when the CI workflows written install a specops no index may serve."""
    if not any(f.target == "ci" for f in files):
        return []
    defaults = apply_platform_defaults(Defaults(), platform) if platform else Defaults()
    if defaults.ci.specops_requirement is not None:
        return []
    note = running_install_source().note
    return [note] if note else []


def _check_unique_paths(files: list[BuiltFile]) -> None:
    seen: dict[str, BuiltFile] = {}
    for file in files:
        other = seen.setdefault(file.path, file)
        if other is not file:
            raise UsageError(
                problem=f"two outputs write {file.path}: {other.spec_path} "
                f"({other.template}) and {file.spec_path} ({file.template})",
                hint="two specs may not share a metadata.name",
            )


def _write(run: _Run, targets: list[Target], result: CompileResult, retry: bool) -> set[int]:
    """Plan the writes of the built files into the output folder, and apply, check or diff.

    With `retry`, returns (applying nothing) the reused specs whose files to write the cache
    no longer holds intact; they must be built."""
    options = run.options
    scope = Scope(
        frozenset(t.name for t in targets),
        frozenset(lookup.shown for lookup in run.lookups),
        tuple(display_path(p) for p in options.paths if p.is_dir()),
    )
    index = run.cache.stat_index(options.out_dir) if run.cache is not None else None
    memo = None
    if run.cache is not None:
        memo = ManifestMemo(run.cache.folder_file("manifests", options.out_dir))
    specs = {path: state.sha256 for path, state in result.planned.items()}
    wanted = wanted_digest(result.files, specs, (sorted(scope.targets), sorted(scope.specs)))
    known = (lambda raw, owned: memo.recall(wanted, raw, owned, specs)) if memo else None
    spec_paths = [lookup.shown for lookup in run.lookups]
    with output_session(options.out_dir, options.mode == "write", spec_paths):
        disk = DiskHasher(options.out_dir, index)
        plan = plan_writes(options.out_dir, result.files, scope, result.planned, disk, known)
        result.write_plan = plan
        if retry and options.mode != "check" and (unwritable := _unwritable(run, result, plan)):
            return unwritable
        if options.mode == "write":
            apply_to_disk(plan)
            disk.forget([*plan.new, *plan.changed, *plan.prune])
        elif options.mode == "check":
            result.stale = stale_report(plan)
        else:
            result.diff = unified_diff(plan)
    if index is not None:
        index.save()
    if memo is not None and _settled(plan, options.mode):
        _remember_manifest(memo, wanted, plan, scope, specs)
    return set()


def _unwritable(run: _Run, result: CompileResult, plan: WritePlan) -> set[int]:
    """The reused specs with a file to write whose blob is missing or changed."""
    index = {lookup.shown: i for i, lookup in enumerate(run.lookups)}
    return {
        index[file.spec_path]
        for file in [*plan.new.values(), *plan.changed.values()]
        if result.reuse.get(file.spec_path) != "built" and not file.store.intact(file.sha256)
    }


def _settled(plan: WritePlan, mode: str) -> bool:
    """Whether the folder's manifest is now the plan's (so the memo may say so)."""
    clean = not plan.conflicts and not plan.inconsistent
    return clean and (mode == "write" or not plan.manifest_changed)


def _remember_manifest(
    memo: ManifestMemo, wanted: str, plan: WritePlan, scope: Scope, specs: dict[str, str]
) -> None:
    kept = {p: e for p, e in plan.manifest.items() if not scope.covers(e)}
    kept_specs = {p: s.sha256 for p, s in plan.specs.items() if p not in specs}
    memo.remember(wanted, plan.manifest_bytes, kept, kept_specs)
