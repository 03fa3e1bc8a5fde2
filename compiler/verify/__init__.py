"""Stage 7: every rendered file is checked by the validator of the tool that consumes it.

A target's target.yaml names verifiers per output; this package holds the fixed registry. Each
verifier module registers itself on import and imports its heavy dependencies lazily.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from compiler.diagnostics import Diagnostic, Location, error

if TYPE_CHECKING:
    from compiler.render import RenderedFile


@dataclass
class VerifyContext:
    """Options and per-run caches shared by verifiers."""

    crd_dirs: tuple[Path, ...] = ()  # CRDs that win over the shipped ones (compiler.verify.crds)
    cache: dict[str, object] = field(default_factory=dict)
    unverified: set[str] = field(default_factory=set)  # e.g. kinds with no schema available


Verifier = Callable[["RenderedFile", VerifyContext], list[Diagnostic]]
VERIFIERS: dict[str, Verifier] = {}
# A batch verifier sees every file that names it at once: one tool process per run, not per file.
BatchVerifier = Callable[[list["RenderedFile"], VerifyContext], list[Diagnostic]]
BATCH_VERIFIERS: dict[str, BatchVerifier] = {}


def verifier(name: str) -> Callable[[Verifier], Verifier]:
    def register(func: Verifier) -> Verifier:
        VERIFIERS[name] = func
        return func

    return register


def batch_verifier(name: str) -> Callable[[BatchVerifier], BatchVerifier]:
    def register(func: BatchVerifier) -> BatchVerifier:
        BATCH_VERIFIERS[name] = func
        return func

    return register


def file_location(file: RenderedFile, line: int = 0, column: int = 0) -> Location:
    return Location(file.path, line, column)


def verify_files(
    files: list[RenderedFile], context: VerifyContext, batches: bool = True
) -> list[Diagnostic]:
    """Run each file's verifiers; an unknown verifier name is a target definition error.
    With `batches` False the batch verifiers are left for `verify_batches`."""
    _load_verifiers()
    diagnostics: list[Diagnostic] = []
    for file in files:
        for name in file.verify:
            if name in BATCH_VERIFIERS:
                continue
            check = VERIFIERS.get(name)
            if check is None:
                diagnostics.append(
                    error(
                        "VER000",
                        f"unknown verifier {name!r} named by target {file.target}",
                        Location(file.template),
                        hint=f"known: {', '.join(sorted(VERIFIERS))}",
                    )
                )
                continue
            diagnostics.extend(check(file, context))
    return diagnostics + (verify_batches(files, context) if batches else [])


# Files per run of a batch verifier's tool: one process for a repository's worth of specs,
# but not one for thousands of files, whose memory the tool would hold at once (a tool run over
# the 2,000 workflows of 1,000 specs peaked near 400 MB).
BATCH_FILES = 256


def verify_batches(
    files: list[RenderedFile], context: VerifyContext, workers: int = 1
) -> list[Diagnostic]:
    """Run each batch verifier over every file that names it, `BATCH_FILES` at a time, up to
    `workers` tool processes at once (each a subprocess: threads only wait for them)."""
    _load_verifiers()
    runs: list[tuple[BatchVerifier, list[RenderedFile]]] = []
    for name, check in BATCH_VERIFIERS.items():
        batch = [file for file in files if name in file.verify]
        runs += [(check, batch[i : i + BATCH_FILES]) for i in range(0, len(batch), BATCH_FILES)]
    if workers <= 1 or len(runs) <= 1:
        return [d for check, chunk in runs for d in check(chunk, context)]
    with ThreadPoolExecutor(max_workers=workers) as pool:
        found = list(pool.map(lambda run: run[0](run[1], context), runs))
    return [d for diagnostics in found for d in diagnostics]


def uses_batch_verifier(file: RenderedFile) -> bool:
    _load_verifiers()
    return any(name in BATCH_VERIFIERS for name in file.verify)


def _load_verifiers() -> None:
    from compiler.verify import (
        basic,  # noqa: F401
        ci,  # noqa: F401
        kfp,  # noqa: F401
        kubernetes,  # noqa: F401
    )
