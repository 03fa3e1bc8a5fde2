"""The platform layer: platform.yaml, layers and merge rules, template layering, `specops targets`,
`specops templates check` and `specops init`."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import jinja2
import jsonschema
import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from compiler.api import CompileOptions, compile_specs, validate
from compiler.cli import run
from compiler.diagnostics import JsonPath, Location
from compiler.plan import Plan
from compiler.planner import build_plan
from compiler.platform import load_platform
from compiler.platform.defaults import rules_markdown
from compiler.platform.merge import (
    ENVIRONMENT_RULES,
    Layer,
    RuleBook,
    contributions,
    merge_layers,
    value_at,
)
from compiler.platform.usage import StaticAnalyser
from compiler.schema import platform_schema_text
from compiler.templates_check import TemplatesCheckOptions, check_templates
from tests.conftest import REPO

FIXTURES = Path("tests/platform_fixtures")
PLATFORM = FIXTURES / "platform.yaml"
SPEC = FIXTURES / "specs" / "churn.yaml"
EXAMPLE_PLATFORM = Path("specs/platform/platform.yaml")
SCHEMA = REPO / "schemas" / "platform.v1.json"


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = run(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _plan(platform: Path | None = PLATFORM, spec: Path = SPEC) -> Plan:
    result = validate([spec], platform)
    assert result.ok, result.diagnostics
    item = result.specs[0]
    assert item.resolved is not None
    return build_plan(item.resolved)


def _platform_copy(tmp_path: Path, old: str, new: str) -> Path:
    text = (REPO / PLATFORM).read_text()
    assert old in text
    (tmp_path / "templates").mkdir(exist_ok=True)
    target = tmp_path / "platform.yaml"
    target.write_text(text.replace(old, new))
    return target


# --- the platform file -----------------------------------------------------------------------


def test_committed_schema_has_not_drifted() -> None:
    assert SCHEMA.read_text() == platform_schema_text(), (
        "regenerate: specops schema --kind Platform > schemas/platform.v1.json"
    )


@pytest.mark.parametrize("path", [PLATFORM, EXAMPLE_PLATFORM], ids=str)
def test_platform_files_are_valid_and_match_the_schema(path: Path) -> None:
    platform, problems = load_platform(path)
    assert platform is not None and problems == []
    jsonschema.validate(yaml.safe_load((REPO / path).read_text()), json.loads(SCHEMA.read_text()))


def test_platform_errors_are_located_like_spec_errors(tmp_path: Path) -> None:
    bad = _platform_copy(tmp_path, "defaults:\n", "defualts:\n")
    result = validate([SPEC], bad)
    assert not result.ok and result.specs == []
    (diagnostic,) = result.diagnostics
    assert diagnostic.code == "SPEC101"
    assert (diagnostic.location.file, diagnostic.location.line) == (bad.as_posix(), 10)
    assert diagnostic.hint == "did you mean 'defaults'?"


def test_a_spec_is_not_a_platform() -> None:
    result = validate([SPEC], SPEC)
    kind = next(d for d in result.diagnostics if d.location.json_path == ("kind",))
    assert kind.code == "SPEC104"
    assert "'Platform'" in kind.message


@pytest.mark.parametrize(
    ("old", "new", "code"),
    [
        ("templates: [templates]", "templates: [missing]", "PLT001"),
        (
            "environments:\n  - name: staging\n",
            "environments:\n  - name: prod\n  - name: staging\n",
            "PLT002",
        ),
        (
            "environments: {prod: error}\n  allowed",
            "environments: {qa: error}\n  allowed",
            "PLT003",
        ),
    ],
)
def test_platform_checks(tmp_path: Path, old: str, new: str, code: str) -> None:
    platform, problems = load_platform(_platform_copy(tmp_path, old, new))
    assert platform is not None
    assert [d.code for d in problems] == [code]
    assert problems[0].location.line > 1


def test_missing_platform_file_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _run(capsys, "validate", str(SPEC), "--platform", "nowhere.yaml")
    assert code == 2
    assert err == "specops: error: --platform: no such file: nowhere.yaml\n"


def test_directory_discovery_skips_platform_files() -> None:
    assert len(validate([Path("specs")]).specs) == 3
    assert validate([FIXTURES]).specs[0].path != PLATFORM.as_posix()
    assert all(s.path != PLATFORM.as_posix() for s in validate([FIXTURES]).specs)


def test_cli_defaults_to_platform_yaml_in_the_working_directory(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shutil.copytree(REPO / FIXTURES / "templates", tmp_path / "templates")
    shutil.copy(REPO / PLATFORM, tmp_path / "platform.yaml")
    (tmp_path / "specs").mkdir()
    shutil.copy(REPO / FIXTURES / "policies" / "owners_required.fail.yaml", tmp_path / "specs")
    monkeypatch.chdir(tmp_path)
    code, out, _ = _run(capsys, "validate", "specs")
    assert code == 1 and "POL008" in out
    (tmp_path / "platform.yaml").unlink()
    code, out, _ = _run(capsys, "validate", "specs")
    assert "POL008" not in out and "CHK024" in out  # no policy; no GitOps repository either


# --- layers ----------------------------------------------------------------------------------


def test_docs_document_exactly_the_declared_merge_rules() -> None:
    assert rules_markdown() in (REPO / "docs" / "platform.md").read_text()


def test_spec_wide_layers_follow_their_merge_rules() -> None:
    spec = _plan().spec
    assert (spec.model.resources.cpu, spec.model.resources.memory) == ("2", "16Gi")  # deep
    assert spec.model.node_selector == {"pool": "training"}  # deep, from the platform only
    assert [(t.key, t.value) for t in spec.model.tolerations] == [("dedicated", "churn")]  # by key
    assert spec.metadata.labels == {"managed-by": "specops", "cost-center": "growth"}
    assert spec.deploy.runtime == "kserve"


def test_environment_layers_and_platform_settings() -> None:
    staging, prod = _plan().environments
    assert (staging.replicas.min, staging.replicas.max) == (1, 2)
    assert (prod.replicas.min, prod.replicas.max) == (2, 6)
    assert (prod.resources.cpu, prod.resources.memory) == ("1", "4Gi")
    assert (staging.cluster, prod.cluster) == ("in-cluster", "prod-east")
    assert (staging.approval_required, prod.approval_required) == (False, True)
    assert (prod.argocd_project, prod.kfp_host, prod.model_storage_root) == (
        "ml-prod",
        "https://kfp.acme.io",
        "gs://acme-models-prod",
    )


def test_platform_defaults_become_plan_defaults() -> None:
    defaults = _plan().defaults
    assert defaults.kfp_base_image.startswith("registry.acme.io/base/python:3.11-slim@sha256:")
    assert defaults.argocd_project == "ml"
    assert defaults.argocd_repo_url == "https://github.com/acme/gitops.git"
    assert defaults.argocd_target_revision == "main"  # not set by the platform: built in
    assert defaults.kfp_host_secret == "ACME_KFP_HOST"


def test_without_a_platform_the_plan_is_the_spec() -> None:
    plan = _plan(None)
    assert plan.spec.model.node_selector == {}
    assert plan.defaults.argocd_project is None  # no built-in project: the spec's
    assert plan.environments[1].argocd_project == "growth"


def test_namespace_pattern_is_the_layer_under_the_spec() -> None:
    item = validate([SPEC], PLATFORM).specs[0]
    assert item.resolved is not None
    staging = item.resolved.layered.environments[0]
    assert staging.layers[0].name == "platform defaults"
    assert staging.layers[0].data["namespace"] == "growth-staging"  # "{team}-{env}", filled in


def test_a_namespace_pattern_that_overflows_is_reported(tmp_path: Path) -> None:
    platform = _platform_copy(tmp_path, 'namespace: "{team}-{env}"', 'namespace: "{team}-{env}-"')
    codes = [d.code for d in validate([SPEC], platform).diagnostics]
    assert codes == ["PLT010", "PLT010"]


def test_layer_conflicts_are_reported(tmp_path: Path) -> None:
    platform = _platform_copy(tmp_path, "replicas: {min: 2, max: 10}", "replicas: {min: 8}")
    (diagnostic,) = validate([SPEC], platform).diagnostics
    assert diagnostic.code == "PLT012"
    assert diagnostic.location.file == platform.as_posix()
    assert "max set at tests/platform_fixtures/specs/churn.yaml:34" in diagnostic.message


def test_a_platform_canary_on_the_first_environment_is_reported(tmp_path: Path) -> None:
    platform = _platform_copy(
        tmp_path,
        '    namespace: "{team}-{env}"\n',
        '    namespace: "{team}-{env}"\n    canary: {traffic_percent: 5}\n',
    )
    (diagnostic,) = validate([SPEC], platform).diagnostics
    assert (diagnostic.code, diagnostic.location.file) == ("PLT013", platform.as_posix())
    assert diagnostic.location.line == 23


def test_an_environment_the_platform_does_not_know_is_a_warning() -> None:
    result = validate([Path("specs/demand-forecast.yaml")], PLATFORM)
    assert {d.code for d in result.diagnostics} >= {"PLT011"}


# --- template layering -----------------------------------------------------------------------


def test_platform_overrides_one_template_and_adds_a_target(tmp_path: Path) -> None:
    options = CompileOptions([SPEC], tmp_path, ["model-card", "platform-settings"])
    options.platform = PLATFORM
    result = compile_specs(options)
    assert result.ok, result.diagnostics
    card = (tmp_path / "model-cards" / "churn.md").read_text()
    assert "# churn (team growth)" in card  # the platform's card.md.j2
    assert "| prod | growth-prod | prod-east | ml-prod |" in card
    built_in = json.loads((tmp_path / "model-cards" / "churn.json").read_text())
    assert built_in["name"] == "churn"  # card.json.j2 still comes from templates/
    settings = json.loads((tmp_path / "platform" / "churn-prod.json").read_text())
    assert settings["kfp_host"] == "https://kfp.acme.io"
    assert settings["kfp_base_image"].startswith("registry.acme.io/base/python:3.11-slim@sha256:")


def test_templates_flag_wins_over_the_platform(tmp_path: Path) -> None:
    mine = tmp_path / "mine" / "model-card"
    mine.mkdir(parents=True)
    (mine / "card.md.j2").write_text("mine: {{ spec.metadata.name | md }}\n")
    options = CompileOptions([SPEC], tmp_path / "out", ["model-card"], [tmp_path / "mine"])
    options.platform = PLATFORM
    assert compile_specs(options).ok
    assert (tmp_path / "out" / "model-cards" / "churn.md").read_text().endswith("mine: churn\n")


def test_targets_lists_where_files_come_from(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, "targets", "--platform", str(PLATFORM))
    assert code == 0
    lines = out.splitlines()
    card = lines.index(next(line for line in lines if line.startswith("model-card ")))
    assert lines[card].split() == ["model-card", "templates/model-card"]
    assert lines[card + 1].split() == ["card.md.j2", "from", f"{FIXTURES}/templates/model-card"]
    settings = next(line for line in lines if line.startswith("platform-settings"))
    assert settings.split()[1] == f"{FIXTURES}/templates/platform-settings"


# --- templates check -------------------------------------------------------------------------


def test_templates_check_passes_for_the_fixture_platform(
    capsys: pytest.CaptureFixture[str],
) -> None:
    args = ["templates", "check", "--platform", str(PLATFORM), "--specs", str(SPEC.parent)]
    code, out, _ = _run(capsys, *args)
    assert code == 0, out
    assert "TPL020" not in out and "RND001" not in out
    assert "targets against 1 spec(s)" in out or "target(s) against 1 spec(s)" in out


def _broken_dir(tmp_path: Path) -> Path:
    target = tmp_path / "broken" / "broken"
    target.mkdir(parents=True)
    (target / "target.yaml").write_text(
        "name: broken\ndescription: templates with mistakes\noutputs:\n"
        "  - {template: bad.txt.j2, path: 'broken/{spec}.txt', header: none}\n"
        "  - {template: data.json.j2, path: 'broken/{spec}.json', header: none, verify: [json]}\n"
    )
    (target / "bad.txt.j2").write_text(
        "{% if spec.model.framework == 'never' %}{{ spec.model.imag | yaml }}{% endif %}\n"
        "name: {{ spec.metadata.name | yaml }}\n"
        "{{ spec.metadata.nmae | yaml }}\n"
    )
    (target / "data.json.j2").write_text('{"name": {{ spec.metadata.name | json }},}\n')
    return tmp_path / "broken"


def test_templates_check_locates_template_problems(tmp_path: Path) -> None:
    result = check_templates(TemplatesCheckOptions(_broken_dir(tmp_path), [SPEC.parent]))
    assert not result.ok
    by_code = {d.code: d for d in result.diagnostics}
    template = (tmp_path / "broken" / "broken" / "bad.txt.j2").as_posix()
    render = by_code["RND001"]
    assert (render.location.file, render.location.line) == (template, 3)
    assert "spec field $.metadata.nmae" in render.message
    static = [d for d in result.diagnostics if d.code == "TPL020"]
    assert [(d.location.line, d.hint) for d in static] == [
        (1, "did you mean 'image'?"),
        (3, "did you mean 'name'?"),
    ]
    verify = by_code["VER002"]
    assert verify.location.file == (tmp_path / "broken" / "broken" / "data.json.j2").as_posix()
    assert "broken/churn.json" in verify.message


def test_templates_check_reports_a_broken_target_definition(tmp_path: Path) -> None:
    folder = tmp_path / "dir" / "odd"
    folder.mkdir(parents=True)
    (folder / "target.yaml").write_text("name: other\ndescription: x\noutputs: []\n")
    result = check_templates(TemplatesCheckOptions(tmp_path / "dir", [SPEC.parent]))
    assert [d.code for d in result.diagnostics] == ["TPL001"]


def test_templates_check_warns_about_fields_no_template_reads(tmp_path: Path) -> None:
    spec = tmp_path / "spec.yaml"
    text = (REPO / SPEC).read_text().replace("deploy:\n", "deploy:\n  runtime: kserve\n")
    spec.write_text(text)
    diagnostics = check_templates(TemplatesCheckOptions(specs=[spec])).diagnostics
    unread = [d for d in diagnostics if d.code == "TPL030"]
    paths = [d.location.json_path for d in unread]
    if ("deploy", "runtime") in paths:  # no built-in template reads it (today)
        where = unread[paths.index(("deploy", "runtime"))].location
        assert (where.file, where.line) == (spec.as_posix(), 25)


def test_static_analysis_follows_names_bound_by_set_and_for() -> None:
    source = (
        "{% set s = spec %}{% for src in s.data.sources %}{{ src.uri | yaml }}{% endfor %}"
        "{{ plan.environments | map(attribute='namespace') | list | json }}"
        "{{ env.canary_percent }}{{ spec.code | json }}"
    )
    reads = StaticAnalyser().run(jinja2.Environment().parse(source))
    assert reads.missing == []
    assert reads.reads(("data", "sources", "[]", "uri"))
    assert not reads.reads(("data", "sources", "[]", "format"))
    assert reads.reads(("deploy", "environments", "[]", "namespace"))
    assert reads.reads(("deploy", "environments", "[]", "canary", "traffic_percent"))
    assert reads.reads(("code", "revision"))  # the whole of spec.code went into json


# --- init ------------------------------------------------------------------------------------


@pytest.mark.parametrize("platform", [None, PLATFORM, EXAMPLE_PLATFORM], ids=str)
def test_init_scaffolds_a_spec_that_validates(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    platform: Path | None,
) -> None:
    extra = ["--platform", str(REPO / platform)] if platform else []
    monkeypatch.chdir(tmp_path)
    code, out, err = _run(capsys, "init", "fraud-score", "--team", "risk", *extra)
    assert (code, err) == (0, "")
    assert out == "wrote specs/mlpipeline.v1.json\nwrote specs/fraud-score.yaml\n"
    code, out, _ = _run(capsys, "validate", "specs", *extra)
    assert (code, out) == (0, "1 spec valid\n")


def test_init_follows_the_platform(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert run(["init", "fraud-score", "--team", "risk", "--platform", str(REPO / PLATFORM)]) == 0
    spec = yaml.safe_load((tmp_path / "specs" / "fraud-score.yaml").read_text())
    assert [e["name"] for e in spec["deploy"]["environments"]] == ["staging", "prod"]
    assert spec["deploy"]["environments"][1]["namespace"] == "risk-prod"
    assert spec["data"]["sources"][0]["uri"] == "gs://acme-data/fraud-score/train.parquet"


def test_init_refuses_what_it_cannot_write(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert _run(capsys, "init", "Bad_Name")[0] == 2
    assert _run(capsys, "init", "demo")[0] == 0
    assert _run(capsys, "init", "demo")[0] == 2  # exists already


def test_init_writes_nothing_when_the_platform_forbids_the_scaffold(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    platform = _platform_copy(tmp_path, "  data_root: gs://acme-data\n", "")
    monkeypatch.chdir(tmp_path)
    code, _, err = _run(capsys, "init", "demo", "--platform", str(platform))
    assert code == 1
    assert "POL003" in err
    assert not (tmp_path / "specs" / "demo.yaml").exists()


# --- merge properties ------------------------------------------------------------------------

_KEYS = st.sampled_from(["replicas", "resources", "gpu", "min", "max", "cpu", "namespace"])
_LEAF = st.one_of(st.integers(-3, 3), st.sampled_from(["a", "b"]), st.none())
_DOCS = st.recursive(_LEAF, lambda inner: st.dictionaries(_KEYS, inner, max_size=4), max_leaves=12)


def _leaves(node: object, book: RuleBook, path: JsonPath = ()) -> list[JsonPath]:
    """Paths whose value a higher layer sets whole (leaves, and containers that replace)."""
    if isinstance(node, dict) and book.rule(path).strategy == "deep":  # {} sets nothing
        return [p for k, v in node.items() for p in _leaves(v, book, (*path, k))]
    return [path]


@given(st.lists(st.dictionaries(_KEYS, _DOCS, max_size=4), min_size=1, max_size=4))
def test_the_highest_layer_that_sets_a_value_wins(docs: list[dict[str, object]]) -> None:
    book = RuleBook(ENVIRONMENT_RULES)
    layers = [Layer(f"layer {i}", d, lambda p: Location("x")) for i, d in enumerate(docs)]
    merged = merge_layers(layers, book)
    for path in _leaves(docs[-1], book):
        if path:
            assert value_at(merged, path) == value_at(docs[-1], path)
            (*_, top) = contributions(layers, book, path)
            assert not top.overridden
