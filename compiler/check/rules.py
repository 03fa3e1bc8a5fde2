"""The rule registry of the semantic checks: each rule module registers its rules with `@rule`."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator

from compiler.diagnostics import Diagnostic
from compiler.loader import LoadedSpec
from compiler.model.spec import MLPipeline

Rule = Callable[[MLPipeline, LoadedSpec], Iterable[Diagnostic]]
RULES: list[Rule] = []


def rule(func: Rule) -> Rule:
    RULES.append(func)
    return func


def duplicates(names: list[str]) -> Iterator[tuple[int, str]]:
    """(index, name) of every name that appeared earlier in the list."""
    seen: set[str] = set()
    for index, name in enumerate(names):
        if name in seen:
            yield index, name
        seen.add(name)
