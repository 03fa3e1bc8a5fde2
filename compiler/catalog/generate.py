"""Regenerate the estimator catalog from the installed scikit-learn, xgboost and lightgbm.

    python -m compiler.catalog.generate --write     # rewrites compiler/catalog/estimators.json
    python -m compiler.catalog.generate             # prints it

The installed versions must be the ones the pipeline components pin (`Defaults.kfp_packages`):
the catalog describes what runs in the training step, so this refuses to describe anything else.
One way to get them without touching the project's environment:

    python -m venv --system-site-packages /tmp/catalog-venv
    /tmp/catalog-venv/bin/pip install scikit-learn==<pin> xgboost==<pin> lightgbm==<pin>
    /tmp/catalog-venv/bin/python -m compiler.catalog.generate --write

The format is described in compiler/catalog/__init__.py. This module imports the libraries; the
validator never imports it.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.metadata
import inspect
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from compiler.catalog import CATALOG_FILE, FORMAT, FRAMEWORK_DISTRIBUTIONS, render
from compiler.catalog.describe import booster_params, sklearn_params
from compiler.plan import Defaults

GENERATED_BY = "python -m compiler.catalog.generate --write"
# Estimators that pass every generic filter below but are not a plain supervised
# classifier/regressor that fits an (n_samples, n_features) table and a single target.
EXCLUDED = {
    "lightgbm.DaskLGBMClassifier": "trains on a Dask cluster",
    "lightgbm.DaskLGBMRegressor": "trains on a Dask cluster",
    "sklearn.cross_decomposition.CCA": "multi-target: n_components=2 needs two targets",
    "sklearn.cross_decomposition.PLSCanonical": "multi-target: n_components=2 needs two targets",
    "sklearn.isotonic.IsotonicRegression": "fits a single feature only",
    "sklearn.semi_supervised.LabelPropagation": "semi-supervised (unlabelled rows are -1)",
    "sklearn.semi_supervised.LabelSpreading": "semi-supervised (unlabelled rows are -1)",
}

# Estimators that refuse a table narrower than some width, which no tag records: the number,
# or the constructor parameter whose value (default from the catalog's params) is the number.
MIN_FEATURES: dict[str, int | str] = {
    "sklearn.cross_decomposition.PLSRegression": "n_components",  # n_components <= n_features
    "sklearn.linear_model.OrthogonalMatchingPursuitCV": 2,  # its CV path needs two features
}

# Estimators whose loss needs a target > 0 for some values of a parameter, which no tag
# records: TweedieRegressor's power > 0 (Poisson, compound Poisson-gamma, gamma, ...).
POSITIVE_Y_WHEN: dict[str, dict[str, Any]] = {
    "sklearn.linear_model.TweedieRegressor": {"param": "power", "above": 0},
}


# The parameter names through which scikit-learn's meta-estimators take the estimators they wrap.
_SUB_ESTIMATOR_PARAMS = ("estimator", "estimators", "base_estimator", "regressor", "classifier")


class VersionMismatchError(RuntimeError):
    """An installed library is not the version the pipeline components pin."""


def pinned_versions(defaults: Defaults | None = None) -> dict[str, str]:
    """Distribution -> the version the training component installs (`name==version` pins)."""
    packages = (defaults or Defaults()).kfp_packages
    result = {}
    for distribution in FRAMEWORK_DISTRIBUTIONS.values():
        name, _, version = packages[distribution].partition("==")
        result[name] = version
    return result


def version_mismatches(pins: dict[str, str]) -> list[str]:
    """One line per framework library whose installed version differs from its pin."""
    found = []
    for distribution, pinned in sorted(pins.items()):
        installed = importlib.metadata.version(distribution)
        if installed != pinned:
            found.append(f"{distribution}: installed {installed}, pinned {pinned}")
    return found


def build_catalog() -> dict[str, Any]:
    """The catalog of the installed libraries, as plain data.

    Raises VersionMismatchError when an installed library is not its pinned version.
    """
    mismatches = version_mismatches(pinned_versions())
    if mismatches:
        raise VersionMismatchError(
            "the installed libraries are not the versions the pipeline components pin ("
            + "; ".join(mismatches)
            + "); install the pins (see compiler/catalog/generate.py) and run again"
        )
    frameworks = {}
    for framework, distribution in sorted(FRAMEWORK_DISTRIBUTIONS.items()):
        estimators = dict(sorted(_entries(framework)))
        frameworks[framework] = {
            "distribution": distribution,
            "version": importlib.metadata.version(distribution),
            "estimators": estimators,
        }
    return {"format": FORMAT, "generated_by": GENERATED_BY, "frameworks": frameworks}


def _entries(framework: str) -> Iterator[tuple[str, dict[str, Any]]]:
    for path, cls in _candidates(framework):
        if path in EXCLUDED:
            continue
        entry = _entry(framework, cls)
        if entry is not None:
            if path in MIN_FEATURES:
                entry["min_features"] = _min_features(MIN_FEATURES[path], entry["params"])
            if path in POSITIVE_Y_WHEN:
                entry["requires_positive_y_when"] = POSITIVE_Y_WHEN[path]
            yield path, entry


def _min_features(rule: int | str, params: dict[str, Any]) -> dict[str, Any]:
    if isinstance(rule, int):
        return {"default": rule, "param": None}
    return {"default": params[rule]["default"], "param": rule}


def _candidates(framework: str) -> Iterator[tuple[str, type]]:
    """(public dotted path, class) of every classifier or regressor class the package exports."""
    if framework == "sklearn":
        from sklearn.utils import all_estimators

        for _, cls in all_estimators(type_filter=["classifier", "regressor"]):
            path = public_path(cls)
            if path is not None:
                yield path, cls
        return
    package = importlib.import_module(framework)
    for name in sorted(getattr(package, "__all__", dir(package))):
        value = getattr(package, name, None)
        if isinstance(value, type) and not name.startswith("_"):
            yield f"{framework}.{name}", value


def public_path(cls: type) -> str | None:
    """`sklearn.ensemble._forest.X` -> `sklearn.ensemble.X`: the public module that exports it."""
    parts = cls.__module__.split(".")
    public = []
    for part in parts:
        if part.startswith("_") or part in ("tests", "externals", "utils"):
            break
        public.append(part)
    while public:
        module = importlib.import_module(".".join(public))
        if getattr(module, cls.__name__, None) is cls:
            return f"{module.__name__}.{cls.__name__}"
        public.pop()
    return None


def _entry(framework: str, cls: type) -> dict[str, Any] | None:
    """The catalog entry of a usable estimator class, or None for anything else."""
    from sklearn.base import BaseEstimator, is_classifier, is_regressor

    if not issubclass(cls, BaseEstimator) or inspect.isabstract(cls):
        return None
    if _required_params(cls) or _wraps_estimators(cls) or _deprecated(cls):
        return None
    instance = cls()
    if is_classifier(instance) == is_regressor(instance):  # neither (a ranker), or both
        return None
    tags = _tags(instance)
    if tags["multioutput_only"]:
        return None
    params = sklearn_params(cls) if framework == "sklearn" else booster_params(cls, instance)
    return {
        "task": "classifier" if is_classifier(instance) else "regressor",
        "allow_nan": framework != "sklearn" or tags["allow_nan"],
        "categorical": framework != "sklearn" or "categorical_features" in params,
        "params": params,
        "requires_positive_X": tags["requires_positive_X"],
        "requires_positive_y": tags["requires_positive_y"],
    }


def _required_params(cls: type) -> list[str]:
    signature = inspect.signature(cls)
    return [
        p.name
        for p in signature.parameters.values()
        if p.default is p.empty and p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)
    ]


def _wraps_estimators(cls: type) -> bool:
    """A meta-estimator: it fits other estimators given as (or defaulting) a parameter."""
    names = inspect.signature(cls).parameters
    return any(name in names for name in _SUB_ESTIMATOR_PARAMS)


def _deprecated(cls: type) -> bool:
    """sklearn's @deprecated warns when the class is instantiated."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", FutureWarning)
        warnings.simplefilter("error", DeprecationWarning)
        try:
            cls()
        except (FutureWarning, DeprecationWarning):
            return True
    return False


def _tags(instance: Any) -> dict[str, bool]:
    """allow_nan, multioutput_only and the positivity requirements on X and y, from the tags
    API of the installed scikit-learn."""
    try:
        from sklearn.utils import get_tags  # scikit-learn >= 1.6
    except ImportError:
        old = instance._get_tags()
        names = ("allow_nan", "multioutput_only", "requires_positive_X", "requires_positive_y")
        return {name: bool(old[name]) for name in names}
    tags = get_tags(instance)
    return {
        "allow_nan": tags.input_tags.allow_nan,
        "multioutput_only": not tags.target_tags.single_output,
        "requires_positive_X": tags.input_tags.positive_only,
        "requires_positive_y": tags.target_tags.positive_only,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m compiler.catalog.generate")
    parser.add_argument("--write", action="store_true", help=f"rewrite {CATALOG_FILE.name}")
    args = parser.parse_args(argv)
    try:
        text = render(build_catalog())
    except VersionMismatchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if args.write:
        Path(CATALOG_FILE).write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
