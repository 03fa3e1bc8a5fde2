"""A spec edit touches only the outputs whose meaning it changes.

The edit tests compile the bundled examples into a folder, edit one field of one spec, compile
again into the same folder and compare the two trees byte for byte. The manifest always
changes (it records the spec's hash), and so does the spec's own facts file
`.specops/facts/<name>.json` whenever the edit changes its plan; every other changed file must be
one the edit means.
KServe copies an InferenceService's labels and annotations into its Knative revision, so an
InferenceService that changed for an unrelated edit would roll out an unchanged model.
Then: what the templates read statically, the release workflow giving the uploaded pipeline
its spec's hash (and a kfp.local run of that upload recording it), and the manifest formats.
"""

from __future__ import annotations

import hashlib
import importlib.util
import io
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from kfp import components

from compiler.api import CompileOptions, compile_specs
from compiler.facts_file import facts_path
from compiler.facts_record import dump_facts
from compiler.manifest import (
    FACTS_DIR,
    FACTS_TARGET,
    MANIFEST_PATH,
    ManifestError,
    read_manifest_document,
)
from compiler.platform.usage import Reads, StaticAnalyser
from compiler.render import Renderer
from compiler.run import execute_local
from tests.conftest import REPO

CHURN = "specs/churn-classifier.yaml"
DEMAND = "specs/demand-forecast.yaml"
CHURN_FACTS = facts_path("churn-classifier")  # an edit that changes a plan changes this file
DEMAND_FACTS = facts_path("demand-forecast")


def _compile() -> None:
    result = compile_specs(CompileOptions([Path("specs")], Path("out")))
    assert result.ok, [f"{d.location}: {d.message}" for d in result.diagnostics]


def _tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


@pytest.fixture(scope="module")
def baseline(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The examples and their compiled output, compiled with relative paths from their folder."""
    root = tmp_path_factory.mktemp("baseline")
    shutil.copytree(REPO / "specs", root / "specs")
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(root)
        _compile()
    return root


@pytest.fixture
def work(baseline: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A copy of the baseline as the working directory (the spec paths stay `specs/...`)."""
    root = tmp_path / "work"
    shutil.copytree(baseline, root, symlinks=True)
    monkeypatch.chdir(root)
    yield root


def _edit(work: Path, spec: str, old: str, new: str) -> set[str]:
    """Replace the one occurrence of `old` in `spec`, recompile; the paths whose bytes changed."""
    path = work / spec
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, f"{old!r} is not once in {spec}"
    before = _tree(work / "out")
    path.write_text(text.replace(old, new), encoding="utf-8")
    _compile()
    after = _tree(work / "out")
    return {p for p in before.keys() | after.keys() if before.get(p) != after.get(p)}


def _inference_services(work: Path) -> dict[str, bytes]:
    return {p: d for p, d in _tree(work / "out").items() if p.endswith("/inferenceservice.yaml")}


def test_recompiling_an_unchanged_spec_changes_nothing(work: Path) -> None:
    assert _edit(work, CHURN, "team: growth\n", "team: growth\n") == set()


def test_a_comment_changes_only_the_manifest(work: Path) -> None:
    changed = _edit(work, CHURN, "# Where Argo CD syncs", "# Where, said a reviewer, Argo CD syncs")
    assert changed == {MANIFEST_PATH}


def test_the_drift_threshold_changes_only_monitoring_and_its_alert_rule(work: Path) -> None:
    changed = _edit(work, CHURN, "threshold: 0.2,", "threshold: 0.3,")
    assert changed == {
        "kubeflow/churn-classifier/monitoring.py",
        "kubeflow/churn-classifier/monitoring.yaml",
        "deploy/prod/churn-classifier/prometheusrule.yaml",  # drift alerts in the last env
        CHURN_FACTS,
        MANIFEST_PATH,
    }


def test_the_description_changes_only_the_model_card(work: Path) -> None:
    changed = _edit(work, CHURN, "description: Predicts which", "description: Guesses which")
    assert changed == {
        "model-cards/churn-classifier.md",
        "model-cards/churn-classifier.json",
        MANIFEST_PATH,
    }


def test_one_environments_replicas_change_only_its_serving_files(work: Path) -> None:
    changed = _edit(work, CHURN, "replicas: {min: 1, max: 2}", "replicas: {min: 1, max: 3}")
    assert changed == {
        "deploy/staging/churn-classifier/inferenceservice.yaml",
        CHURN_FACTS,
        MANIFEST_PATH,
    }


def test_two_replicas_add_a_disruption_budget_to_that_environment_only(work: Path) -> None:
    changed = _edit(work, CHURN, "replicas: {min: 1, max: 2}", "replicas: {min: 2, max: 2}")
    assert changed == {
        "deploy/staging/churn-classifier/inferenceservice.yaml",
        "deploy/staging/churn-classifier/poddisruptionbudget.yaml",
        "deploy/staging/churn-classifier/kustomization.yaml",
        CHURN_FACTS,
        MANIFEST_PATH,
    }


def test_a_hyperparameter_leaves_every_inference_service_byte_identical(work: Path) -> None:
    before = _inference_services(work)
    changed = _edit(work, CHURN, "n_estimators: 150", "n_estimators: 200")
    assert _inference_services(work) == before
    assert changed == {
        "kubeflow/churn-classifier/pipeline.py",
        "kubeflow/churn-classifier/pipeline.yaml",
        "model-cards/churn-classifier.json",  # the card lists the estimator's parameters
        CHURN_FACTS,
        MANIFEST_PATH,
    }


def test_a_promotion_changes_what_serves_that_environment_and_nothing_else(work: Path) -> None:
    changed = _edit(work, CHURN, "model_version: v11", "model_version: v12")
    assert changed == {
        "deploy/prod/churn-classifier/inferenceservice.yaml",  # its storageUri
        "argocd/prod/churn-classifier.yaml",  # its model version annotation and info
        "kubeflow/churn-classifier/monitoring.py",  # the reference profile of what prod serves
        "kubeflow/churn-classifier/monitoring.yaml",
        "model-cards/churn-classifier.md",
        ".github/workflows/specops-churn-classifier-release.yml",  # the promotion's title
        "ci/gitlab/churn-classifier.gitlab-ci.yml",
        # the roc_auc gate compares with what prod serves: its champion is now v12
        "kubeflow/churn-classifier/pipeline.py",
        "kubeflow/churn-classifier/pipeline.yaml",
        "model-cards/churn-classifier.json",
        CHURN_FACTS,
        MANIFEST_PATH,
    }


def test_a_schedule_changes_only_the_release_workflows(work: Path) -> None:
    changed = _edit(work, CHURN, 'retrain: "0 3 * * 1"', 'retrain: "0 4 * * 1"')
    assert changed == {
        ".github/workflows/specops-churn-classifier-release.yml",
        "ci/gitlab/churn-classifier.gitlab-ci.yml",
        CHURN_FACTS,
        MANIFEST_PATH,
    }


def test_owners_are_shown_in_argo_cd_and_the_card_never_on_cluster_objects(work: Path) -> None:
    changed = _edit(work, CHURN, "owners: [ml-growth@example.com]", "owners: [ml@example.com]")
    assert changed == {
        "argocd/staging/churn-classifier.yaml",
        "argocd/prod/churn-classifier.yaml",
        "model-cards/churn-classifier.md",
        "model-cards/churn-classifier.json",
        CHURN_FACTS,
        MANIFEST_PATH,
    }


def test_a_canary_edit_changes_that_inference_service_and_the_card(work: Path) -> None:
    changed = _edit(work, DEMAND, "traffic_percent: 20", "traffic_percent: 50")
    assert changed == {
        "deploy/prod/demand-forecast/inferenceservice.yaml",
        "model-cards/demand-forecast.md",  # the card's environment table shows the canary
        DEMAND_FACTS,
        MANIFEST_PATH,
    }


def _manifest(work: Path) -> dict[str, Any]:
    document: dict[str, Any] = json.loads((work / "out" / MANIFEST_PATH).read_bytes())
    return document


def _facts(work: Path, relative: str = CHURN_FACTS) -> dict[str, Any]:
    document: dict[str, Any] = json.loads((work / "out" / relative).read_bytes())
    return document


def _of_spec(manifest: dict[str, Any], spec: str) -> dict[str, Any]:
    """What the manifest records of one spec: its hash and its files' entries."""
    files = {p: e for p, e in manifest["files"].items() if e["spec"] == spec}
    return {"spec": manifest["specs"][spec], "files": files}


def test_the_manifest_records_each_specs_new_sha256(work: Path) -> None:
    _edit(work, CHURN, "threshold: 0.2,", "threshold: 0.25,")
    manifest = _manifest(work)
    digest = hashlib.sha256((work / CHURN).read_bytes()).hexdigest()
    assert manifest["format"] == 4
    specs = manifest["specs"]
    assert isinstance(specs, dict)
    assert specs[CHURN] == {"sha256": digest}  # format 4: the facts are in the facts file
    assert specs[DEMAND]["sha256"] == hashlib.sha256((work / DEMAND).read_bytes()).hexdigest()
    facts = _facts(work)
    assert (facts["format"], facts["spec"]) == (4, CHURN)
    drift = [f for f in facts["facts"]["spec"] if f["key"] == "monitoring.drift.threshold"]
    assert drift == [
        {"key": "monitoring.drift.threshold", "label": "drift threshold", "value": "0.25"}
    ]
    files = manifest["files"]
    assert isinstance(files, dict)
    churn = [entry for entry in files.values() if entry["spec"] == CHURN]
    assert churn and all(entry["spec_sha256"] == digest for entry in churn)
    assert files[CHURN_FACTS]["target"] == FACTS_TARGET
    assert (
        files[CHURN_FACTS]["sha256"]
        == hashlib.sha256((work / "out" / CHURN_FACTS).read_bytes()).hexdigest()
    )


@pytest.mark.parametrize(
    ("spec", "old", "new"),
    [
        (CHURN, "threshold: 0.2,", "threshold: 0.3,"),
        (DEMAND, "traffic_percent: 20", "traffic_percent: 50"),
    ],
)
def test_a_spec_edit_changes_only_its_own_facts_file_and_manifest_records(
    work: Path, spec: str, old: str, new: str
) -> None:
    before = _manifest(work)
    changed = _edit(work, spec, old, new)
    after = _manifest(work)
    [own] = [
        p for p, e in after["files"].items() if e["spec"] == spec and e["target"] == FACTS_TARGET
    ]
    assert {p for p in changed if p.startswith(f"{FACTS_DIR}/")} == {own}
    assert _facts(work, own)["spec"] == spec
    for other in before["specs"].keys() - {spec}:  # every other spec's records are as they were
        assert _of_spec(after, other) == _of_spec(before, other), other
    assert _of_spec(after, spec) != _of_spec(before, spec)


def test_no_generated_file_names_the_specs_hash(work: Path) -> None:
    digests = {hashlib.sha256(p.read_bytes()).hexdigest() for p in (work / "specs").glob("*.yaml")}
    for path, data in _tree(work / "out").items():
        if path != MANIFEST_PATH:
            text = data.decode("utf-8")
            assert not any(d in text or d[:12] in text for d in digests), path


# --- statically, for every spec: which fields each target's templates read -------------------

TEMPLATES = REPO / "templates"


def _reads(target: str) -> Reads:
    """What the templates of one target read of the spec (any branch, not only the examples')."""
    env = Renderer([TEMPLATES]).env
    reads = Reads()
    for path in sorted((TEMPLATES / target).rglob("*.j2")):
        reads.update(StaticAnalyser().run(env.parse(path.read_text(encoding="utf-8"))))
    return reads


@pytest.mark.parametrize("target", ["serving", "argocd", "kubeflow", "ci"])
def test_only_the_model_card_reads_the_description(target: str) -> None:
    assert not _reads(target).reads(("metadata", "description"))


def test_no_serving_object_reads_the_owners() -> None:
    assert not _reads("serving").reads(("metadata", "owners"))


def test_no_template_reads_the_specs_hash() -> None:
    for path in TEMPLATES.rglob("*.j2"):
        assert "provenance.spec_sha256" not in path.read_text(encoding="utf-8"), path


# --- the release workflow gives each uploaded pipeline version its spec's hash ---------------

FAKE_KFP = '''
"""A stand-in for kfp.Client: records each call and keeps a copy of each uploaded package."""
import json, os, shutil, types

_LOG = os.environ["FAKE_KFP_LOG"]


def _note(call, **fields):
    with open(_LOG, "a", encoding="utf-8") as handle:
        handle.write(json.dumps(dict(call=call, **fields)) + "\\n")


def _keep(package, name):
    copy = os.path.join(os.path.dirname(_LOG), name + ".yaml")
    shutil.copy(package, copy)
    return copy


class Client:
    def __init__(self, host, existing_token=None):
        _note("client", host=host)

    def create_experiment(self, name, namespace=None):
        return types.SimpleNamespace(experiment_id="experiment-1")

    def get_pipeline_id(self, name):
        return None

    def upload_pipeline(self, package, pipeline_name, namespace=None):
        _note("upload_pipeline", name=pipeline_name, package=_keep(package, pipeline_name))
        return types.SimpleNamespace(pipeline_id="id-" + pipeline_name)

    def list_pipeline_versions(self, pipeline_id, filter=None):
        return types.SimpleNamespace(pipeline_versions=[])

    def upload_pipeline_version(self, package, version, pipeline_id):
        _note("upload_pipeline_version", version=version, package=_keep(package, version))
        return types.SimpleNamespace(pipeline_version_id="version-" + version)

    def list_recurring_runs(self, experiment_id, filter=None, page_size=None):
        return types.SimpleNamespace(recurring_runs=[])

    def create_recurring_run(self, experiment_id, job_name, **fields):
        _note("create_recurring_run", job_name=job_name, params=fields.get("params"))
'''


def _publish_step(workflow: Path) -> dict[str, Any]:
    jobs = yaml.safe_load(workflow.read_text(encoding="utf-8"))["jobs"]
    [step] = [s for s in jobs["publish"]["steps"] if s.get("shell") == "python"]
    return {**jobs["publish"]["env"], **step["env"], "run": step["run"]}


def _run_publish(work: Path, step: dict[str, Any]) -> list[dict[str, Any]]:
    fake = work / "fake"
    (fake / "kfp").mkdir(parents=True)
    (fake / "kfp" / "__init__.py").write_text(FAKE_KFP, encoding="utf-8")
    log = fake / "calls.jsonl"
    env = {k: str(v) for k, v in step.items() if k != "run"}
    env |= {"SPECOPS_KFP_HOST": "http://kfp.invalid", "SPECOPS_REVISION": "0123456789abcdef"}
    env |= {"SPECOPS_PACKAGE": f"out/{env['SPECOPS_PACKAGE']}", "FAKE_KFP_LOG": str(log)}
    env |= {"SPECOPS_MONITOR_PACKAGE": f"out/{env['SPECOPS_MONITOR_PACKAGE']}"}
    env |= {"PATH": os.environ["PATH"], "PYTHONPATH": str(fake)}
    done = subprocess.run(
        [sys.executable, "-c", step["run"]], cwd=work, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    return [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()]


def _documents(package: Path) -> list[Any]:
    return list(yaml.safe_load_all(package.read_text(encoding="utf-8")))


def _defaults(package: Path) -> dict[str, Any]:
    document = _documents(package)[0]
    parameters = document["root"]["inputDefinitions"]["parameters"]
    return {name: p.get("defaultValue") for name, p in parameters.items()}


def test_the_release_uploads_the_pipeline_with_its_specs_hash_as_default(work: Path) -> None:
    _edit(work, CHURN, "description: Predicts which", "description: Guesses which")
    committed = work / "out/kubeflow/churn-classifier/pipeline.yaml"
    assert _defaults(committed)["spec_sha256"] == ""
    step = _publish_step(work / "out/.github/workflows/specops-churn-classifier-release.yml")
    calls = _run_publish(work, step)
    digest = hashlib.sha256((work / CHURN).read_bytes()).hexdigest()
    training = [c for c in calls if c["call"].startswith("upload") and "monitoring" not in str(c)]
    assert [c["call"] for c in training] == ["upload_pipeline", "upload_pipeline_version"]
    expected = _documents(committed)
    expected[0]["root"]["inputDefinitions"]["parameters"]["spec_sha256"]["defaultValue"] = digest
    for call in training:
        uploaded = Path(call["package"])
        assert _documents(uploaded) == expected  # the committed package but for that default
        component = components.load_component_from_file(str(uploaded))
        assert component.component_spec.inputs is not None
        assert component.component_spec.inputs["spec_sha256"].default == digest
    monitoring = [c for c in calls if c["call"] == "upload_pipeline_version" and c not in training]
    assert monitoring and all(
        "spec_sha256" not in _defaults(Path(c["package"])) for c in monitoring
    )
    assert {c["job_name"] for c in calls if c["call"] == "create_recurring_run"} == {
        "churn-classifier-retrain",
        "churn-classifier-drift",
    }


def test_a_run_of_the_uploaded_version_records_the_specs_hash(work: Path, tmp_path: Path) -> None:
    # A shared machine can miss the example's latency budget; the gate is not what is tested.
    _edit(work, CHURN, "  latency: {p95_ms: 50, p99_ms: 100, samples: 200}\n", "")
    step = _publish_step(work / "out/.github/workflows/specops-churn-classifier-release.yml")
    [version] = [
        c for c in _run_publish(work, step) if c.get("version") == "churn-classifier-0123456789ab"
    ]
    arguments = {"data_root": str(work / "specs"), "model_root": str(tmp_path / "models")}
    ir = Path(version["package"]).read_text(encoding="utf-8")
    outcome = execute_local(ir, arguments, tmp_path / "kfp", io.StringIO())
    assert outcome.failed_task is None, outcome.failures
    metadata = json.loads((Path(outcome.output) / "metadata.json").read_text(encoding="utf-8"))
    assert metadata["spec_path"] == CHURN
    assert metadata["spec_sha256"] == hashlib.sha256((work / CHURN).read_bytes()).hexdigest()


def test_publishing_refuses_a_spec_hash_that_is_not_one(work: Path) -> None:
    source = work / "out/kubeflow/churn-classifier/pipeline.py"
    loaded = importlib.util.spec_from_file_location("churn_pipeline", source)
    assert loaded is not None and loaded.loader is not None
    module = importlib.util.module_from_spec(loaded)
    loaded.loader.exec_module(module)
    fields = dict(model_root="", model_version="v1", framework="sklearn", data_records="[]")
    with pytest.raises(ValueError, match="spec_sha256 must be 64 lowercase hex digits"):
        module.publish_model.python_func(
            model=None,
            metrics=None,
            provenance={},
            spec_path=CHURN,
            spec_sha256="../../etc/passwd",
            pipeline_run="",
            booster_dir="booster",
            **fields,
        )


# --- the manifest: format 4 holds hashes, facts files the facts; 1 to 3 are still read, hostile
# and newer ones refused


def _write_manifest(work: Path, document: dict[str, Any]) -> None:
    (work / "out" / MANIFEST_PATH).write_text(json.dumps(document, indent=2), encoding="utf-8")


def _refusal(work: Path) -> ManifestError:
    with pytest.raises(ManifestError) as caught:
        read_manifest_document(work / "out")
    return caught.value


def _without_facts_files(work: Path, document: dict[str, Any]) -> dict[str, Any]:
    """`document` as a specops before format 4 wrote it: no facts file listed, none on disk."""
    shutil.rmtree(work / "out" / FACTS_DIR)
    files = {p: e for p, e in document["files"].items() if e["target"] != FACTS_TARGET}
    return {**document, "files": files}


def _facts_files(work: Path) -> dict[str, bytes]:
    return {
        p.relative_to(work / "out").as_posix(): p.read_bytes()
        for p in (work / "out" / FACTS_DIR).iterdir()
    }


def _check_then_compile_restores(
    work: Path, current: dict[str, Any], facts: dict[str, bytes]
) -> None:
    """`--check` calls the older folder stale, its facts files missing; a compile rewrites it
    exactly as format 4, facts files and all."""
    stale = compile_specs(CompileOptions([Path("specs")], Path("out"), mode="check")).stale
    assert sorted(stale) == sorted(f"missing: {path}" for path in facts)
    _compile()
    assert _manifest(work) == current and _facts_files(work) == facts


def test_a_format_1_manifest_is_read_and_rewritten_as_format_4(work: Path) -> None:
    current, facts = _manifest(work), _facts_files(work)
    older = _without_facts_files(work, {"generator": "specops 0.1.0", "files": current["files"]})
    _write_manifest(work, older)
    legacy = read_manifest_document(work / "out")
    assert legacy.specs == {path: record["sha256"] for path, record in current["specs"].items()}
    assert legacy.format == 1 and legacy.facts == {}
    _check_then_compile_restores(work, current, facts)


def test_a_format_1_manifest_with_every_file_current_is_stale_only_for_its_format(
    work: Path,
) -> None:
    current = _manifest(work)
    _write_manifest(work, {"generator": "specops 0.1.0", "files": current["files"]})
    stale = compile_specs(CompileOptions([Path("specs")], Path("out"), mode="check")).stale
    assert stale == [f"stale:   {MANIFEST_PATH}"]  # every file is current; only the format is old
    _compile()
    assert _manifest(work) == current


def test_a_format_2_manifest_is_read_and_rewritten_as_format_4(work: Path) -> None:
    current, facts = _manifest(work), _facts_files(work)
    hashes = {path: {"sha256": record["sha256"]} for path, record in current["specs"].items()}
    _write_manifest(work, _without_facts_files(work, {**current, "format": 2, "specs": hashes}))
    older = read_manifest_document(work / "out")
    assert older.format == 2 and older.facts == {}
    assert older.specs == {path: record["sha256"] for path, record in hashes.items()}
    _check_then_compile_restores(work, current, facts)


def test_a_format_3_manifest_is_read_with_its_facts_and_rewritten_as_format_4(work: Path) -> None:
    current, facts = _manifest(work), _facts_files(work)
    recorded = {
        e["spec"]: _facts(work, p)["facts"]
        for p, e in current["files"].items()
        if e["target"] == FACTS_TARGET
    }
    specs = {p: {**r, "facts": recorded[p]} for p, r in current["specs"].items()}
    _write_manifest(work, _without_facts_files(work, {**current, "format": 3, "specs": specs}))
    older = read_manifest_document(work / "out")
    assert older.format == 3 and older.specs == {p: r["sha256"] for p, r in specs.items()}
    assert {p: dump_facts(f) for p, f in older.facts.items()} == recorded
    _check_then_compile_restores(work, current, facts)


def test_a_file_of_a_spec_the_manifest_does_not_list_is_refused(work: Path) -> None:
    document = _manifest(work)
    del document["specs"][CHURN]
    _write_manifest(work, document)
    error = _refusal(work)
    assert f"the spec {CHURN!r} is not listed in $.specs" in error.message
    assert ".specops/manifest.json:" in error.message and ".spec)" in error.message
    with pytest.raises(ManifestError):  # compile stops before writing anything
        compile_specs(CompileOptions([Path("specs")], Path("out")))


def test_a_newer_manifest_format_is_refused_with_what_to_do(work: Path) -> None:
    _write_manifest(work, {**_manifest(work), "format": 5})
    error = _refusal(work)
    assert error.message.endswith(
        "not a specops manifest: format 5 is newer than this specops reads (1 to 4) (at $.format)"
    )
    assert error.hint is not None and "upgrade specops" in error.hint


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"format": "2"}, "Input should be 4 (at $.format)"),
        ({"format": 1}, "Input should be 4 (at $.format)"),
        ({"format": 0}, "Input should be 4 (at $.format)"),
        ({"specs": []}, "Input should be a valid dictionary (at $.specs)"),
        ({"specs": {CHURN: {"sha256": "../x"}}}, "String should match pattern"),
        ({"specs": {CHURN: {"sha256": "0" * 64, "delete": True}}}, "Extra inputs are not"),
        ({"specs": {CHURN: {"sha256": "0" * 64, "facts": None}}}, "Extra inputs are not"),
    ],
)
def test_a_malformed_format_4_manifest_is_refused_where_it_is_wrong(
    work: Path, change: dict[str, Any], problem: str
) -> None:
    _write_manifest(work, {**_manifest(work), **change})
    assert problem in _refusal(work).message
