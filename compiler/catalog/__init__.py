"""The estimator catalog: the classes each built-in framework may train, read without importing it.

`estimators.json` (shipped in the wheel) is generated from the library versions the pipeline
components pin, by `python -m compiler.catalog.generate --write` (see that module), and a test
regenerates it to catch drift. Its format (version `FORMAT`), keys sorted:

    {"format": 1, "generated_by": "<command>",
     "frameworks": {"<framework>": {"distribution": "scikit-learn", "version": "1.5.2",
                                    "estimators": {"<public dotted path>": ENTRY}}}}
    ENTRY  = {"task": "classifier" | "regressor",
              "allow_nan": bool,       # fits with missing values (NaN) in X (default params)
              "categorical": bool,     # splits on categorical features natively
              "requires_positive_X": bool,  # fits only features >= 0 (scikit-learn's tag)
              "requires_positive_y": bool,  # fits only a target > 0 (scikit-learn's tag)
              "requires_positive_y_when"?: {"param": "<name>", "above": n},
                                       # fits only a target > 0 when that param's value > n
              "min_features"?: {"default": n, "param": "<name>" | null},
                                       # fits only >= n features (or >= that param's value)
              "params": {"<constructor parameter>": {"default": VALUE, "accepts": [ACCEPT]}}}
    ACCEPT = {"type": T}                                  # any value of the type
           | {"type": "int"|"real"|"real_not_int", "min": n|null, "max": n|null,
              "closed": "both"|"left"|"right"|"neither"}  # an interval (null: unbounded)
           | {"type": T, "choices": [VALUE], "deprecated"?: [VALUE]}
           + "hidden": true on a value the library accepts but does not document
    T      = bool | int | real | str | none | list | dict | callable | any | array-like
           | random_state | ... (scikit-learn's own names) | a dotted class name
           | annotation (with "text": an annotation the generator could not resolve)
    VALUE  = JSON, or {"float": "nan"|"inf"}, {"object": "<dotted name>"}, {"repr": "<repr>"}

scikit-learn's `accepts` come from `_parameter_constraints`; the boosters' from the annotations
of their scikit-learn API's `__init__`. Only plain supervised classifiers and regressors that can
be the last step of the training Pipeline are listed: no meta-estimators, no private modules, no
deprecated classes (see the generator's filters).

A platform may add classes (`estimators.extra` in platform.yaml); `allowed_estimators` merges
them with the catalog for a framework.
"""

from __future__ import annotations

import difflib
import functools
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

FORMAT = 1
CATALOG_FILE = Path(__file__).with_name("estimators.json")
# framework (the first part of its estimators' dotted paths) -> its PyPI distribution
FRAMEWORK_DISTRIBUTIONS = {"sklearn": "scikit-learn", "xgboost": "xgboost", "lightgbm": "lightgbm"}
Task = Literal["classifier", "regressor"]
TASK_OF_SPEC: dict[str, Task] = {"classification": "classifier", "regression": "regressor"}


@dataclass(frozen=True, slots=True)
class Estimator:
    """One class a framework may train: where it is, what it does, and its parameter names."""

    path: str
    framework: str
    task: Task
    params: tuple[str, ...]
    source: str = "catalog"  # or where a platform added it


def render(catalog: Mapping[str, Any]) -> str:
    """The file's exact text: sorted keys, one stable layout."""
    return json.dumps(catalog, indent=1, sort_keys=True, ensure_ascii=True, allow_nan=False) + "\n"


@functools.cache
def catalog_data() -> dict[str, Any]:
    """The shipped catalog, parsed once per process."""
    data: dict[str, Any] = json.loads(CATALOG_FILE.read_text(encoding="utf-8"))
    if data.get("format") != FORMAT:
        raise RuntimeError(f"{CATALOG_FILE} has format {data.get('format')!r}, not {FORMAT}")
    return data


@functools.cache
def catalogued(framework: str) -> dict[str, Estimator]:
    """The shipped catalog's estimators of one framework, by dotted path."""
    section = catalog_data()["frameworks"].get(framework, {})
    return {
        path: Estimator(path, framework, entry["task"], tuple(sorted(entry["params"])))
        for path, entry in section.get("estimators", {}).items()
    }


def allowed_estimators(framework: str, extra: Iterable[Estimator] = ()) -> dict[str, Estimator]:
    """The catalog's estimators of `framework` plus the platform's extra ones of it."""
    allowed = dict(catalogued(framework))
    allowed.update({e.path: e for e in extra if e.framework == framework})
    return allowed


def suggest(name: str, candidates: Iterable[str]) -> list[str]:
    """Catalogued paths a mistyped one probably meant: same class name first, then close ones."""
    paths = sorted(candidates)
    class_name = name.rpartition(".")[2]
    same = [p for p in paths if p.rpartition(".")[2] == class_name]
    if same:
        return same[:3]
    by_class = {p.rpartition(".")[2]: p for p in paths}
    close = difflib.get_close_matches(class_name, list(by_class), n=3, cutoff=0.75)
    if close:
        return [by_class[c] for c in close]
    return difflib.get_close_matches(name, paths, n=3, cutoff=0.8)


def framework_version(framework: str) -> str:
    """The library version the catalog was generated from."""
    return str(catalog_data()["frameworks"][framework]["version"])


def _entry(framework: str, path: str) -> dict[str, Any] | None:
    section = catalog_data()["frameworks"].get(framework, {})
    entry: dict[str, Any] | None = section.get("estimators", {}).get(path)
    return entry


@functools.cache  # read for every spec: build it once per class (callers must not mutate it)
def declarations(framework: str, path: str) -> dict[str, list[dict[str, Any]]] | None:
    """Parameter name -> what it accepts (ACCEPT list), or None for a class not catalogued
    (a platform's extra estimator: the catalog knows nothing of its parameters' values)."""
    entry = _entry(framework, path)
    if entry is None:
        return None
    return {name: list(param["accepts"]) for name, param in entry["params"].items()}


def accepts_missing(framework: str, path: str) -> bool | None:
    """Whether the class fits with NaN in X (None: not catalogued, unknown)."""
    entry = _entry(framework, path)
    return None if entry is None else bool(entry["allow_nan"])


def missing_tolerant(framework: str, task: Task) -> list[str]:
    """The catalogued estimators of a framework and task that fit with NaN in X."""
    section = catalog_data()["frameworks"].get(framework, {})
    return sorted(
        path
        for path, entry in section.get("estimators", {}).items()
        if entry["task"] == task and entry["allow_nan"]
    )


def data_requirements(framework: str, path: str) -> dict[str, Any] | None:
    """What the class needs of the data (requires_positive_X, requires_positive_y,
    requires_positive_y_when and min_features, as in ENTRY), or None for a class not
    catalogued."""
    entry = _entry(framework, path)
    if entry is None:
        return None
    return {
        "requires_positive_X": bool(entry.get("requires_positive_X", False)),
        "requires_positive_y": bool(entry.get("requires_positive_y", False)),
        "requires_positive_y_when": entry.get("requires_positive_y_when"),
        "min_features": entry.get("min_features"),
    }


def declared_defaults(framework: str, path: str) -> dict[str, Any]:
    """Parameter name -> its catalogued default (as VALUE), empty for a class not catalogued."""
    entry = _entry(framework, path)
    if entry is None:
        return {}
    return {name: param["default"] for name, param in entry["params"].items()}
