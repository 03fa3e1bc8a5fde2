"""Attack: a spec names an estimator that is not an estimator (`sklearn.utils._testing.
assert_run_python_script_without_output` with `params: {source_code: ...}` ran a shell command in
the training step). Only catalogued classes of the spec's framework and task, with only their
constructor parameters, validate; the training component refuses anything else at run time."""

from __future__ import annotations

import importlib
import importlib.util
import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from compiler.api import validate, validate_spec
from compiler.catalog import catalogued
from compiler.check import run_checks
from compiler.loader import load
from compiler.model import build_model
from compiler.planner import build_plan
from compiler.platform import load_platform
from compiler.platform.resolve import resolve_spec
from compiler.render import Renderer
from compiler.sources import SourceFile, read_source
from compiler.targets import builtin_templates, discover_targets, select_targets

SHELL = "import os; os.system('id')"
NOT_IN = "is not in the sklearn estimator catalog"
CATALOG_HINT = (
    "pick a {task} from the {framework} estimator catalog (compiler/catalog/estimators.json), "
    "or ask the platform team to add the class under estimators.extra in platform.yaml"
)
SK_CLASSIFIER_HINT = CATALOG_HINT.format(task="classifier", framework="sklearn")

# (framework, task, estimator, params) -> (message, hint) of the one CHK006 it must give.
CORPUS: list[tuple[tuple[str, str, str, dict[str, Any]], tuple[str, str]]] = [
    (
        (
            "sklearn",
            "classification",
            "sklearn.utils._testing.assert_run_python_script_without_output",
            {"source_code": SHELL, "pattern": "x"},
        ),
        (
            "estimator 'sklearn.utils._testing.assert_run_python_script_without_output' " + NOT_IN,
            SK_CLASSIFIER_HINT,
        ),
    ),
    (
        ("sklearn", "classification", "os.system", {"command": "id"}),
        (f"estimator 'os.system' {NOT_IN}", SK_CLASSIFIER_HINT),
    ),
    (
        ("sklearn", "classification", "builtins.eval", {"source": SHELL}),
        (f"estimator 'builtins.eval' {NOT_IN}", SK_CLASSIFIER_HINT),
    ),
    (
        ("sklearn", "regression", "sklearn.utils._testing.SkipTest", {}),
        (
            f"estimator 'sklearn.utils._testing.SkipTest' {NOT_IN}",
            CATALOG_HINT.format(task="regressor", framework="sklearn"),
        ),
    ),
    (
        ("sklearn", "classification", "sklearn.externals._packaging.version.Version", {}),
        (f"estimator 'sklearn.externals._packaging.version.Version' {NOT_IN}", SK_CLASSIFIER_HINT),
    ),
    (
        ("xgboost", "classification", "xgboost.core.Booster", {"model_file": "/etc/passwd"}),
        (
            "estimator 'xgboost.core.Booster' is not in the xgboost estimator catalog",
            CATALOG_HINT.format(task="classifier", framework="xgboost"),
        ),
    ),
    (  # a meta-estimator would take any estimator object the attacker builds
        ("sklearn", "classification", "sklearn.multiclass.OneVsRestClassifier", {}),
        (f"estimator 'sklearn.multiclass.OneVsRestClassifier' {NOT_IN}", SK_CLASSIFIER_HINT),
    ),
    (
        ("sklearn", "classification", "xgboost.XGBClassifier", {}),
        (
            "estimator 'xgboost.XGBClassifier' belongs to xgboost, "
            "but model.framework is sklearn",
            "set model.framework: xgboost, or pick an estimator from sklearn",
        ),
    ),
    (
        ("sklearn", "classification", "sklearn.linear_model.Ridge", {}),
        (
            "estimator 'sklearn.linear_model.Ridge' is a regressor, "
            "but model.task is classification",
            "did you mean 'sklearn.linear_model.RidgeClassifier' or "
            "'sklearn.linear_model.RidgeClassifierCV'?",
        ),
    ),
    (
        ("lightgbm", "regression", "lightgbm.LGBMClassifier", {}),
        (
            "estimator 'lightgbm.LGBMClassifier' is a classifier, but model.task is regression",
            "pick a regressor, or set model.task to match the estimator",
        ),
    ),
    (
        ("sklearn", "classification", "sklearn.RandomForestClassifier", {}),
        (
            f"estimator 'sklearn.RandomForestClassifier' {NOT_IN}",
            "did you mean 'sklearn.ensemble.RandomForestClassifier'?",
        ),
    ),
    (
        ("sklearn", "classification", "sklearn.ensemble._forest.RandomForestClassifier", {}),
        (
            f"estimator 'sklearn.ensemble._forest.RandomForestClassifier' {NOT_IN}",
            "did you mean 'sklearn.ensemble.RandomForestClassifier'?",
        ),
    ),
    (
        ("sklearn", "classification", "sklearn.linear_model.LogisticRegression",
         {"source_code": SHELL}),
        (
            "'source_code' is not a constructor parameter of "
            "sklearn.linear_model.LogisticRegression (per the catalog)",
            "its parameters: C, class_weight, dual, fit_intercept, intercept_scaling, l1_ratio, "
            "max_iter, multi_class, … (15 in all)",
        ),
    ),
    (
        ("sklearn", "classification", "sklearn.ensemble.GradientBoostingClassifier",
         {"n_estimator": 3}),
        (
            "'n_estimator' is not a constructor parameter of "
            "sklearn.ensemble.GradientBoostingClassifier (per the catalog)",
            "did you mean 'n_estimators'?",
        ),
    ),
]  # fmt: skip


def spec_data(framework: str, task: str, estimator: str, params: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": "specops/v1",
        "kind": "MLPipeline",
        "metadata": {"name": "attack", "team": "core"},
        "data": {
            "sources": [{"name": "e", "uri": "gs://acme/e.csv", "format": "csv", "version": "1"}],
            "schema": {"columns": [{"name": "label", "type": "int"}, {"name": "x", "type": "int"}]},
            "target": "label",
        },
        "model": {"framework": framework, "task": task, "estimator": estimator, "params": params},
        "deploy": {
            "model_uri": "gs://acme-models/attack",
            "argocd": {"repo_url": "https://github.com/acme/ml-gitops.git", "project": "ml"},
            "environments": [{"name": "dev", "namespace": "dev", "model_version": "v1"}],
        },
    }  # fmt: skip


def write_spec(directory: Path, data: dict[str, Any]) -> Path:
    path = directory / "attack.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def chk006(path: Path, platform: Path | None = None) -> list[tuple[str, str, str]]:
    loaded = load_platform(platform)[0] if platform else None
    found = validate_spec(path, loaded).diagnostics
    return [(d.message, d.hint or "", d.location.path_text) for d in found]


@pytest.mark.parametrize(("case", "expected"), CORPUS, ids=[c[0][2] for c in CORPUS])
def test_hostile_estimator_gives_the_exact_diagnostic(
    tmp_path: Path, case: tuple[str, str, str, dict[str, Any]], expected: tuple[str, str]
) -> None:
    found = validate_spec(write_spec(tmp_path, spec_data(*case))).diagnostics
    assert [(d.code, d.message, d.hint) for d in found] == [("CHK006", *expected)]
    param_problem = expected[0].startswith("'")
    path = f"$.model.params.{next(iter(case[3]))}" if param_problem else "$.model.estimator"
    assert found[0].location.path_text == path


_segment = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,12}", fullmatch=True)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    framework=st.sampled_from(["sklearn", "xgboost", "lightgbm"]),
    parts=st.lists(_segment, min_size=1, max_size=4),
)
def test_no_uncatalogued_dotted_path_validates(framework: str, parts: list[str]) -> None:
    estimator = ".".join([framework, *parts])
    source = SourceFile(
        "attack.yaml", yaml.safe_dump(spec_data(framework, "regression", estimator, {})), "0" * 64
    )
    loaded, problems = load(source)
    assert loaded is not None, problems
    spec, problems = build_model(loaded)
    assert spec is not None, problems
    found = [d for d in run_checks(spec, loaded) if d.code == "CHK006"]
    entry = catalogued(framework).get(estimator)
    if entry is not None and entry.task == "regressor":
        assert found == []
    else:
        assert len(found) == 1 and found[0].location.path_text == "$.model.estimator"


def test_the_bundled_examples_use_catalogued_estimators() -> None:
    result = validate([Path("specs"), Path("tests/data/valid")])
    assert result.diagnostics == []
    assert all(s.spec and s.spec.model.estimator in catalogued(s.spec.model.framework)
               for s in result.specs if s.spec and s.spec.model.framework != "custom")  # fmt: skip


# --- the training component ------------------------------------------------------------------


@pytest.fixture(scope="module")
def train_model(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """The training component of a real spec, rendered as the pipeline renders it."""
    source, _ = read_source(Path("specs/churn-classifier.yaml"))
    assert source is not None
    loaded, _ = load(source)
    assert loaded is not None
    spec, _ = build_model(loaded)
    assert spec is not None
    templates = [builtin_templates()]
    targets = select_targets(discover_targets(templates), ["kubeflow"])
    files, problems = Renderer(templates).render(build_plan(resolve_spec(spec, loaded)), targets)
    assert problems == []
    (pipeline,) = [f for f in files if f.path.endswith("pipeline.py")]
    # kfp reads a component's source from its file, as when it compiles the pipeline
    path = tmp_path_factory.mktemp("pipeline") / "pipeline.py"
    path.write_text(pipeline.content, encoding="utf-8")
    module_spec = importlib.util.spec_from_file_location("rendered_pipeline", path)
    assert module_spec is not None and module_spec.loader is not None
    module = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(module)
    return module.train_model.python_func


def _call(train_model: Any, estimator: str, params: dict[str, Any], tmp: Path) -> None:
    train_model(
        train=SimpleNamespace(path=str(tmp / "missing.parquet")),
        columns_json=json.dumps([{"name": "label", "type": "int"}, {"name": "x", "type": "float"}]),
        target="label",
        framework="sklearn",
        estimator=estimator,
        params_json=json.dumps(params),
        preprocessing_json="[]",  # refused or failed (no data) before it is read
        model=SimpleNamespace(path=str(tmp / "model.joblib"), metadata={}),
    )


RUNTIME_ATTACKS = [
    "sklearn.utils._testing.assert_run_python_script_without_output",
    "os.system",
    "builtins.eval",
    "sklearn.ensemble.RandomForestClassifier",  # catalogued, but not this pipeline's estimator
]


@pytest.mark.parametrize("estimator", RUNTIME_ATTACKS)
def test_component_refuses_another_estimator_before_importing(
    train_model: Any, estimator: str, tmp_path: Path
) -> None:
    marker = tmp_path / "ran"
    code = f"open({str(marker)!r}, 'w').close()"
    with pytest.raises(ValueError, match="is not the catalogued estimator of this pipeline") as e:
        _call(train_model, estimator, {"source_code": code, "pattern": "x"}, tmp_path)
    assert "(sklearn.ensemble.GradientBoostingClassifier)" in str(e.value)
    assert not marker.exists()


def test_component_refuses_a_parameter_outside_the_catalog(
    train_model: Any, tmp_path: Path
) -> None:
    estimator = "sklearn.ensemble.GradientBoostingClassifier"
    with pytest.raises(ValueError) as e:
        _call(train_model, estimator, {"source_code": SHELL, "n_estimators": 3}, tmp_path)
    assert str(e.value) == f"source_code: not a constructor parameter of {estimator} in the catalog"


def test_component_accepts_its_estimator_and_parameters(train_model: Any, tmp_path: Path) -> None:
    # past the catalog check it reads the (here missing) training data
    with pytest.raises(FileNotFoundError):
        _call(train_model, "sklearn.ensemble.GradientBoostingClassifier", {"n_estimators": 3},
              tmp_path)  # fmt: skip


# --- the platform may add estimators ---------------------------------------------------------

PLATFORM = """\
apiVersion: specops/v1
kind: Platform
metadata: {name: acme}
estimators:
  extra:
    - {framework: sklearn, class: acme_ml.models.TunedForest, task: classifier, params: [depth]}
"""


def test_platform_extends_the_catalog(tmp_path: Path) -> None:
    platform = tmp_path / "platform.yaml"
    platform.write_text(PLATFORM, encoding="utf-8")
    data = spec_data("sklearn", "classification", "acme_ml.models.TunedForest", {"depth": 3})
    spec = write_spec(tmp_path, data)
    assert chk006(spec, platform) == []
    assert [m for m, _, _ in chk006(spec)] == [f"estimator 'acme_ml.models.TunedForest' {NOT_IN}"]
    loaded_platform, _ = load_platform(platform)
    checked = validate_spec(spec, loaded_platform)
    assert checked.resolved is not None
    plan = build_plan(checked.resolved)
    assert plan.estimator is not None
    assert (plan.estimator.path, plan.estimator.params) == (
        "acme_ml.models.TunedForest",
        ("depth",),
    )


def test_platform_estimator_takes_only_its_listed_parameters(tmp_path: Path) -> None:
    platform = tmp_path / "platform.yaml"
    platform.write_text(PLATFORM, encoding="utf-8")
    data = spec_data("sklearn", "classification", "acme_ml.models.TunedForest", {"cmd": SHELL})
    found = chk006(write_spec(tmp_path, data), platform)
    where = load_platform(platform)[0]
    assert where is not None
    assert found == [
        (
            "'cmd' is not a constructor parameter of acme_ml.models.TunedForest "
            f"(per estimators.extra in {where.path})",
            "its parameters: depth",
            "$.model.params.cmd",
        )
    ]


def test_platform_estimator_is_only_for_its_framework(tmp_path: Path) -> None:
    platform = tmp_path / "platform.yaml"
    platform.write_text(PLATFORM, encoding="utf-8")
    data = spec_data("xgboost", "classification", "acme_ml.models.TunedForest", {})
    assert [m for m, _, _ in chk006(write_spec(tmp_path, data), platform)] == [
        "estimator 'acme_ml.models.TunedForest' belongs to sklearn, but model.framework is xgboost"
    ]
