"""What a compile is asked (`CompileOptions`) and what it returns (`CompileResult`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from compiler.diagnostics import Diagnostic, Location, error, has_errors
from compiler.errors import TemplateError
from compiler.progress import NO_PROGRESS, Progress
from compiler.sources import display_path

if TYPE_CHECKING:  # the compile stages load these when a compile runs: validate never does
    from compiler.build_cache import BuiltFile
    from compiler.platform import LoadedPlatform
    from compiler.write import SpecState, WritePlan

Mode = Literal["write", "check", "diff"]


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
    jobs: int | None = None  # processes that build specs; None: one per CPU
    cache: bool = True  # reuse what earlier compiles built (compiler.build_cache)
    cache_dir: Path | None = None  # None: $SPECOPS_CACHE_DIR, else the user's cache folder
    # A folder settled since a compile on this machine with the same inputs may be answered
    # from the cache's record of it (compiler.settled): the result then has a `file_count`
    # but no `files`. The CLI, which only counts them, asks for it.
    settled_shortcut: bool = False


@dataclass
class CompileResult:
    diagnostics: list[Diagnostic]
    files: list[BuiltFile] = field(default_factory=list)
    write_plan: WritePlan | None = None
    stale: list[str] = field(default_factory=list)
    diff: str = ""
    unverified: list[str] = field(default_factory=list)
    spec_count: int = 0
    notes: list[str] = field(default_factory=list)  # said on stderr, never an error
    planned: dict[str, SpecState] = field(default_factory=dict)  # each spec's hash and facts
    spool: object = None  # keeps a run's temporary blob store (no cache) while files are read
    # How each spec's files were had, by spec path: "input" (its inputs are unchanged since a
    # compile on this machine), "plan" (its plan and templates are) or "built".
    reuse: dict[str, str] = field(default_factory=dict)
    # Answered from the record of a settled folder (nothing was built): the files it found up
    # to date; None for a compile.
    settled_files: int | None = None

    @property
    def settled(self) -> bool:
        return self.settled_files is not None

    @property
    def file_count(self) -> int:
        """The generated files this compile is about (what `files` holds, or would)."""
        return self.settled_files if self.settled_files is not None else len(self.files)

    @property
    def ok(self) -> bool:
        return not has_errors(self.diagnostics) and not self.stale


def template_diagnostic(exc: TemplateError) -> Diagnostic:
    """A broken target.yaml or layer as a TPL001 diagnostic at its file and line."""
    where = Location(display_path(Path(exc.template)), exc.line, 1 if exc.line else 0)
    return error("TPL001", exc.problem, where)


def layered_template_dirs(given: list[Path], platform: LoadedPlatform | None) -> list[Path]:
    """Highest priority first: --templates directories, the platform's, then the built-in one."""
    from compiler.targets import builtin_templates

    from_platform = platform.template_dirs if platform is not None else []
    return [*given, *from_platform, builtin_templates()]
