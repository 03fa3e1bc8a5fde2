"""Post-steps: turn one rendered file into another (e.g. compile pipeline.py into KFP IR).

A small, fixed registry; a target names a step in its target.yaml. Heavy dependencies are
imported inside the step, so that validation never pays for them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from compiler.diagnostics import Diagnostic, Location, error

if TYPE_CHECKING:
    from compiler.plan import Plan
    from compiler.render import RenderedFile

PostStep = Callable[["RenderedFile", "Plan"], tuple[str | None, list[Diagnostic]]]
POST_STEPS: dict[str, PostStep] = {}


def post_step(name: str) -> Callable[[PostStep], PostStep]:
    def register(func: PostStep) -> PostStep:
        POST_STEPS[name] = func
        return func

    return register


def run_post_step(name: str, file: RenderedFile, plan: Plan) -> tuple[str | None, list[Diagnostic]]:
    _load_post_steps()
    step = POST_STEPS.get(name)
    if step is None:
        return None, [
            error(
                "RND002",
                f"unknown post-step {name!r} in target {file.target}",
                Location(file.template),
                hint=f"known: {', '.join(POST_STEPS)}",
            )
        ]
    return step(file, plan)


def _load_post_steps() -> None:
    from compiler import kfp_steps  # noqa: F401  (registers kfp-compile; kfp loads lazily)
