"""CHK006 for the estimator: only a catalogued class (or one the platform adds) of the spec's
framework and task, with only its constructor parameters; CHK020 (compiler.check.params) for
the values of those parameters.

The training step imports model.estimator by its dotted path and calls it with model.params, so
a spec from a pull request must not be able to name anything else: a function that runs a shell
command, a private helper, another library's class. The catalog is read from JSON (see
compiler.catalog); the libraries themselves are never imported here.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator, Sequence

from compiler.catalog import TASK_OF_SPEC, Estimator, allowed_estimators, declarations, suggest
from compiler.check.params import param_values
from compiler.diagnostics import Diagnostic, error
from compiler.loader import LoadedSpec
from compiler.model.spec import BUILTIN_FRAMEWORKS, MLPipeline

CATALOG_HINT = (
    "pick a {task} from the {framework} estimator catalog (compiler/catalog/estimators.json), "
    "or ask the platform team to add the class under estimators.extra in platform.yaml"
)
_SHOWN = 8  # parameter names a hint lists


def estimator_choice(
    spec: MLPipeline, loaded: LoadedSpec, extra: Sequence[Estimator] = ()
) -> Iterator[Diagnostic]:
    """The spec's estimator is allowed for its framework and task, and so are its params."""
    model = spec.model
    if model.framework == "custom" or model.estimator is None:
        return  # framework_fields reports a missing estimator
    allowed = allowed_estimators(model.framework, extra)
    chosen = allowed.get(model.estimator)
    task = TASK_OF_SPEC[model.task]
    if chosen is None:
        yield _not_allowed(model.estimator, model.framework, task, allowed, extra, loaded)
    elif chosen.task != task:
        yield _wrong_task(chosen, model.task, task, allowed, loaded)
    else:
        yield from _unknown_params(chosen, list(model.params), loaded)
        declared = (
            declarations(model.framework, chosen.path) if chosen.source == "catalog" else None
        )
        if declared is not None:  # a platform's extra class records no parameter values
            yield from param_values(chosen.path, declared, model.params, loaded)


def _not_allowed(
    path: str,
    framework: str,
    task: str,
    allowed: dict[str, Estimator],
    extra: Sequence[Estimator],
    loaded: LoadedSpec,
) -> Diagnostic:
    where = loaded.locate(("model", "estimator"))
    for other in BUILTIN_FRAMEWORKS:
        if other != framework and path in allowed_estimators(other, extra):
            return error(
                "CHK006",
                f"estimator {path!r} belongs to {other}, but model.framework is {framework}",
                where,
                f"set model.framework: {other}, or pick an estimator from {framework}",
            )
    same_task = [p for p, e in allowed.items() if e.task == task]
    close = suggest(path, same_task) or suggest(path, allowed)
    hint = _did_you_mean(close) or CATALOG_HINT.format(task=task, framework=framework)
    return error(
        "CHK006", f"estimator {path!r} is not in the {framework} estimator catalog", where, hint
    )


def _wrong_task(
    chosen: Estimator, spec_task: str, task: str, allowed: dict[str, Estimator], loaded: LoadedSpec
) -> Diagnostic:
    same_task = [p for p, e in allowed.items() if e.task == task]
    close = difflib.get_close_matches(chosen.path, same_task, n=3, cutoff=0.8)
    return error(
        "CHK006",
        f"estimator {chosen.path!r} is a {chosen.task}, but model.task is {spec_task}",
        loaded.locate(("model", "estimator")),
        _did_you_mean(close) or f"pick a {task}, or set model.task to match the estimator",
    )


def _unknown_params(
    chosen: Estimator, names: list[str], loaded: LoadedSpec
) -> Iterator[Diagnostic]:
    for name in names:
        if name in chosen.params:
            continue
        close = difflib.get_close_matches(name, chosen.params, n=3, cutoff=0.6)
        where = (
            "the catalog" if chosen.source == "catalog" else f"estimators.extra in {chosen.source}"
        )
        yield error(
            "CHK006",
            f"{name!r} is not a constructor parameter of {chosen.path} (per {where})",
            loaded.locate(("model", "params", name), key=True),
            _did_you_mean(close) or _parameters(chosen),
        )


def _parameters(chosen: Estimator) -> str:
    if not chosen.params:
        return "it takes no parameters from a spec"
    shown = ", ".join(chosen.params[:_SHOWN])
    more = f", … ({len(chosen.params)} in all)" if len(chosen.params) > _SHOWN else ""
    return f"its parameters: {shown}{more}"


def _did_you_mean(paths: Sequence[str]) -> str:
    if not paths:
        return ""
    return "did you mean " + " or ".join(repr(p) for p in paths) + "?"
