"""The serving and Argo CD targets: layout, what each manifest says, and that real tools accept it.

Core kinds go through kubernetes-validate (strict), custom resources through the upstream CRD
schemas specops ships (compiler/verify/crds), every environment directory through `kubectl
kustomize`, and hostile spec values must land in every manifest as the very same YAML scalar.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from compiler.api import CompileOptions, compile_specs
from compiler.check import run_checks
from compiler.cli import run
from compiler.diagnostics import has_errors
from compiler.filters import to_k8s_literal
from compiler.loader import load
from compiler.model import build_model
from compiler.plan import Defaults
from compiler.planner import build_plan
from compiler.platform.resolve import resolve_spec
from compiler.render import RenderedFile, Renderer
from compiler.sources import SourceFile
from compiler.targets import builtin_templates, discover_targets, select_targets
from compiler.verify import VerifyContext
from compiler.verify.kubernetes import (
    KUBERNETES_VERSION,
    is_builtin,
    verify_custom_resources,
    verify_kubernetes,
)
from tests.conftest import REPO, needs_tool

needs_kubectl = needs_tool("kubectl")
EXAMPLES = ["churn-classifier", "demand-forecast", "vision-defects"]
CUSTOM_RESOURCES = {"InferenceService", "PrometheusRule", "Application"}


# --- helpers ----------------------------------------------------------------------------------


def spec_data(name: str = "churn-classifier") -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((REPO / "specs" / f"{name}.yaml").read_text())
    for source in data["data"]["sources"]:  # the spec text moves out of specs/ in these tests
        source["uri"] = f"gs://acme-data/{source['name']}.csv"
    return data


def render(texts: dict[str, str]) -> list[RenderedFile]:
    """Serving and Argo CD outputs of specs given as {path: YAML text}, checked like validate."""
    dirs = [builtin_templates()]
    targets = select_targets(discover_targets(dirs), ["serving", "argocd"])
    renderer = Renderer(dirs)
    files: list[RenderedFile] = []
    for path, text in texts.items():
        source = SourceFile(path, text, hashlib.sha256(text.encode()).hexdigest())
        loaded, problems = load(source)
        assert loaded is not None, problems
        spec, problems = build_model(loaded)
        assert spec is not None, problems
        assert not has_errors(run_checks(spec, loaded)), run_checks(spec, loaded)
        rendered, problems = renderer.render(build_plan(resolve_spec(spec, loaded)), targets)
        assert not problems, problems
        files += rendered
    return files


class _QuotingDumper(yaml.SafeDumper):
    """Quotes every string: PyYAML leaves `1e3` plain, which YAML 1.2 (our loader) reads as 1000."""


_QuotingDumper.add_representer(
    str, lambda dumper, text: dumper.represent_scalar("tag:yaml.org,2002:str", text, style='"')
)


def dump(data: dict[str, Any]) -> str:
    unshared = json.loads(json.dumps(data))  # shared objects would become YAML anchors
    return yaml.dump(unshared, Dumper=_QuotingDumper, sort_keys=False, allow_unicode=True)


def example_files() -> list[RenderedFile]:
    return render({f"specs/{n}.yaml": (REPO / "specs" / f"{n}.yaml").read_text() for n in EXAMPLES})


def variant_texts() -> dict[str, str]:
    """Specs that reach the branches the examples do not."""
    explained = spec_data()
    explained["metadata"]["name"] = "churn-explained"
    explained["validation"]["explainability"]["serve"] = True
    del explained["deploy"]["service_account"]
    del explained["monitoring"]["alerts"]
    explained["deploy"]["environments"][0].update(
        replicas={"min": 0, "max": 3}, autoscaling={"metric": "cpu", "target": 70}
    )
    boosted = spec_data("demand-forecast")
    boosted["metadata"]["name"] = "boosted"
    boosted["model"].update(
        framework="xgboost",
        estimator="xgboost.XGBRegressor",
        params={"n_estimators": 500, "max_leaves": 63, "learning_rate": 0.03},  # xgboost's names
    )
    boosted["monitoring"]["alerts"] = {"drift": True}  # only the last environment alerts
    custom = spec_data("vision-defects")
    custom["metadata"]["name"] = "vision-explained"
    custom["deploy"]["serving"]["command"] = ["python", "-m", "weld.serve", "--port", "8080"]
    custom["validation"]["explainability"] = {"serve": True}
    return {f"variants/{d['metadata']['name']}.yaml": dump(d) for d in (explained, boosted, custom)}


def documents(files: list[RenderedFile]) -> dict[str, list[Any]]:
    """Each file as PyYAML reads it: YAML 1.1, like the Go YAML that kubectl and Argo CD use."""
    return {f.path: list(yaml.safe_load_all(f.content)) for f in files}


def documents_yaml12(files: list[RenderedFile]) -> dict[str, list[Any]]:
    """Each file as our strict loader reads it: YAML 1.2 core, one document, no anchors or tags."""
    parsed = {}
    for file in files:
        loaded, problems = load(SourceFile(file.path, file.content, ""))
        assert loaded is not None, problems
        parsed[file.path] = [loaded.data]
    return parsed


def one(files: list[RenderedFile], path: str) -> Any:
    (document,) = documents(files)[path]
    return document


@pytest.fixture(scope="module")
def examples() -> list[RenderedFile]:
    return example_files()


@pytest.fixture(scope="module")
def everything(examples: list[RenderedFile]) -> list[RenderedFile]:
    return examples + render(variant_texts())


# --- layout and content -----------------------------------------------------------------------


def test_layout_is_one_directory_per_environment_and_spec(examples: list[RenderedFile]) -> None:
    environments = {"churn-classifier": ["staging", "prod"], "vision-defects": ["prod"],
                    "demand-forecast": ["dev", "staging", "prod"]}  # fmt: skip
    expected = {f"deploy/prod/{s}/poddisruptionbudget.yaml" for s in EXAMPLES[:2]}  # min >= 2
    for spec, envs in environments.items():
        for env in envs:
            expected.add(f"argocd/{env}/{spec}.yaml")
            for name in ("inferenceservice", "prometheusrule", "kustomization"):
                expected.add(f"deploy/{env}/{spec}/{name}.yaml")
    assert {f.path for f in examples} == expected


def test_kustomization_lists_exactly_the_files_of_its_directory(
    everything: list[RenderedFile],
) -> None:
    paths = {f.path for f in everything}
    kustomizations = [f for f in everything if f.path.endswith("/kustomization.yaml")]
    assert len(kustomizations) == 12
    for file in kustomizations:
        directory = file.path.rsplit("/", 1)[0]
        siblings = {p.rsplit("/", 1)[1] for p in paths if p.rsplit("/", 1)[0] == directory}
        listed = one(everything, file.path)["resources"]
        assert sorted(listed) == sorted(siblings - {"kustomization.yaml"}), file.path


def test_inferenceservice_serves_the_pinned_version(examples: list[RenderedFile]) -> None:
    prod = one(examples, "deploy/prod/churn-classifier/inferenceservice.yaml")
    predictor = prod["spec"]["predictor"]
    assert predictor["model"] == {
        "modelFormat": {"name": "sklearn"},
        "storageUri": "gs://acme-models/churn-classifier/v11",
        "resources": {"requests": {"cpu": "1", "memory": "2Gi"},
                      "limits": {"cpu": "1", "memory": "2Gi"}},
    }  # fmt: skip
    assert (predictor["minReplicas"], predictor["maxReplicas"]) == (2, 10)
    assert (predictor["scaleMetric"], predictor["scaleTarget"]) == ("rps", 50)
    assert predictor["canaryTrafficPercent"] == 10
    assert predictor["serviceAccountName"] == "models-reader"
    assert "explainer" not in prod["spec"]
    staging = one(examples, "deploy/staging/churn-classifier/inferenceservice.yaml")
    assert "canaryTrafficPercent" not in staging["spec"]["predictor"]
    assert staging["spec"]["predictor"]["model"]["storageUri"].endswith("/v12")


def test_labels_are_valid_and_annotations_carry_only_the_model_version(
    examples: list[RenderedFile],
) -> None:
    meta = one(examples, "deploy/prod/churn-classifier/inferenceservice.yaml")["metadata"]
    digest = hashlib.sha256((REPO / "specs" / "churn-classifier.yaml").read_bytes()).hexdigest()
    # Only what identifies the model version: KServe copies these into the Knative revision,
    # so the spec's hash, its owners or the compiler version here would roll out a revision.
    assert meta["annotations"] == {
        "specops.dev/model-version": "v11",
        "serving.kserve.io/deploymentMode": "Serverless",
    }
    [isvc] = [f for f in examples if f.path == "deploy/prod/churn-classifier/inferenceservice.yaml"]
    assert digest not in isvc.content
    assert meta["labels"] == {
        "app.kubernetes.io/name": "churn-classifier",
        "app.kubernetes.io/component": "model-serving",
        "app.kubernetes.io/managed-by": "specops",
        "specops.dev/team": "growth",
        "specops.dev/environment": "prod",
        "cost-center": "growth-analytics",
    }


def test_custom_gpu_model_runs_its_serving_image(examples: list[RenderedFile]) -> None:
    predictor = one(examples, "deploy/prod/vision-defects/inferenceservice.yaml")["spec"][
        "predictor"
    ]
    (container,) = predictor["containers"]
    assert container["name"] == "kserve-container" and "model" not in predictor
    assert container["image"].startswith("registry.acme.io/vision/weld-server@sha256:")
    assert container["env"] == [
        {"name": "STORAGE_URI", "value": "s3://acme-models/vision-defects/2026.11.2"}
    ]
    assert container["ports"] == [{"containerPort": 8080, "protocol": "TCP"}]
    assert container["resources"]["limits"]["nvidia.com/gpu"] == "1"
    assert predictor["nodeSelector"] == {Defaults().gpu_node_label: "nvidia-l4"}


def test_every_resource_quantity_is_a_string(everything: list[RenderedFile]) -> None:
    """Kubernetes quantities are strings: the typed clients refuse an integer GPU count."""
    seen = 0
    for file in everything:
        if file.path.endswith("/inferenceservice.yaml"):
            spec = yaml.safe_load(file.content)["spec"]
            parts = [spec["predictor"], spec.get("explainer") or {}]
            containers = [c for p in parts for c in [p.get("model", {}), *p.get("containers", [])]]
            for container in containers:
                for kind in ("requests", "limits"):
                    for name, value in container.get("resources", {}).get(kind, {}).items():
                        assert isinstance(value, str), (file.path, kind, name, value)
                        seen += 1
    assert seen


def test_explainer_only_when_the_spec_asks_to_serve_one(everything: list[RenderedFile]) -> None:
    for file in everything:
        if file.path.endswith("/inferenceservice.yaml"):
            spec = one(everything, file.path)["spec"]
            assert ("explainer" in spec) == ("-explained/" in file.path), file.path
            for explainer in spec.get("explainer", {}).get("containers", []):
                assert explainer["image"] == Defaults().explainer_image
                assert explainer["env"][0]["value"].startswith(("gs://", "s3://"))
    vision = one(everything, "deploy/prod/vision-explained/inferenceservice.yaml")
    assert vision["spec"]["predictor"]["containers"][0]["command"][:2] == ["python", "-m"]


def test_argocd_syncs_automatically_only_without_approval(examples: list[RenderedFile]) -> None:
    staging = one(examples, "argocd/staging/churn-classifier.yaml")["spec"]
    prod = one(examples, "argocd/prod/churn-classifier.yaml")["spec"]
    assert staging["syncPolicy"]["automated"] == {"prune": True, "selfHeal": True}
    assert "automated" not in prod["syncPolicy"]
    assert prod["source"]["path"] == "deploy/prod/churn-classifier"
    assert prod["destination"] == {"name": "in-cluster", "namespace": "ml-prod"}
    edge = one(examples, "argocd/prod/vision-defects.yaml")["spec"]["destination"]
    assert edge == {"name": "factory-edge", "namespace": "vision-prod"}


def test_alert_rules_follow_monitoring_alerts(everything: list[RenderedFile]) -> None:
    def rules(path: str) -> dict[str, Any]:
        group = one(everything, path)["spec"]["groups"][0]
        return {rule["alert"]: rule for rule in group["rules"]}

    prod = rules("deploy/prod/churn-classifier/prometheusrule.yaml")
    assert set(prod) == {"ModelLatencyP95High", "ModelErrorRateHigh", "ModelDriftDetected"}
    assert prod["ModelLatencyP95High"]["expr"].endswith(") > 80")
    assert prod["ModelErrorRateHigh"]["expr"].endswith(") > 0.01")
    group = 'job="specops-drift", model="churn-classifier", environment="prod"'
    assert prod["ModelDriftDetected"]["expr"] == (
        f"specops_drift_score{{{group}}} > on(job, model, environment) "
        f"specops_drift_threshold{{{group}}}"
    )
    for rule in prod.values():
        assert set(rule["annotations"]) == {"summary", "description", "runbook_url"}
        assert rule["labels"]["severity"] == "critical"
    staging = rules("deploy/staging/churn-classifier/prometheusrule.yaml")
    assert set(staging) == {"ModelLatencyP95High", "ModelErrorRateHigh"}  # drift: last env only
    assert staging["ModelErrorRateHigh"]["labels"]["severity"] == "warning"
    assert "ModelDriftDetected" not in rules("deploy/prod/vision-defects/prometheusrule.yaml")
    paths = {f.path for f in everything}
    assert not any("/churn-explained/prometheusrule" in p for p in paths)  # no monitoring.alerts
    assert [p for p in paths if "/boosted/prometheusrule" in p] == [
        "deploy/prod/boosted/prometheusrule.yaml"
    ]


def test_the_drift_alert_selects_the_gauges_the_monitoring_pipeline_pushes(
    everything: list[RenderedFile],
) -> None:
    """The metric and label names of the drift pipeline's push (kubeflow/components/drift.py.j2;
    tests/test_run_local.py records a real push and matches it against this rule)."""
    import promql_parser

    pushed = {"specops_drift_score", "specops_drift_threshold"}
    for spec, environment in (("churn-classifier", "prod"), ("boosted", "prod")):
        path = f"deploy/{environment}/{spec}/prometheusrule.yaml"
        rules = one(everything, path)["spec"]["groups"][0]["rules"]
        [rule] = [r for r in rules if r["alert"] == "ModelDriftDetected"]
        expr = promql_parser.parse(rule["expr"])
        assert isinstance(expr, promql_parser.BinaryExpr) and str(expr.op) == ">"
        assert expr.modifier is not None and expr.modifier.matching is not None
        assert list(expr.modifier.matching.labels) == ["job", "model", "environment"]
        lhs, rhs = expr.lhs, expr.rhs
        assert isinstance(lhs, promql_parser.VectorSelector)
        assert isinstance(rhs, promql_parser.VectorSelector)
        assert {lhs.name, rhs.name} == pushed
        for selector in (lhs, rhs):
            matchers = {m.name: (str(m.op), m.value) for m in selector.matchers.matchers}
            equal = str(promql_parser.MatchOp.Equal)
            assert matchers == {"job": (equal, "specops-drift"), "model": (equal, spec),
                                "environment": (equal, environment)}  # fmt: skip
        assert (rule["labels"]["model"], rule["labels"]["environment"]) == (spec, environment)


def test_boosters_are_served_from_their_own_folder(everything: list[RenderedFile]) -> None:
    """KServe's xgboost server refuses a folder with metadata.json next to the booster."""
    for env, version in (("dev", "v41"), ("staging", "v40"), ("prod", "v39")):
        service = one(everything, f"deploy/{env}/boosted/inferenceservice.yaml")
        model = service["spec"]["predictor"]["model"]
        assert model["modelFormat"] == {"name": "xgboost"}
        folder = f"{version}/{Defaults().kserve_booster_dir}"
        assert model["storageUri"] == f"gs://acme-models/demand-forecast/{folder}"
    forecast = one(everything, "deploy/prod/demand-forecast/inferenceservice.yaml")["spec"]
    assert forecast["predictor"]["model"]["storageUri"].endswith("/v39/booster")  # lightgbm


# --- real validators --------------------------------------------------------------------------


def test_core_kinds_pass_kubernetes_validate_strict(everything: list[RenderedFile]) -> None:
    import kubernetes_validate

    core = [
        (file, doc)
        for file in everything
        for doc in documents([file])[file.path]
        if is_builtin(doc["apiVersion"]) and doc["kind"] != "Kustomization"
    ]
    assert {doc["kind"] for _, doc in core} == {"PodDisruptionBudget"}
    context = VerifyContext()
    for file, doc in core:
        kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)
        assert verify_kubernetes(file, context) == []
    assert not context.unverified


def test_custom_resources_pass_their_crd_schemas(
    everything: list[RenderedFile], monkeypatch: pytest.MonkeyPatch
) -> None:
    from compiler.verify import crd, kubernetes

    indexes: list[object] = []
    real_index = kubernetes.load_index
    monkeypatch.setattr(kubernetes, "load_index", lambda p: indexes.append(1) or real_index(p))
    loads: list[str] = []
    real_load = crd._load_builtin
    monkeypatch.setattr(crd, "_load_builtin", lambda e: loads.append(e.kind) or real_load(e))
    context = VerifyContext()  # the shipped CRD schemas, no --crd-dir
    checked = set()
    for file in everything:
        if "crd" in file.verify:
            assert verify_custom_resources(file, context) == [], file.path
            checked |= {doc["kind"] for doc in documents([file])[file.path]}
    assert checked == CUSTOM_RESOURCES
    assert not context.unverified
    assert len(indexes) == 1  # the CRDs are indexed once per run
    assert sorted(loads) == sorted(CUSTOM_RESOURCES)  # and each kind's schemas read once


@needs_kubectl
def test_kubectl_kustomize_builds_every_environment_directory(
    everything: list[RenderedFile], tmp_path: Path
) -> None:
    for file in everything:
        (tmp_path / file.path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / file.path).write_text(file.content, encoding="utf-8")
    directories = sorted(
        {f.path.rsplit("/", 1)[0] for f in everything if "/kustomization" in f.path}
    )
    for directory in directories:
        proc = subprocess.run(
            ["kubectl", "kustomize", str(tmp_path / directory)],
            capture_output=True, text=True, check=False, timeout=120,
        )  # fmt: skip
        assert proc.returncode == 0, f"{directory}: {proc.stderr}"
        built = [d for d in yaml.safe_load_all(proc.stdout) if d]
        _, env, spec = directory.split("/")
        listed = one(everything, f"{directory}/kustomization.yaml")["resources"]
        assert len(built) == len(listed)
        for doc in built:
            assert doc["metadata"]["name"] == spec
            assert doc["metadata"]["labels"]["specops.dev/environment"] == env
            assert (
                doc["metadata"]["namespace"]
                == one(everything, f"argocd/{env}/{spec}.yaml")["spec"]["destination"]["namespace"]
            )


def test_compile_verifies_every_kind_with_no_crd_dir(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["compile", "specs/", "-t", "serving", "-t", "argocd", "--out", str(tmp_path / "a")]
    assert run(args) == 0
    assert "not verified" not in capsys.readouterr().err
    result = compile_specs(CompileOptions([REPO / "specs"], tmp_path / "b", ["serving", "argocd"]))
    assert result.ok and result.unverified == [], result.diagnostics


WIDGET_TARGET = """\
name: widgets
description: a custom resource of a kind specops ships no CRD for
outputs:
  - {template: widget.yaml.j2, path: 'widgets/{spec}.yaml', verify: [k8s]}
"""


def test_compile_notes_a_kind_with_no_crd(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    layer = tmp_path / "layer" / "widgets"
    layer.mkdir(parents=True)
    (layer / "target.yaml").write_text(WIDGET_TARGET)
    (layer / "widget.yaml.j2").write_text(
        "apiVersion: example.com/v1\nkind: Widget\nmetadata:\n"
        "  name: {{ spec.metadata.name | yaml }}\nspec: {size: 1}\n"
    )
    args = ["compile", "specs/", "-t", "widgets", "--templates", str(layer.parent)]
    assert run([*args, "--out", str(tmp_path / "a")]) == 0
    err = capsys.readouterr().err
    assert "note: not verified: Widget (example.com/v1): no CRD for it; pass --crd-dir" in err
    assert err.count("not verified") == 1
    (tmp_path / "crds").mkdir()
    (tmp_path / "crds" / "widgets.yaml").write_text(WIDGET_CRD)
    assert run([*args, "--out", str(tmp_path / "b"), "--crd-dir", str(tmp_path / "crds")]) == 0
    assert "not verified" not in capsys.readouterr().err


def builtin_crd_text(kind: str, served: list[str] | None = None) -> str:
    """A CRD file made from a shipped schema, as `kubectl get crd -o yaml` would print it."""
    from compiler.verify.crds import builtin_index, load_schemas

    (entry,) = [e for e in builtin_index() if e.kind == kind]
    schemas = load_schemas(entry)
    versions = [
        {"name": name, "served": True, "storage": True, "schema": {"openAPIV3Schema": schema}}
        for name, schema in zip(served or list(schemas), schemas.values(), strict=True)
    ]
    crd = {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{entry.plural}.{entry.group}"},
        "spec": {"group": entry.group, "names": {"kind": kind, "plural": entry.plural},
                 "scope": "Namespaced", "versions": versions},
    }  # fmt: skip
    return yaml.safe_dump(crd, sort_keys=False)


def test_a_crd_dir_overrides_the_shipped_crd_of_its_kind(tmp_path: Path) -> None:
    (tmp_path / "crds").mkdir()
    # the user's cluster runs an InferenceService CRD that serves only v1: that one is used
    (tmp_path / "crds" / "isvc.yaml").write_text(builtin_crd_text("InferenceService", ["v1"]))
    result = compile_specs(
        CompileOptions(
            [REPO / "specs"], tmp_path / "out", ["serving"], crd_dirs=[tmp_path / "crds"]
        )
    )
    found = {d.code for d in result.diagnostics}
    assert found == {"K8S006"}, result.diagnostics
    problem = result.diagnostics[0]
    assert "served: v1" in problem.message and "isvc.yaml" in (problem.hint or "")
    # the same CRD serving v1beta1 passes; the other kinds still come from the shipped CRDs
    (tmp_path / "crds" / "isvc.yaml").write_text(builtin_crd_text("InferenceService"))
    result = compile_specs(
        CompileOptions(
            [REPO / "specs"], tmp_path / "out", ["serving"], crd_dirs=[tmp_path / "crds"]
        )
    )
    assert result.ok and result.unverified == [], result.diagnostics


# --- hostile values ---------------------------------------------------------------------------

# benign token -> hostile value; every value is valid for its field and means something else
# to a YAML 1.1 reader (bool, null, int, octal, float, date) or is YAML/Jinja syntax
NAMES = {"qqspecqq": "no", "qqteamqq": "on", "qqenvqq": "off", "qqenv2qq": "0755",
         "qqnsqq": "null", "qqns2qq": "1e3", "qqclusterqq": "true", "qqcluster2qq": "2024-01-01",
         "qqsaqq": "false", "qqgpuqq": "1.0", "qqk1qq": "yes", "qqk2qq": "null"}  # fmt: skip
VALUES = {"qqverqq": "3.10", "qqver2qq": "0x1F+no", "qqv1qq": "0755", "qqv2qq": "",
          "qqownerqq": "-no+%", "qqpathqq": "x:y/{{a}}/*&!'\"%@,[]|>`~"}  # fmt: skip
COMMAND = ['"', "'", "a: b", "# c", "{{ x }}", "{% if %}", "*a", "&a", "!a", "- a", "? a", "no",
           "on", "0755", "3.10", "null", "~", "ünïcødé ✓ 😀", "|", ">", "%x", "@x", "`x`", "[a]",
           "{a: b}", ", ", "--- ", "...", "\\", "\\n", " lead", "trail ", "\u00a0"]  # fmt: skip


def token_spec(tokens: dict[str, str]) -> dict[str, Any]:
    data = spec_data("vision-defects")
    labels = {tokens["qqk1qq"]: tokens["qqv1qq"], tokens["qqk2qq"]: tokens["qqv2qq"]}
    owners = [f"{tokens['qqownerqq']}@example.com"]
    data["metadata"].update(
        name=tokens["qqspecqq"], team=tokens["qqteamqq"], owners=owners, labels=labels
    )
    data["deploy"].update(
        model_uri=f"gs://acme-models/{tokens['qqpathqq']}", service_account=tokens["qqsaqq"]
    )
    data["deploy"]["serving"]["command"] = [tokens[f"qqcmd{i}qq"] for i in range(len(COMMAND))]
    base = data["deploy"]["environments"][0]
    base["resources"]["gpu"]["type"] = tokens["qqgpuqq"]
    data["deploy"]["environments"] = [
        {**base, "name": tokens["qqenvqq"], "namespace": tokens["qqnsqq"], "approval": "none",
         "cluster": tokens["qqclusterqq"], "model_version": tokens["qqverqq"]},
        {**base, "name": tokens["qqenv2qq"], "namespace": tokens["qqns2qq"],
         "cluster": tokens["qqcluster2qq"], "model_version": tokens["qqver2qq"],
         "replicas": {"min": 2, "max": 3}, "canary": {"traffic_percent": 5}},
    ]  # fmt: skip
    data["validation"]["explainability"] = {"serve": True}
    data["monitoring"] = {"drift": {"schedule": "0 * * * *", "threshold": 0.3},
                          "alerts": {"latency_p95_ms": 12.5, "error_rate": 0.001}}  # fmt: skip
    return data


def strictly_equal(a: Any, b: Any) -> bool:
    """Equal values of identical types all the way down (True is not 1, "1" is not 1)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(strictly_equal(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(map(strictly_equal, a, b))
    return bool(a == b)


def substitute(node: Any, mapping: dict[str, str]) -> Any:
    if isinstance(node, dict):
        return {substitute(k, mapping): substitute(v, mapping) for k, v in node.items()}
    if isinstance(node, list):
        return [substitute(v, mapping) for v in node]
    if isinstance(node, str):
        for benign, hostile in mapping.items():
            node = node.replace(benign, hostile)
    return node


def test_hostile_values_land_as_the_same_scalars() -> None:
    """Rendering commutes with swapping values: the hostile render equals the benign render with
    each benign token replaced, type for type, with no key or document more or less."""
    commands = {f"qqcmd{i}qq": value for i, value in enumerate(COMMAND)}
    mapping = {**NAMES, **VALUES, **commands}
    benign_text = dump(token_spec({k: k for k in mapping}))
    hostile_text = dump(token_spec(mapping))
    benign = render({"benign/spec.yaml": benign_text})
    hostile = render({"hostile/spec.yaml": hostile_text})
    mapping |= {"benign/spec.yaml": "hostile/spec.yaml"} | {
        hashlib.sha256(t.encode()).hexdigest(): hashlib.sha256(h.encode()).hexdigest()
        for t, h in [(benign_text, hostile_text)]
    }
    for parse in (documents, documents_yaml12):
        expected = {
            substitute(p, mapping): substitute(d, mapping) for p, d in parse(benign).items()
        }
        actual = parse(hostile)
        assert set(actual) == set(expected)
        assert len(actual) == 9  # 2 envs x (isvc, rules, kustomization, argocd) + 1 PDB
        for path, docs in actual.items():
            assert strictly_equal(docs, expected[path]), (parse.__name__, path)
        isvc = actual["deploy/0755/no/inferenceservice.yaml"][0]
        assert isvc["spec"]["predictor"]["containers"][0]["command"] == COMMAND


@pytest.mark.parametrize("field", ["command", "model_version"])
def test_a_newline_never_reaches_a_template(field: str) -> None:
    data = spec_data("vision-defects")
    if field == "command":
        data["deploy"]["serving"]["command"] = ["python", "x\nkind: Secret"]
    else:
        data["deploy"]["environments"][0]["model_version"] = "v1\nkind: Secret"
    source = SourceFile("s.yaml", dump(data), "0" * 64)
    loaded, _ = load(source)
    assert loaded is not None
    spec, problems = build_model(loaded)
    assert spec is None and has_errors(problems)


printable = st.text(
    st.characters(codec="utf-8", exclude_categories=("Cc", "Cs", "Zl", "Zp")),
    min_size=1,
    max_size=60,
).filter(lambda s: "${{" not in s and "\ufeff" not in s)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(printable, min_size=1, max_size=4))
def test_any_serving_command_round_trips(command: list[str]) -> None:
    data = spec_data("vision-defects")
    data["deploy"]["serving"]["command"] = command
    files = render({"specs/p.yaml": dump(data)})
    isvc = one(files, "deploy/prod/vision-defects/inferenceservice.yaml")
    # Kubernetes turns `$$` back into `$` (tests/security/test_k8s_expansion.py).
    assert isvc["spec"]["predictor"]["containers"][0]["command"] == to_k8s_literal(command)


# --- the verifiers themselves -----------------------------------------------------------------

WIDGET_CRD = """
apiVersion: v1
kind: List
items:
  - apiVersion: apiextensions.k8s.io/v1
    kind: CustomResourceDefinition
    metadata: {name: widgets.example.com}
    spec:
      group: example.com
      names: {kind: Widget, plural: widgets}
      scope: Namespaced
      versions:
        - name: v0
          served: false
          storage: false
        - name: v1
          served: true
          storage: true
          schema:
            openAPIV3Schema:
              type: object
              properties:
                spec:
                  type: object
                  required: [size]
                  properties:
                    size: {x-kubernetes-int-or-string: true}
                    note: {type: string, nullable: true}
                    mode: {type: string, enum: [a, b], nullable: true}
                    config: {type: object, x-kubernetes-preserve-unknown-fields: true}
                    tags: {type: object, additionalProperties: {type: string}}
                    pruned: {type: object}
                    strategy: {type: string, pattern: "^(?i)(abort|warn)?$"}
                    ports: {type: array, items: {type: integer, minimum: 1, maximum: 65535}}
                    closed: {type: object, additionalProperties: false, properties: {a: {}}}
                    quantity:
                      anyOf: [{type: integer}, {type: string}]
                      pattern: "^[0-9]+(m|Gi)?$"
                      x-kubernetes-int-or-string: true
                    count: {type: integer, minimum: 0, exclusiveMinimum: true}
                    label: {type: string, minLength: 1, maxLength: 3}
                    template:
                      type: object
                      x-kubernetes-embedded-resource: true
                      properties: {spec: {type: object, x-kubernetes-preserve-unknown-fields: true}}
"""


def widget(spec: str, api_version: str = "example.com/v1") -> RenderedFile:
    text = f"apiVersion: {api_version}\nkind: Widget\nmetadata:\n  name: w\nspec:\n{spec}"
    return RenderedFile("w.yaml", text, "t", "t/w.yaml.j2", "", "s.yaml", "")


@pytest.fixture
def widget_context(tmp_path: Path) -> VerifyContext:
    (tmp_path / "crds").mkdir()
    (tmp_path / "crds" / "widgets.yaml").write_text(WIDGET_CRD)
    return VerifyContext(crd_dirs=(tmp_path / "crds",))


@pytest.mark.parametrize(
    "spec",
    [
        "  size: 3\n",
        "  size: 50%\n  note: null\n  mode: null\n  strategy: WARN\n",
        "  size: 1\n  config: {any: {deep: [1, true]}}\n  tags: {a: b}\n",
        "  size: 1\n  template: {apiVersion: v1, kind: Pod, metadata: {name: p}, spec: {x: 1}}\n",
        "  size: 1\n  ports: [80, 443]\n  closed: {a: x}\n  quantity: 500m\n  count: 1\n",
        "  size: 1\n  quantity: 2\n  label: abc\n",
    ],
)
def test_crd_extensions_accept(widget_context: VerifyContext, spec: str) -> None:
    assert verify_custom_resources(widget(spec), widget_context) == []


@pytest.mark.parametrize(
    ("spec", "line", "message"),
    [
        ("  size: 1.5\n", 6, "1.5 is not an integer or a string"),
        ("  size: true\n", 6, "True is not an integer or a string"),
        ("  size: 1\n  note: 3\n", 7, "3 is not of type 'string'"),
        ("  size: 1\n  mode: c\n", 7, "'c' is not one of ['a', 'b']"),
        ("  size: 1\n  tags: {a: 1}\n", 7, "1 is not of type 'string'"),
        ("  size: 1\n  pruned: {x: 1}\n", 7, "unknown field 'x'"),
        ("  size: 1\n  colour: red\n", 7, "unknown field 'colour'"),
        ("  size: 1\n  strategy: maybe\n", 7, "'maybe' does not match"),
        ("  note: x\n", 5, "'size' is a required property"),
        ("  size: 1\n  ports: [0]\n", 7, "0 is less than the minimum of 1"),
        ("  size: 1\n  ports: ['80']\n", 7, "'80' is not of type 'integer'"),
        ("  size: 1\n  closed: {b: 1}\n", 7, "unknown field 'b'"),
        ("  size: 1\n  quantity: 1.5x\n", 7, "'1.5x' does not match"),
        ("  size: 1\n  quantity: 1.5\n", 7, "1.5 is not an integer or a string"),
        ("  size: 1\n  count: 0\n", 7, "0 is less than or equal to the minimum of 0"),
        ("  size: 1\n  label: ''\n", 7, "'' is too short"),
        ("  size: 1\n  label: abcd\n", 7, "'abcd' is too long"),
    ],
)
def test_crd_extensions_reject(
    widget_context: VerifyContext, spec: str, line: int, message: str
) -> None:
    (problem,) = verify_custom_resources(widget(spec), widget_context)
    assert (problem.code, problem.location.line) == ("K8S005", line)
    assert message in problem.message and problem.message.startswith("Widget w: spec")


@pytest.mark.parametrize("version", ["v0", "v2"])
def test_a_version_the_crd_does_not_serve_is_an_error(
    widget_context: VerifyContext, version: str
) -> None:
    (problem,) = verify_custom_resources(
        widget("  size: 1\n", f"example.com/{version}"), widget_context
    )
    assert problem.code == "K8S006" and "served: v1" in problem.message


def test_unreadable_crd_paths_are_reported_once(tmp_path: Path) -> None:
    (tmp_path / "old.yaml").write_text(
        "apiVersion: apiextensions.k8s.io/v1beta1\nkind: CustomResourceDefinition\n"
        "spec: {group: example.com, names: {kind: Widget}}\n"
    )
    context = VerifyContext(crd_dirs=(tmp_path / "old.yaml", tmp_path / "missing"))
    first = verify_custom_resources(widget("  size: 1\n"), context)
    assert [p.code for p in first] == ["K8S007", "K8S007"]
    assert verify_custom_resources(widget("  size: 1\n"), context) == []
    assert context.unverified == {"Widget (example.com/v1): no CRD for it; pass --crd-dir"}


def test_a_broken_inferenceservice_is_reported_at_its_lines() -> None:
    text = (
        "apiVersion: serving.kserve.io/v1beta1\nkind: InferenceService\n"
        "metadata:\n  name: m\n  labels: {flag: on}\n"
        "spec:\n  predictor:\n    minReplicas: '2'\n    scaleMetric: latency\n"
        "    model:\n      modelFormat: {name: sklearn}\n      storgeUri: gs://b/m\n"
    )
    file = RenderedFile("m.yaml", text, "t", "t/m.yaml.j2", "", "s.yaml", "")
    problems = verify_custom_resources(file, VerifyContext())
    found = {(p.code, p.location.line, p.message.split(": ", 2)[1]) for p in problems}
    assert found == {
        ("K8S003", 5, "metadata.labels.flag"),
        ("K8S005", 8, "spec.predictor.minReplicas"),
        ("K8S005", 9, "spec.predictor.scaleMetric"),
        ("K8S005", 12, "spec.predictor.model.storgeUri"),
    }


PDB = "apiVersion: policy/v1\nkind: PodDisruptionBudget\nmetadata: {name: p}\nspec:\n"


@pytest.mark.parametrize(
    "text",
    [
        PDB + "  maxUnavailable: 1\n  selector: {matchLabels: {a: b}}\n",
        PDB + "  maxUnavailable: 1\n  minAvailble: 1\n",
        PDB + "  maxUnavailable: [1]\n",
        PDB + "  unhealthyPodEvictionPolicy: Sometimes\n",
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: {a: 1}\n",
        "apiVersion: v1\nkind: Service\nmetadata: {name: s}\nspec: {ports: [{port: 80}]}\n",
    ],
)
def test_k8s_verifier_agrees_with_kubernetes_validate(text: str) -> None:
    import kubernetes_validate

    try:
        kubernetes_validate.validate(yaml.safe_load(text), KUBERNETES_VERSION, strict=True)
        theirs = True
    except kubernetes_validate.ValidationError:
        theirs = False
    file = RenderedFile("k.yaml", text, "t", "t/k.yaml.j2", "", "s.yaml", "")
    ours = verify_kubernetes(file, VerifyContext())
    assert (not ours) == theirs, ours
    assert all(p.code == "K8S004" for p in ours)


@pytest.mark.parametrize(
    ("metadata", "where"),
    [
        ("{name: Upper}", "metadata.name"),
        ("{name: n, namespace: a.b}", "metadata.namespace"),
        ("{name: n, labels: {a: no}}", "metadata.labels.a"),
        ("{name: n, labels: {a: " + "x" * 64 + "}}", "metadata.labels.a"),
        ("{name: n, labels: {'-a': b}}", "metadata.labels.-a"),
        ("{name: n, annotations: {a: 1}}", "metadata.annotations.a"),
        ("{name: n, annotations: {'a/b/c': x}}", "metadata.annotations.a/b/c"),
    ],
)
def test_metadata_is_checked_like_the_api_server(metadata: str, where: str) -> None:
    text = f"apiVersion: v1\nkind: ConfigMap\nmetadata: {metadata}\n"
    file = RenderedFile("c.yaml", text, "t", "t/c.yaml.j2", "", "s.yaml", "")
    found = [
        (p.code, p.message.split(": ", 2)[1]) for p in verify_kubernetes(file, VerifyContext())
    ]
    assert ("K8S003", where) in found
    assert {code for code, _ in found} <= {"K8S003", "K8S004"}  # the schema may see it too


def test_the_fast_crd_reader_reads_what_the_safe_loader_reads() -> None:
    from compiler.verify.documents import load_documents

    texts = ["a: 1\n---\nb: [1, 2.5, yes, null, ~, '1', 0x1f, '', \"x\", -.inf]\n",
             "a: &x 1\nb: *x\n", "- !!str 1\n", "k: |\n  block\n", "", "---\n...\n"]  # fmt: skip
    texts += [builtin_crd_text(kind) for kind in sorted(CUSTOM_RESOURCES)]  # big, real CRDs
    for text in texts:
        assert load_documents(text) == list(yaml.load_all(text, Loader=yaml.CSafeLoader))
    assert load_documents("day: 2001-01-01\n") == [{"day": "2001-01-01"}]  # as kubectl sends it
