"""One spec's build (plan, render, kfp compile, per-file verification), in this process or in
a worker of a pool: what it returns is small and picklable, its files go to a blob store.

A pool is forked on Linux after the parent validated the specs and imported kfp and Jinja, so
a worker starts warm and reads its spec from the memory it shares with the parent; elsewhere
(spawn) a worker validates its spec again. Workers never print: their standard streams are
/dev/null, so a pipe the parent writes to closes when the parent ends.
"""

from __future__ import annotations

import multiprocessing
import os
import sys
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from compiler.build_cache import BlobStore, FileRecord, SpecRecord, paths_are_safe
from compiler.diagnostics import Diagnostic, has_errors
from compiler.facts_file import FACTS_TEMPLATE, FACTS_TEMPLATE_SHA256, facts_bytes, facts_path
from compiler.facts_record import FactsRecord, record_facts
from compiler.fingerprint import plan_key
from compiler.manifest import FACTS_TARGET
from compiler.planner import build_plan
from compiler.platform import LoadedPlatform, load_platform
from compiler.render import RenderedFile, Renderer
from compiler.targets import Target
from compiler.validation import ValidatedSpec, validate_spec
from compiler.verify import VerifyContext, uses_batch_verifier, verify_files


@dataclass(frozen=True, slots=True)
class BuildSetup:
    """What every spec's build in one compile shares."""

    platform_path: Path | None
    template_dirs: tuple[Path, ...]
    targets: tuple[Target, ...]
    crd_dirs: tuple[Path, ...]
    blobs: Path  # the blob store's root
    core_digest: str
    cache: Path | None  # the build cache's root, None with --no-cache


@dataclass(frozen=True, slots=True)
class BuildJob:
    """A spec to build: `paths[index]` of the run, validated by the parent."""

    index: int
    path: Path
    spec_sha256: str


@dataclass
class SpecBuild:
    """What one spec's build produced; `batch` lists its files a batch verifier still reads."""

    index: int
    spec_path: str
    spec_sha256: str
    files: list[FileRecord] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    unverified: list[str] = field(default_factory=list)
    templates: dict[str, str] = field(default_factory=dict)  # each template read, its sha256
    plan_key: str = ""
    batch: list[tuple[FileRecord, tuple[str, ...]]] = field(default_factory=list)
    reused: bool = False  # its plan's record was found: nothing was rendered

    @property
    def ok(self) -> bool:
        return not has_errors(self.diagnostics)


class _Worker:
    """A process's build state: one Jinja environment, one verifier context, one store."""

    def __init__(self, setup: BuildSetup) -> None:
        from compiler.build_cache import BuildCache

        self.setup = setup
        self.platform: LoadedPlatform | None = None
        if setup.platform_path is not None:
            self.platform = load_platform(setup.platform_path)[0]
        self.renderer = Renderer(list(setup.template_dirs))
        self.context = VerifyContext(crd_dirs=setup.crd_dirs)
        self.store = BlobStore(setup.blobs)
        self.cache = BuildCache(setup.cache) if setup.cache is not None else None


_PR_SET_PDEATHSIG = 1  # linux/prctl.h

# Set by the parent before it forks a pool (or builds in-process): the specs it validated.
_VALIDATED: dict[int, ValidatedSpec] = {}
_SETUP: list[BuildSetup] = []
_STATE: list[_Worker] = []


def _worker() -> _Worker:
    if not _STATE:
        _STATE.append(_Worker(_SETUP[0]))
    return _STATE[0]


def build_one(job: BuildJob) -> SpecBuild:
    """Plan, render, compile and verify one spec; its plan's cached record when it has one."""
    worker = _worker()
    item = _VALIDATED.get(job.index)
    if item is None:  # a spawned worker: validate it again
        item = validate_spec(job.path, worker.platform)
    result = SpecBuild(job.index, item.path, job.spec_sha256)
    resolved, loaded = item.resolved, item.loaded
    if resolved is None or loaded is None or loaded.source.sha256 != job.spec_sha256:
        result.diagnostics = [d for d in item.diagnostics if d.is_error] or _changed(item.path)
        return result
    plan = build_plan(resolved)
    facts = _spool_facts(worker.store, item.path, record_facts(plan), plan.name)
    targets = list(worker.setup.targets)
    result.plan_key = plan_key(worker.setup.core_digest, plan, [t.definition for t in targets])
    if (reused := _reuse(worker, result)) is not None:
        return reused
    result.files.append(facts)
    rendered, problems, read = worker.renderer.render_reading(plan, targets)
    before = set(worker.context.unverified)
    result.diagnostics = [*problems, *verify_files(rendered, worker.context, batches=False)]
    result.unverified = sorted(worker.context.unverified - before)
    result.templates = {name: worker.renderer.source_digest(name) for name in sorted(read)}
    for file in rendered:
        record = _spool(worker.store, file)
        result.files.append(record)
        if uses_batch_verifier(file):
            result.batch.append((record, file.verify))
    return result


def _changed(path: str) -> list[Diagnostic]:
    from compiler.diagnostics import Location, error

    return [error("SPEC006", "the spec file changed while it was compiled", Location(path))]


def _reuse(worker: _Worker, result: SpecBuild) -> SpecBuild | None:
    """The build of an equal plan whose templates are unchanged, with its blobs intact."""
    if worker.cache is None:
        return None
    record = worker.cache.record("plan", result.plan_key)
    if record is None or record.spec_path != result.spec_path or not paths_are_safe(record):
        return None
    if not _current(worker, record):
        return None
    if not all(worker.cache.intact(f.sha256) for f in record.files):
        return None
    from compiler.build_cache import diagnostic_of

    result.files = list(record.files)
    result.diagnostics = [diagnostic_of(d) for d in record.build]
    result.unverified = list(record.unverified)
    result.templates = dict(record.templates)
    result.reused = True
    return result


def _current(worker: _Worker, record: SpecRecord) -> bool:
    """Whether every template the recorded build read still has the source it read."""
    for name, digest in record.templates.items():
        try:
            if worker.renderer.source_digest(name) != digest:
                return False
        except Exception:  # gone, unreadable or refused: not current
            return False
    return True


def _spool_facts(store: BlobStore, spec_path: str, facts: FactsRecord, name: str) -> FileRecord:
    """The spec's facts file (compiler.facts_file), the first of its files."""
    return FileRecord(
        path=facts_path(name),
        sha256=store.put(facts_bytes(spec_path, facts)),
        target=FACTS_TARGET,
        template=FACTS_TEMPLATE,
        template_sha256=FACTS_TEMPLATE_SHA256,
    )


def _spool(store: BlobStore, file: RenderedFile) -> FileRecord:
    digest = store.put(file.content.encode("utf-8"))
    return FileRecord(
        path=file.path,
        sha256=digest,
        target=file.target,
        template=file.template,
        template_sha256=file.template_sha256,
    )


# --- running many ----------------------------------------------------------------------------


def _quiet(parent: int) -> None:
    """A worker's streams go nowhere (it reports through its results only), and it dies with
    its parent: a killed compile must not leave workers behind holding the queue open."""
    _die_with(parent)
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(null, fd)
    sys.stdout = sys.stderr = open(os.devnull, "w")  # noqa: SIM115 (new locks, not the parent's)


def _die_with(parent: int) -> None:
    if sys.platform.startswith("linux"):
        import ctypes
        import signal

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:  # the parent died before the line above took effect
        os._exit(1)


def _spawn_init(setup: BuildSetup, parent: int) -> None:
    _quiet(parent)
    _SETUP[:] = [setup]


@contextmanager
def prepared(setup: BuildSetup, validated: Mapping[int, ValidatedSpec]) -> Iterator[None]:
    """Make `setup` and the parent's validated specs what `build_one` reads, for the run."""
    _SETUP[:] = [setup]
    _STATE.clear()
    _VALIDATED.clear()
    _VALIDATED.update(validated)
    try:
        yield
    finally:
        _VALIDATED.clear()
        _STATE.clear()
        _SETUP.clear()


def run_builds(
    jobs: list[BuildJob], workers: int, done: Callable[[SpecBuild], None]
) -> list[SpecBuild]:
    """Build every job (in a pool of `workers` processes when that helps); results in job
    order; `done` hears of each as it finishes. Call inside `prepared`."""
    if workers <= 1 or len(jobs) < 2:
        results = []
        for job in jobs:
            results.append(build_one(job))
            done(results[-1])
        return results
    by_index: dict[int, SpecBuild] = {}
    with _pool(min(workers, len(jobs))) as pool:
        futures: list[Future[SpecBuild]] = [pool.submit(build_one, job) for job in jobs]
        for future in as_completed(futures):
            built = future.result()
            by_index[built.index] = built
            done(built)
    return [by_index[job.index] for job in jobs]


@contextmanager
def _pool(size: int) -> Iterator[ProcessPoolExecutor]:
    if sys.platform.startswith("linux"):
        _worker()  # warm before the fork: every worker starts with Jinja and kfp loaded
        _warm_kfp()
        context = multiprocessing.get_context("fork")
        pool = ProcessPoolExecutor(
            size, mp_context=context, initializer=_quiet, initargs=(os.getpid(),)
        )
    else:
        context = multiprocessing.get_context("spawn")
        pool = ProcessPoolExecutor(
            size, mp_context=context, initializer=_spawn_init, initargs=(_SETUP[0], os.getpid())
        )
    try:
        yield pool
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _warm_kfp() -> None:
    if any(t.definition.outputs and _has_kfp(t) for t in _SETUP[0].targets):
        import kfp.dsl  # noqa: F401  (what the kfp-compile post-step imports)


def _has_kfp(target: Target) -> bool:
    return any(
        o.post is not None and o.post.step == "kfp-compile" for o in target.definition.outputs
    )
