"""Platform-only settings and values a spec may leave to the platform.

Every field of `compiler.plan.Defaults` is settable from platform.yaml `defaults:` (derived, not
listed), strictly validated, explained with file:line; a spec's namespaces and model_uri come
from the platform's namespace patterns and model storage root when the spec leaves them out.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
import typing
from pathlib import Path
from typing import Any

import pytest
import yaml

from compiler.api import CompileOptions, compile_specs, validate
from compiler.diagnostics import Diagnostic, JsonPath
from compiler.errors import UsageError
from compiler.model.types import ImageRef, WebUri
from compiler.plan import Defaults, Plan
from compiler.planner import build_plan, specops_requirement
from compiler.platform import load_platform
from compiler.platform.defaults import (
    ALIASES,
    BUILTIN_LAYER,
    PLATFORM_LAYER,
    ROOT,
    settings_fields,
    settings_model,
    to_data,
)
from compiler.platform.explain import ExplainOptions, explain
from compiler.platform.merge import iter_paths, value_at
from compiler.platform.model import PlatformDefaults
from compiler.platform.settings import defaults_layers
from tests.conftest import REPO

EXAMPLE_PLATFORM = Path("specs/platform/platform.yaml")
FIXTURE_PLATFORM = Path("tests/platform_fixtures/platform.yaml")
SCHEMA = REPO / "schemas" / "platform.v1.json"
HEAD = "apiVersion: specops/v1\nkind: Platform\nmetadata: {name: p}\n"


def _platform(tmp_path: Path, body: str, name: str = "platform.yaml") -> Path:
    path = tmp_path / name
    path.write_text(HEAD + body)
    return path


def _leaves(data: Any, book_prefix: JsonPath = ()) -> list[JsonPath]:
    """Paths of the scalars and lists (a list is set whole) in plain data."""
    if isinstance(data, dict) and data:
        return [p for k, v in data.items() for p in _leaves(v, (*book_prefix, k))]
    return [book_prefix]


def _spec_without_placement(folder: Path, *, runbook: bool = True) -> Path:
    """churn-classifier with no namespaces and no model_uri (and, unless `runbook`, no runbook
    URL), next to a copy of its data."""
    text = (REPO / "specs" / "churn-classifier.yaml").read_text()
    for line in (
        "  model_uri: gs://acme-models/churn-classifier\n",
        "      namespace: ml-staging\n",
        "      namespace: ml-prod\n",
        *(() if runbook else (', runbook_url: "https://runbooks.acme.io/ml"',)),
    ):
        assert line in text
        text = text.replace(line, "")
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copytree(REPO / "specs" / "data", folder / "data", dirs_exist_ok=True)
    path = folder / "churn-classifier.yaml"
    path.write_text(text)
    return path


def _plan(spec: Path, platform: Path | None) -> Plan:
    result = validate([spec], platform)
    assert result.ok, [f"{d.code} {d.message}" for d in result.diagnostics]
    item = result.specs[0]
    assert item.resolved is not None
    return build_plan(item.resolved)


def _codes(diagnostics: list[Diagnostic]) -> list[str]:
    return [d.code for d in diagnostics]


# --- every Defaults field is a platform setting ----------------------------------------------


def test_every_defaults_field_is_a_key_under_platform_defaults() -> None:
    """Fails when a field of Defaults (or of a structure under it) has no platform key."""
    schema = json.loads(SCHEMA.read_text())["$defs"]
    for item in dataclasses.fields(Defaults):
        assert item.name in PlatformDefaults.model_fields, item.name
        assert item.name in schema["PlatformDefaults"]["properties"], "regenerate the schema"
    hints = typing.get_type_hints(Defaults)
    for item in dataclasses.fields(Defaults):
        if dataclasses.is_dataclass(hints[item.name]):
            model = settings_model(hints[item.name])
            assert set(model.model_fields) == {f.name for f in dataclasses.fields(hints[item.name])}


def test_the_platform_can_write_every_built_in_value_back(tmp_path: Path) -> None:
    """Each leaf of the built-in settings validates under its declared type and is read from
    the platform file at `defaults.<path>`."""
    builtin = to_data(Defaults())
    body = yaml.safe_dump({"defaults": builtin}, sort_keys=False)
    platform, problems = load_platform(_platform(tmp_path, body))
    assert platform is not None and problems == []
    _, layer = defaults_layers(platform)
    for path in _leaves(builtin):
        assert value_at(layer.data, (ROOT, *path)) == value_at(builtin, path), path
        assert layer.origin((ROOT, *path)).line > 3, path
    spec = _spec_without_placement(tmp_path / "specs")
    plan = _plan(spec, _platform(tmp_path, body + _PLACEMENT, "full.yaml"))
    # no built-in repository or runbook (CHK024, CHK026): the spec's
    assert (plan.defaults.argocd_repo_url, plan.defaults.runbook_base_url) == (
        "https://github.com/acme/ml-gitops.git",
        "https://runbooks.acme.io/ml",
    )
    # nor a built-in requirement CI installs: derived from this installation
    assert plan.defaults.ci.specops_requirement == specops_requirement(Defaults())
    ci = dataclasses.replace(plan.defaults.ci, specops_requirement=None)
    unset = {"argocd_repo_url": None, "runbook_base_url": None, "ci": ci}
    assert dataclasses.replace(plan.defaults, **unset) == Defaults()


_PLACEMENT = """  environment:
    namespace: "{team}-{env}"
    model_storage_root: gs://acme-models
"""


def test_a_new_field_needs_no_code() -> None:
    @dataclasses.dataclass(frozen=True)
    class Later:
        pushgateway_url: WebUri = "http://pushgateway.monitoring:9091"
        image: ImageRef = "python:3.12-slim"
        note: str = ""  # no constrained type declared: one printable line
        enabled: bool = False

    model = settings_model(Later)
    assert model.model_validate({"pushgateway_url": "https://push.acme.io"})
    for bad in (
        {"pushgateway_url": "ftp://push"},
        {"image": "python"},
        {"note": "two\nlines"},
        {"enabled": "yes"},
        {"typo": 1},
        {"image": None},
    ):
        with pytest.raises(ValueError):
            model.model_validate(bad)

    @dataclasses.dataclass(frozen=True)
    class Unmapped:
        callback: object = None

    with pytest.raises(TypeError, match="cannot set a value of type"):
        settings_fields(Unmapped)


_OVERRIDES = (
    """defaults:
  images: {kfp_base: registry.acme.io/kfp/python:3.11}
  argocd_namespace: gitops
  argocd_path_prefix: clusters/ml
  serving_resources: {memory: 3Gi}
  kserve_model_formats: {lightgbm: lgbserver}
  gpu_node_label: nvidia.com/gpu.product
  explainer_image: registry.acme.io/explainer@sha256:"""
    + "a" * 64
    + """
  runbook_base_url: https://wiki.acme.io/runbooks
  kfp_packages: {pandas: "pandas==2.2.2", polars: "polars>=1.0,<2"}
  kfp_accelerator_resources: {intel: gpu.intel.com/i915}
  ci:
    github_runner: ubuntu-22.04
    kfp_token_secret: ACME_KFP_TOKEN
    gitops_token_secret: ACME_GITOPS
    kfp_namespace: team-ml
    watch_paths: ["templates/**", "!templates/README.md"]
    checkout:
      repository: actions/checkout
      sha: 0123456789abcdef0123456789abcdef01234567
      version: v4.9.9
"""
)


def test_platform_settings_reach_plan_defaults(tmp_path: Path) -> None:
    spec = _spec_without_placement(tmp_path / "specs", runbook=False)
    defaults = _plan(spec, _platform(tmp_path, _OVERRIDES + _PLACEMENT)).defaults
    builtin = Defaults()
    assert defaults.kfp_base_image == "registry.acme.io/kfp/python:3.11"  # grouped spelling
    assert (defaults.argocd_namespace, defaults.argocd_path_prefix) == ("gitops", "clusters/ml")
    assert (defaults.serving_resources.cpu, defaults.serving_resources.memory) == ("1", "3Gi")
    assert defaults.kserve_model_formats["lightgbm"] == "lgbserver"
    assert defaults.kserve_model_formats["sklearn"] == "sklearn"  # merged key by key
    assert defaults.gpu_node_label == "nvidia.com/gpu.product"
    assert defaults.explainer_image.endswith("a" * 64)
    assert defaults.runbook_base_url == "https://wiki.acme.io/runbooks"
    assert defaults.kfp_packages["pandas"] == "pandas==2.2.2"
    assert defaults.kfp_packages["polars"] == "polars>=1.0,<2"
    assert defaults.kfp_packages["pyarrow"] == builtin.kfp_packages["pyarrow"]
    assert defaults.kfp_accelerator_resources["nvidia"] == "nvidia.com/gpu"
    assert defaults.kfp_accelerator_resources["intel"] == "gpu.intel.com/i915"
    ci = defaults.ci
    assert (ci.github_runner, ci.kfp_token_secret, ci.gitops_token_secret) == (
        "ubuntu-22.04",
        "ACME_KFP_TOKEN",
        "ACME_GITOPS",
    )
    assert ci.kfp_namespace == "team-ml"
    assert ci.watch_paths == ("templates/**", "!templates/README.md")
    assert ci.checkout.version == "v4.9.9"
    assert ci.setup_python == builtin.ci.setup_python  # the rest of ci stays built in
    assert ci.gitlab_image == builtin.ci.gitlab_image


def test_settings_reach_the_generated_files(tmp_path: Path) -> None:
    spec = _spec_without_placement(tmp_path / "specs")
    options = CompileOptions([spec], tmp_path / "out", ["ci", "argocd", "kubeflow"])
    options.platform = _platform(tmp_path, _OVERRIDES + _PLACEMENT)
    result = compile_specs(options)
    assert result.ok, [f"{d.code} {d.location} {d.message}" for d in result.diagnostics]
    out = tmp_path / "out"
    workflow = (out / ".github/workflows/specops-churn-classifier-pr.yml").read_text()
    assert "ubuntu-22.04" in workflow
    assert '"actions/checkout@0123456789abcdef0123456789abcdef01234567"  # v4.9.9' in workflow
    application = yaml.safe_load((out / "argocd/prod/churn-classifier.yaml").read_text())
    assert application["metadata"]["namespace"] == "gitops"
    assert application["spec"]["source"]["path"] == "clusters/ml/deploy/prod/churn-classifier"
    pipeline = (out / "kubeflow/churn-classifier/pipeline.py").read_text()
    assert "registry.acme.io/kfp/python:3.11" in pipeline
    assert "pandas==2.2.2" in pipeline


@pytest.mark.parametrize(
    ("setting", "path"),
    [
        ("kfp_base_image: python", ("defaults", "kfp_base_image")),  # no tag: not reproducible
        ("explainer_image: 'ghcr.io/x:1 '", ("defaults", "explainer_image")),
        ("runbook_base_url: ftp://runbooks", ("defaults", "runbook_base_url")),
        ("argocd_repo_url: https://user:pw@github.com/acme/x.git", ("defaults", "argocd_repo_url")),
        ("argocd_namespace: Argo_CD", ("defaults", "argocd_namespace")),
        ("argocd_namespace: null", ("defaults", "argocd_namespace")),
        ("argocd_path_prefix: ../elsewhere", ("defaults", "argocd_path_prefix")),
        ("serving_resources: {cpu: lots}", ("defaults", "serving_resources", "cpu")),
        ("kfp_packages: {pandas: 'pandas @ https://evil.io/p.whl'}", ("defaults", "kfp_packages")),
        ("gpu_node_label: 'bad label'", ("defaults", "gpu_node_label")),
        ("ci: {github_runnr: ubuntu-24.04}", ("defaults", "ci", "github_runnr")),
        ("ci: {kfp_token_secret: kfp-token}", ("defaults", "ci", "kfp_token_secret")),
        ("ci: {gitlab_image: 'python:${{ x }}'}", ("defaults", "ci", "gitlab_image")),
        ("ci: {checkout: {repository: actions/checkout}}", ("defaults", "ci", "checkout")),
        ("ci: {checkout: {repository: a/b, sha: main, version: v1}}", ("defaults", "ci")),
        ("ci: {promote_paths: [/etc/passwd]}", ("defaults", "ci", "promote_paths", 0)),
    ],
)
def test_settings_are_validated_strictly(tmp_path: Path, setting: str, path: JsonPath) -> None:
    platform, problems = load_platform(_platform(tmp_path, f"defaults:\n  {setting}\n"))
    assert platform is None
    assert problems and all(d.is_error for d in problems)
    assert problems[0].location.json_path[: len(path)] == path
    assert problems[0].location.line == 5


def test_a_setting_written_both_ways_is_reported(tmp_path: Path) -> None:
    body = "defaults:\n  images: {kfp_base: python:3.12-slim}\n  kfp_base_image: python:3.11-slim\n"
    platform, problems = load_platform(_platform(tmp_path, body))
    assert platform is not None
    (problem,) = problems
    assert (problem.code, problem.location.line) == ("PLT004", 5)
    assert "defaults.images.kfp_base and defaults.kfp_base_image" in problem.message
    assert set(ALIASES) >= {("kfp_base_image",), ("argocd_project",)}


# --- explain $.defaults ----------------------------------------------------------------------


def test_explain_shows_the_built_in_value_and_the_platform_line(tmp_path: Path) -> None:
    spec = _spec_without_placement(tmp_path / "specs")
    platform = _platform(tmp_path, _OVERRIDES + _PLACEMENT)
    result = explain(ExplainOptions(spec, "$.defaults.ci.github_runner", None, platform))
    assert result.explanation is not None
    builtin, mine = result.explanation.contributions
    assert (builtin.layer, builtin.value, builtin.overridden) == (
        BUILTIN_LAYER,
        "ubuntu-24.04",
        True,
    )
    assert (mine.layer, mine.value, mine.overridden) == (PLATFORM_LAYER, "ubuntu-22.04", False)
    line = platform.read_text().splitlines()[mine.location.line - 1]
    assert "github_runner: ubuntu-22.04" in line
    assert result.explanation.final == "ubuntu-22.04"
    text = result.explanation.text()
    assert "$.defaults.ci.github_runner in the platform-wide defaults" in text
    assert f"{platform.as_posix()}:{mine.location.line}:" in text


def test_explain_of_a_grouped_spelling_and_of_a_mapping(tmp_path: Path) -> None:
    spec = _spec_without_placement(tmp_path / "specs")
    platform = _platform(tmp_path, _OVERRIDES + _PLACEMENT)
    result = explain(ExplainOptions(spec, "$.defaults.kfp_base_image", None, platform))
    assert result.explanation is not None
    (_, mine) = result.explanation.contributions
    assert "kfp_base: registry.acme.io" in platform.read_text().splitlines()[mine.location.line - 1]
    result = explain(ExplainOptions(spec, "$.defaults.kfp_packages", None, platform))
    assert result.explanation is not None
    assert result.explanation.rule.strategy == "deep"
    assert [c.overridden for c in result.explanation.contributions] == [False, False]


def test_explain_of_defaults_without_a_platform_and_with_env() -> None:
    spec = Path("specs/churn-classifier.yaml")
    result = explain(ExplainOptions(spec, "$.defaults.kfp_base_image"))
    assert result.explanation is not None
    (builtin,) = result.explanation.contributions
    assert (builtin.layer, builtin.value) == (BUILTIN_LAYER, Defaults().kfp_base_image)
    with pytest.raises(UsageError, match="leave out --env"):
        explain(ExplainOptions(spec, "$.defaults.kfp_base_image", "prod"))
    with pytest.raises(UsageError, match="has no 'kfp_base_imag'"):
        explain(ExplainOptions(spec, "$.defaults.kfp_base_imag"))


# --- namespaces and model storage from the platform ------------------------------------------


def test_a_spec_without_placement_compiles_under_the_example_platform(tmp_path: Path) -> None:
    spec = _spec_without_placement(tmp_path / "specs")
    options = CompileOptions([spec], tmp_path / "out")  # every target
    options.platform = EXAMPLE_PLATFORM
    result = compile_specs(options)
    assert result.ok, [f"{d.code} {d.location} {d.message}" for d in result.diagnostics]
    out = tmp_path / "out"
    for env in ("staging", "prod"):
        service = yaml.safe_load((out / f"deploy/{env}/churn-classifier/inferenceservice.yaml")
                                 .read_text())  # fmt: skip
        assert service["metadata"]["namespace"] == f"growth-{env}"
        version = {"staging": "v12", "prod": "v11"}[env]
        storage = service["spec"]["predictor"]["model"]["storageUri"]
        assert storage.startswith(f"gs://acme-models/churn-classifier/{version}")
        kustomization = yaml.safe_load(
            (out / f"deploy/{env}/churn-classifier/kustomization.yaml").read_text()
        )
        assert kustomization["namespace"] == f"growth-{env}"
        application = yaml.safe_load((out / f"argocd/{env}/churn-classifier.yaml").read_text())
        assert application["spec"]["destination"]["namespace"] == f"growth-{env}"
    pipeline = (out / "kubeflow/churn-classifier/pipeline.py").read_text()
    assert "MODEL_ROOT = 'gs://acme-models/churn-classifier'" in pipeline
    ir = list(yaml.safe_load_all((out / "kubeflow/churn-classifier/pipeline.yaml").read_text()))
    parameters = ir[0]["root"]["inputDefinitions"]["parameters"]
    assert parameters["model_root"]["defaultValue"] == "gs://acme-models/churn-classifier"
    card = (out / "model-cards/churn-classifier.md").read_text()
    assert "growth-prod" in card


def test_explain_names_the_platform_lines_of_filled_values(tmp_path: Path) -> None:
    spec = _spec_without_placement(tmp_path / "specs")
    lines = (REPO / EXAMPLE_PLATFORM).read_text().splitlines()
    result = explain(ExplainOptions(spec, "$.deploy.model_uri", None, EXAMPLE_PLATFORM))
    assert result.explanation is not None
    assert result.explanation.final == "gs://acme-models/churn-classifier"
    (root,) = result.explanation.contributions
    assert root.layer == "platform model storage root"
    assert "model_storage_root: gs://acme-models" in lines[root.location.line - 1]
    result = explain(ExplainOptions(spec, "$.namespace", "prod", EXAMPLE_PLATFORM))
    assert result.explanation is not None
    (pattern,) = result.explanation.contributions
    assert (pattern.layer, pattern.value) == ("platform defaults", "growth-prod")
    assert 'namespace: "{team}-{env}"' in lines[pattern.location.line - 1]


def test_the_spec_still_wins_over_the_platform(tmp_path: Path) -> None:
    plan = _plan(Path("specs/churn-classifier.yaml"), EXAMPLE_PLATFORM)
    assert [e.namespace for e in plan.environments] == ["ml-staging", "ml-prod"]
    assert plan.spec.deploy.model_uri == "gs://acme-models/churn-classifier"
    body = _PLACEMENT.replace("gs://acme-models", "s3://elsewhere/{team}/{spec}/models")
    spec = _spec_without_placement(tmp_path / "specs")
    plan = _plan(spec, _platform(tmp_path, "defaults:\n" + body))
    assert plan.spec.deploy.model_uri == "s3://elsewhere/growth/churn-classifier/models"
    assert plan.environments[1].storage_uri == "s3://elsewhere/growth/churn-classifier/models/v11"


def test_without_a_platform_omitted_values_are_located_errors(tmp_path: Path) -> None:
    spec = _spec_without_placement(tmp_path / "specs")
    result = validate([spec])
    assert _codes(result.diagnostics) == ["CHK019", "CHK018", "CHK018"]
    model_uri, staging, prod = result.diagnostics
    text = spec.read_text().splitlines()
    assert text[model_uri.location.line - 1] == "deploy:"
    assert text[staging.location.line - 1].strip() == "- name: staging"
    assert text[prod.location.line - 1].strip() == "- name: prod"
    assert staging.hint is not None and "namespace pattern" in staging.hint


def test_a_platform_that_gives_neither_leaves_the_errors(tmp_path: Path) -> None:
    spec = _spec_without_placement(tmp_path / "specs")
    platform = _platform(tmp_path, "environments:\n  - {name: staging}\n  - {name: prod}\n")
    assert _codes(validate([spec], platform).diagnostics) == ["CHK019", "CHK018", "CHK018"]
    only_prod = "environments:\n  - {name: staging}\n  - {name: prod, namespace: 'ml-{env}'}\n"
    result = validate([spec], _platform(tmp_path, only_prod, "half.yaml"))
    assert _codes(result.diagnostics) == ["CHK019", "CHK018"]
    assert "'staging'" in result.diagnostics[1].message


def test_different_storage_roots_are_reported(tmp_path: Path) -> None:
    spec = _spec_without_placement(tmp_path / "specs")
    result = validate([spec], FIXTURE_PLATFORM)
    plt014 = next(d for d in result.diagnostics if d.code == "PLT014")
    assert "gs://acme-models-staging/churn-classifier" in plt014.message
    assert [r.file for r in plt014.related] == [FIXTURE_PLATFORM.as_posix()] * 2
    fixture = (REPO / FIXTURE_PLATFORM).read_text().splitlines()
    assert all("model_storage_root" in fixture[r.line - 1] for r in plt014.related)


def test_the_rules_check_filled_namespaces(tmp_path: Path) -> None:
    spec = _spec_without_placement(tmp_path / "specs")
    platform = _platform(tmp_path, "defaults:\n" + _PLACEMENT.replace("{team}-{env}", "{team}"))
    (duplicate,) = validate([spec], platform).diagnostics
    assert duplicate.code == "CHK013"
    assert "'growth'" in duplicate.message


def test_a_storage_root_takes_only_team_and_spec_placeholders(tmp_path: Path) -> None:
    body = "defaults:\n" + _PLACEMENT.replace("gs://acme-models", "gs://acme-models/{env}")
    platform, problems = load_platform(_platform(tmp_path, body))
    assert platform is None
    assert "placeholders are {team} and {spec}" in problems[0].message


def test_every_path_of_the_example_platform_defaults_is_known() -> None:
    """The example platform uses the flat keys too, and the explain document knows them all."""
    platform, problems = load_platform(EXAMPLE_PLATFORM)
    assert platform is not None and problems == []
    (_, layer) = defaults_layers(platform)
    assert "argocd_namespace" in layer.data[ROOT]
    known = set(iter_paths(to_data(Defaults())))
    assert all(path[1:] in known for path in iter_paths(layer.data) if len(path) > 1)
