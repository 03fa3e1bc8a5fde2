"""Stage 4: semantic rules over a valid model. Each rule is a small function with a stable code.

Rules see the typed spec (what is true) and the loaded data (where it is written). The rule
modules register themselves with `@rule` (compiler.check.rules) when this package imports them.
What needs the platform as well reads the resolved spec instead (compiler.platform.checks).
"""

from __future__ import annotations

from collections.abc import Sequence

from compiler.catalog import Estimator

# they register rules (compiler.check.secrets is no rule: api.validate_spec runs it before the
# model, on the loaded data)
from compiler.check import (
    batch,
    data,
    delivery,
    features,
    placement,
    preprocessing,
    requirements,
    training,
)
from compiler.check.estimators import estimator_choice
from compiler.check.rules import RULES, Rule, duplicates, rule
from compiler.diagnostics import Diagnostic
from compiler.loader import LoadedSpec
from compiler.model.spec import MLPipeline


def run_checks(
    spec: MLPipeline, loaded: LoadedSpec, extra_estimators: Sequence[Estimator] = ()
) -> list[Diagnostic]:
    """Every rule's findings for one spec; `extra_estimators` are the ones a platform adds to
    the estimator catalog."""
    found = [d for check in RULES for d in check(spec, loaded)]
    return found + list(estimator_choice(spec, loaded, extra_estimators))


__all__ = [
    "RULES",
    "Rule",
    "batch",
    "data",
    "delivery",
    "duplicates",
    "estimator_choice",
    "features",
    "placement",
    "preprocessing",
    "requirements",
    "rule",
    "run_checks",
    "training",
]
