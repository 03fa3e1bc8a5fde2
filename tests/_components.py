"""Run a spec's training and evaluation through the component code its pipeline.py defines.

The spec is rendered to `kubeflow/pipeline.py` with the built-in templates (no IR compile:
that is the slow part and adds nothing here), the module is executed, and its components'
`python_func`s are called on a parquet file, with real kfp artifacts as inputs and outputs.
"""

from __future__ import annotations

import hashlib
import json
import runpy
from pathlib import Path
from typing import Any

import pandas as pd
from kfp import dsl

from compiler.check import run_checks
from compiler.diagnostics import Diagnostic, has_errors
from compiler.loader import LoadedSpec, load
from compiler.model import build_model
from compiler.model.spec import MLPipeline
from compiler.planner import build_plan
from compiler.platform.resolve import resolve_spec
from compiler.render import Renderer
from compiler.sources import SourceFile
from compiler.targets import builtin_templates

_RENDERER = Renderer([builtin_templates()])


def validate_data(
    data: dict[str, Any], path: str = "specs/x.yaml"
) -> tuple[MLPipeline | None, LoadedSpec | None, list[Diagnostic]]:
    """The spec model and every diagnostic `specops validate` gives for this spec data."""
    text = json.dumps(data)  # JSON is YAML: every string stays a string
    loaded, problems = load(SourceFile(path, text, hashlib.sha256(text.encode()).hexdigest()))
    if loaded is None:
        return None, None, problems
    spec, problems = build_model(loaded)
    if spec is None:
        return None, loaded, problems
    return spec, loaded, run_checks(spec, loaded)


def pipeline_module(spec: MLPipeline, loaded: LoadedSpec, folder: Path) -> dict[str, Any]:
    """The namespace of the spec's rendered kubeflow/pipeline.py, imported from `folder` (kfp
    reads each component's source from its file)."""
    plan = build_plan(resolve_spec(spec, loaded))
    context = {"plan": plan, "spec": plan.spec, "env": None, "provenance": plan.provenance}
    path = folder / "pipeline.py"
    path.write_text(_RENDERER.env.get_template("kubeflow/pipeline.py.j2").render(context))
    return runpy.run_path(str(path), run_name=f"pipeline_{plan.identifier}")


def train_and_evaluate(data: dict[str, Any], frame: pd.DataFrame, folder: Path) -> dict[str, float]:
    """Train on `frame` and score on it, as the pipeline's train and evaluate steps do; the
    metrics the evaluate step returns. The spec must validate."""
    spec, loaded, problems = validate_data(data)
    assert spec is not None and loaded is not None and not has_errors(problems), problems
    module = pipeline_module(spec, loaded, folder)
    table = folder / "train.parquet"
    frame.to_parquet(table)
    model = dsl.Model(uri=str(folder / "model"))
    train = dsl.Dataset(uri=str(table))
    arguments = dict(
        columns_json=json.dumps(module["COLUMNS"]),
        target=module["TARGET"],
        framework=spec.model.framework,
        estimator=module["ESTIMATOR"],
        params_json=json.dumps(module["PARAMS"], sort_keys=True),
        preprocessing_json=build_plan(resolve_spec(spec, loaded)).preprocessing_json,
    )
    module["train_model"].python_func(train=train, model=model, **arguments)
    evaluate = f"evaluate_{'classifier' if spec.model.task == 'classification' else 'regressor'}"
    metrics = dsl.Metrics(uri=str(folder / "metrics.json"))
    result = module[evaluate].python_func(
        model=model, test=train, target=module["TARGET"], metrics=metrics
    )
    return dict(result._asdict())
