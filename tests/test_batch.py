"""Batch scoring in the spec: rules and their locations, layering, explain, policy, outputs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from compiler.api import CompileOptions, compile_specs, validate
from compiler.diagnostics import Diagnostic
from compiler.platform.explain import ExplainOptions, explain

SPECS = Path(__file__).resolve().parents[1] / "specs"
BATCH = {
    "schedule": "0 2 * * *",
    "input": {"uri": "gs://acme-scoring/churn/today.parquet", "format": "parquet"},
    "output": {"uri": "gs://acme-scoring/churn/predictions"},
}


def _spec(folder: Path, *envs: dict[str, Any], name: str = "churn-classifier") -> Path:
    """The churn spec (or another example) with these environments appended."""
    spec = yaml.safe_load((SPECS / f"{name}.yaml").read_text(encoding="utf-8"))
    spec["deploy"]["environments"].extend(envs)
    (folder / "data").mkdir(parents=True, exist_ok=True)
    (folder / "data" / "churn.csv").write_bytes((SPECS / "data" / "churn.csv").read_bytes())
    path = folder / "spec.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False), encoding="utf-8")
    return path


def _nightly(**changes: Any) -> dict[str, Any]:
    env = {"name": "nightly", "namespace": "ml-nightly", "model_version": "v12", "serve": False}
    return json.loads(json.dumps({**env, "batch": BATCH, **changes}))  # no YAML aliases


def _found(path: Path, platform: Path | None = None) -> list[Diagnostic]:
    return validate([path], platform).diagnostics


def _line_of(path: Path, text: str, after: str = "nightly") -> int:
    lines = path.read_text(encoding="utf-8").splitlines()
    start = next(i for i, line in enumerate(lines) if after in line)
    return next(i for i, line in enumerate(lines) if i >= start and text in line) + 1


def test_a_batch_only_environment_is_valid(tmp_path: Path) -> None:
    assert [d.code for d in _found(_spec(tmp_path, _nightly()))] == []


def test_a_batch_only_environment_needs_no_argocd_project(tmp_path: Path) -> None:
    path = _spec(tmp_path, _nightly())
    spec = yaml.safe_load(path.read_text(encoding="utf-8"))
    del spec["deploy"]["argocd"]["project"]
    path.write_text(yaml.safe_dump(spec, sort_keys=False), encoding="utf-8")
    found = [(d.code, d.message.split(":")[0]) for d in _found(path)]
    assert found == [
        ("CHK025", "environment 'staging' has no Argo CD project"),
        ("CHK025", "environment 'prod' has no Argo CD project"),
    ]


def test_serve_false_without_batch_does_nothing(tmp_path: Path) -> None:
    path = _spec(tmp_path, _nightly(batch=None))
    [found] = _found(path)
    assert found.code == "CHK050" and found.is_error
    assert "neither serve nor score" in found.message
    assert found.location.line == _line_of(path, "serve:")


def test_serving_settings_of_a_batch_only_environment_are_flagged(tmp_path: Path) -> None:
    path = _spec(tmp_path, _nightly(replicas={"min": 2, "max": 2}, canary={"traffic_percent": 5}))
    found = [(d.code, d.severity.value, d.location.line) for d in _found(path)]
    assert found == [
        ("CHK051", "warning", _line_of(path, "replicas:")),
        ("CHK051", "warning", _line_of(path, "canary:")),
    ]


@pytest.mark.parametrize(
    ("batch", "code", "field", "words"),
    [
        ({**BATCH, "output": {"uri": "gs://acme-models/churn-classifier/scores"}},
         "CHK053", "uri: gs://acme-models", "among the published model versions"),
        ({**BATCH, "input": {"uri": "gs://acme-scoring/churn/predictions/x.csv", "format": "csv"}},
         "CHK053", "uri: gs://acme-scoring/churn/predictions/x.csv", "score earlier predictions"),
        ({**BATCH, "input": {"uri": "data/churn.csv", "format": "csv"}},
         "CHK054", "uri: data/churn.csv", "has no spec folder"),
    ],
)  # fmt: skip
def test_batch_locations_are_checked(
    tmp_path: Path, batch: dict[str, Any], code: str, field: str, words: str
) -> None:
    path = _spec(tmp_path, _nightly(batch=batch))
    [found] = _found(path)
    assert (found.code, found.location.line) == (code, _line_of(path, field))
    assert words in found.message


def test_two_environments_may_not_share_an_output(tmp_path: Path) -> None:
    second = _nightly(name="hourly", namespace="ml-hourly")
    path = _spec(tmp_path, _nightly(), second)
    [found] = _found(path)
    assert found.code == "CHK055" and "'nightly' and 'hourly'" in found.message
    assert found.location.line == _line_of(
        path, "uri: gs://acme-scoring/churn/predictions", "hourly"
    )


def test_a_custom_model_cannot_be_scored_in_batch(tmp_path: Path) -> None:
    path = _spec(tmp_path, _nightly(), name="vision-defects")
    assert "CHK052" in [d.code for d in _found(path)]


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        ({"schedule": "0 25 * * *"}, "schedule:", "hour: 25 is outside 0-23"),
        ({"output": {"uri": "https://acme.io/out"}}, "uri: https://acme.io/out", "scheme 'https'"),
        ({"output": {"uri": "predictions"}}, "uri: predictions", "must be a URI"),
        ({"input": {"uri": "gs://acme-data/b.csv", "format": "xlsx"}}, "format: xlsx", "csv"),
        ({"input": {"uri": "gs://u:pw@a/b.csv", "format": "csv"}}, "uri: gs://u", "credential"),
        ({"resources": {"cpu": "-1"}}, "cpu:", "quantity"),
        ({"retries": 3}, "retries:", "unknown key 'retries'"),
    ],
)  # fmt: skip
def test_bad_batch_values_are_located(
    tmp_path: Path, change: dict[str, Any], field: str, words: str
) -> None:
    path = _spec(tmp_path, _nightly(batch={**BATCH, **change}))
    found = [d for d in _found(path) if d.is_error]
    assert found, "expected an error"
    assert found[0].location.line == _line_of(path, field), found[0]
    assert words in found[0].message + (found[0].hint or ""), found[0]


def _platform(folder: Path, **policies: Any) -> Path:
    platform = {
        "apiVersion": "specops/v1",
        "kind": "Platform",
        "metadata": {"name": "test"},
        "defaults": {"environment": {"batch": {"resources": {"cpu": "2", "memory": "4Gi"}}}},
        "environments": [
            {"name": "staging"},
            {"name": "prod"},
            {"name": "nightly", "batch": {"resources": {"memory": "16Gi"}}},
        ],
        "policies": policies,
    }
    path = folder / "platform.yaml"
    path.write_text(yaml.safe_dump(platform, sort_keys=False), encoding="utf-8")
    return path


def test_batch_resources_layer_platform_environment_spec(tmp_path: Path) -> None:
    batch = {**BATCH, "resources": {"cpu": "3"}}
    spec = _spec(tmp_path, _nightly(batch=batch))
    platform = _platform(tmp_path)
    options = ExplainOptions(spec, "$.batch.resources", "nightly", platform)
    explanation = explain(options).explanation
    assert explanation is not None
    assert explanation.final == {"cpu": "3", "memory": "16Gi"}
    layers = [(c.layer, c.value, c.overridden) for c in explanation.contributions]
    assert layers == [
        ("platform defaults", {"cpu": "2", "memory": "4Gi"}, True),
        ("platform environment nightly", {"memory": "16Gi"}, False),
        ("spec environment nightly", {"cpu": "3"}, False),
    ]
    assert "platform.yaml" in str(explanation.contributions[1].location)
    text = explanation.text()
    assert "deep merge (cpu and memory are chosen independently)" in text


def test_platform_batch_defaults_do_not_turn_batch_on(tmp_path: Path) -> None:
    spec = _spec(tmp_path, _nightly())
    out = tmp_path / "out"
    options = CompileOptions(
        paths=[spec], out_dir=out, targets=["kubeflow"], platform=_platform(tmp_path)
    )
    assert compile_specs(options).ok
    folder = out / "kubeflow" / "churn-classifier"
    assert sorted(p.name for p in folder.glob("batch-*")) == [
        "batch-nightly.py",
        "batch-nightly.yaml",
    ]
    source = (folder / "batch-nightly.py").read_text(encoding="utf-8")
    assert "scoring.set_cpu_limit('2')" in source and "scoring.set_memory_limit('16Gi')" in source


def test_allowed_data_sources_governs_batch_inputs(tmp_path: Path) -> None:
    batch = {**BATCH, "input": {"uri": "https://data.example.com/today.csv", "format": "csv"}}
    spec = _spec(tmp_path, _nightly(batch=batch))
    platform = _platform(tmp_path, allowed_data_sources={"schemes": ["gs", "file"]})
    found = [d for d in _found(spec, platform) if d.code == "POL003"]
    assert [d.message.split(" (policy")[0] for d in found] == [
        "the batch input of environment 'nightly' uses scheme 'https'"
    ]
    assert found[0].location.line == _line_of(spec, "uri: https://data.example.com")


def test_release_schedules_batch_and_skips_promoting_a_batch_only_environment(
    tmp_path: Path,
) -> None:
    spec = _spec(tmp_path, _nightly())
    out = tmp_path / "out"
    assert compile_specs(CompileOptions(paths=[spec], out_dir=out, targets=["ci"])).ok
    release = yaml.safe_load(
        (out / ".github/workflows/specops-churn-classifier-release.yml").read_text("utf-8")
    )
    assert list(release["jobs"]) == ["publish", "promote-staging", "promote-prod"]
    publish = release["jobs"]["publish"]["steps"][-1]
    runs = json.loads(publish["env"]["SPECOPS_BATCH"])
    assert runs[-1] == {
        "environment": "nightly",
        "package": "kubeflow/churn-classifier/batch-nightly.yaml",
        "cron": "0 2 * * *",
    }
    assert runs[0] == {"environment": "staging", "package": "", "cron": ""}
    gitlab = yaml.safe_load((out / "ci/gitlab/churn-classifier.gitlab-ci.yml").read_text("utf-8"))
    assert "specops-churn-classifier-promote-nightly" not in gitlab
    variables = gitlab["specops-churn-classifier-publish"]["variables"]
    assert json.loads(variables["SPECOPS_BATCH"]["value"]) == runs


def test_templates_read_every_batch_field_an_example_sets() -> None:
    from compiler.templates_check import TemplatesCheckOptions, check_templates

    result = check_templates(TemplatesCheckOptions(specs=[SPECS / "demand-forecast.yaml"]))
    assert result.ok, [str(d) for d in result.diagnostics if d.is_error]
    unread = [d.message for d in result.diagnostics if d.code in ("TPL030", "TPL031")]
    assert not [m for m in unread if "batch" in m or "serve" in m], unread
    assert result.files > 0


def test_hostile_uris_land_as_literals(tmp_path: Path) -> None:
    import ast

    hostile = "gs://acme-scoring/x'\"$(touch${IFS}pwned)`id`';import,os%0a.csv"
    batch = {**BATCH, "input": {"uri": hostile, "format": "csv"}}
    batch["output"] = {"uri": "gs://acme-scoring/out'\"$(id)"}
    path = _spec(tmp_path, _nightly(batch=batch))
    out = tmp_path / "out"
    assert compile_specs(CompileOptions(paths=[path], out_dir=out)).ok
    source = (out / "kubeflow/churn-classifier/batch-nightly.py").read_text(encoding="utf-8")
    constants = {
        node.targets[0].id: ast.literal_eval(node.value)
        for node in ast.parse(source).body
        if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name)
        and node.targets[0].id in ("INPUT_URI", "OUTPUT_URI")
    }  # fmt: skip
    assert constants == {"INPUT_URI": hostile, "OUTPUT_URI": batch["output"]["uri"]}
    card = json.loads((out / "model-cards/churn-classifier.json").read_text(encoding="utf-8"))
    assert card["batch"] == ["nightly"]


def _with_drift_alert(path: Path) -> dict[str, Any]:
    spec: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    spec["monitoring"]["alerts"]["drift"] = True
    return spec


def test_drift_is_watched_and_alerted_in_the_last_environment_that_serves(tmp_path: Path) -> None:
    path = _spec(tmp_path, _nightly())
    path.write_text(yaml.safe_dump(_with_drift_alert(path), sort_keys=False), encoding="utf-8")
    out = tmp_path / "out"
    assert compile_specs(CompileOptions([path], out, ["kubeflow", "serving"])).ok
    rules = (out / "deploy" / "prod" / "churn-classifier" / "prometheusrule.yaml").read_text()
    assert "ModelDriftDetected" in rules and 'environment=\\"prod\\"' in rules
    monitoring = (out / "kubeflow" / "churn-classifier" / "monitoring.py").read_text()
    assert "ENVIRONMENT = 'prod'" in monitoring
    assert not (out / "deploy" / "nightly").exists()


def test_drift_alerts_need_an_environment_that_serves(tmp_path: Path) -> None:
    path = _spec(tmp_path)
    spec = _with_drift_alert(path)
    spec["deploy"]["environments"] = [_nightly(name=name) for name in ("staging", "prod")]
    spec["deploy"]["environments"][1]["batch"]["output"]["uri"] += "-prod"
    spec["deploy"]["environments"][1]["namespace"] = "ml-prod"
    path.write_text(yaml.safe_dump(spec, sort_keys=False), encoding="utf-8")
    found = [(d.code, d.location.line) for d in _found(path) if d.code == "CHK056"]
    assert found == [("CHK056", _line_of(path, "drift: true", after="alerts"))]
