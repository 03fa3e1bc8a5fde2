"""The one exception root for what stops a run; the CLI maps it to an exit code."""

from __future__ import annotations


class SpecopsError(Exception):
    """Base of every error that stops a run. `exit_code` is what the CLI returns."""

    exit_code = 1

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


class UsageError(SpecopsError):
    """The command line itself is wrong (a missing path, an unknown target)."""

    exit_code = 2

    def __init__(self, *, problem: str, hint: str | None = None) -> None:
        super().__init__(problem, hint=hint)


class OutputConflictError(SpecopsError):
    """The output directory holds files specops may not touch."""

    def __init__(self, *, out_dir: str, conflicts: list[str]) -> None:
        lines = "\n".join(f"  - {c}" for c in conflicts)
        super().__init__(
            f"refusing to write {out_dir}: {len(conflicts)} file(s) are not specops' to change\n"
            f"{lines}",
            hint="move or delete these files, or restore them to what specops generated",
        )
        self.conflicts = conflicts


class TemplateError(SpecopsError):
    """A target's template or target.yaml is broken (a platform problem, not a spec problem)."""

    def __init__(self, *, template: str, problem: str, line: int = 0) -> None:
        where = f"{template}:{line}" if line else template
        super().__init__(f"{where}: {problem}")
        self.template = template
        self.problem = problem
        self.line = line
