"""How long work reports its progress: the API calls a `Progress`; the CLI decides what it shows.

A stage is a named run over a known number of items (`validate` over the spec files, `render`
over the valid specs, `verify` over the rendered files as one step). Nothing here prints.
"""

from __future__ import annotations

from typing import Protocol


class Progress(Protocol):
    def stage(self, name: str, total: int) -> None:
        """A new stage of `total` items starts."""

    def advance(self, item: str) -> None:
        """One item of the current stage (a spec's path, a count of files) is done."""


class NoProgress:
    """The default: reports nowhere."""

    def stage(self, name: str, total: int) -> None:
        pass

    def advance(self, item: str) -> None:
        pass


NO_PROGRESS = NoProgress()
