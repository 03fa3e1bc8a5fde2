"""The incremental build: each spec is looked up by its input key, and only the specs whose
inputs changed are validated, planned, rendered and verified, in a pool of processes.

A spec is reused when its input key (compiler.fingerprint) has a record in the build cache
(compiler.build_cache) for the same spec file and, where its files must be written, the blobs
are intact. Any other spec is built (compiler.build_worker): a build first looks for its plan's
record, so that a platform or template change rebuilds only the specs it changes. Batch
verifiers (check-jsonschema, zizmor) then run once over the files of every spec built, and a
spec's record is stored only when its build is complete and clean of errors.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from compiler.build_cache import (
    BlobStore,
    BuildCache,
    BuiltFile,
    SpecRecord,
    diagnostic_of,
    diagnostic_record,
    record_is_safe,
)
from compiler.build_worker import BuildJob, BuildSetup, SpecBuild, prepared, run_builds
from compiler.diagnostics import Diagnostic
from compiler.fingerprint import spec_keys
from compiler.render import RenderedFile
from compiler.validation import ValidatedSpec
from compiler.verify import VerifyContext, verify_batches


def default_jobs() -> int:
    """The processes a compile uses by default: the CPUs this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


@dataclass
class SpecLookup:
    """One discovered spec: its bytes' hash, its input key and the record found for it."""

    path: Path
    shown: str
    sha256: str | None  # None: unreadable or an unsafe name (validation says why)
    key: str | None
    record: SpecRecord | None = None


def look_up(paths: list[Path], run_digest: str, cache: BuildCache | None) -> list[SpecLookup]:
    """Every spec's input key and, with a cache, its record (checked to be this spec's)."""
    found = []
    for spec in spec_keys(paths, run_digest):
        lookup = SpecLookup(spec.path, spec.shown, spec.sha256, spec.key)
        if cache is not None and lookup.key is not None and lookup.sha256 is not None:
            record = cache.record("input", lookup.key)
            if record is not None and record_is_safe(record, lookup.shown, lookup.sha256):
                lookup.record = record
        found.append(lookup)
    return found


@dataclass
class BuildRun:
    """The specs built in one compile, and what their batch verification added."""

    builds: dict[int, SpecBuild] = field(default_factory=dict)
    run_diagnostics: list[Diagnostic] = field(default_factory=list)  # of no one spec
    unverified: set[str] = field(default_factory=set)

    @property
    def complete(self) -> bool:
        """Whether every file was verified and every finding belongs to a spec."""
        return not self.run_diagnostics and not self.unverified


def build_missing(
    setup: BuildSetup,
    jobs: list[BuildJob],
    validated: Mapping[int, ValidatedSpec],
    workers: int,
    done: Callable[[SpecBuild], None],
) -> BuildRun:
    """Build `jobs` (specs validated by the parent) in up to `workers` processes."""
    with prepared(setup, validated):
        builds = run_builds(jobs, workers, done)
    return BuildRun({b.index: b for b in builds})


def verify_batch(run: BuildRun, setup: BuildSetup, workers: int = 1) -> None:
    """Run each batch verifier once over the files of every spec built; a finding goes to the
    spec whose file it names."""
    store = BlobStore(setup.blobs)
    owner: dict[str, SpecBuild] = {}
    rendered: list[RenderedFile] = []
    for built in run.builds.values():
        for record, verify in built.batch:
            owner[record.path] = built
            content = store.read(record.sha256).decode("utf-8")
            rendered.append(
                RenderedFile(
                    record.path,
                    content,
                    record.target,
                    record.template,
                    record.template_sha256,
                    built.spec_path,
                    built.spec_sha256,
                    verify,
                )
            )
    if not rendered:
        return
    context = VerifyContext(crd_dirs=setup.crd_dirs)
    for diagnostic in verify_batches(rendered, context, workers):
        target = owner.get(diagnostic.location.file)
        (target.diagnostics if target else run.run_diagnostics).append(diagnostic)
    run.unverified = set(context.unverified)


def record_of(built: SpecBuild, name: str, validation: list[Diagnostic]) -> SpecRecord:
    return SpecRecord(
        format=1,
        spec_path=built.spec_path,
        spec_sha256=built.spec_sha256,
        name=name,
        files=built.files,
        validation=[diagnostic_record(d) for d in validation],
        build=[diagnostic_record(d) for d in built.diagnostics],
        unverified=built.unverified,
        templates=built.templates,
        plan_key=built.plan_key,
    )


def store_records(
    cache: BuildCache, lookup: SpecLookup, built: SpecBuild, record: SpecRecord
) -> None:
    """Remember a clean build by its input key and, when what it read is known, by its plan."""
    if lookup.key is not None and lookup.sha256 == built.spec_sha256:
        cache.store("input", lookup.key, record)
    if not built.reused:
        cache.store("plan", built.plan_key, record)


def files_of(record: SpecRecord, store: BlobStore) -> list[BuiltFile]:
    return [BuiltFile.of(f, record.spec_path, record.spec_sha256, store) for f in record.files]


def build_diagnostics(record: SpecRecord) -> list[Diagnostic]:
    return [diagnostic_of(d) for d in record.build]


def validation_diagnostics(record: SpecRecord) -> list[Diagnostic]:
    return [diagnostic_of(d) for d in record.validation]
