"""The CI target: generated GitHub workflows and GitLab includes, checked by the real tools
(check-jsonschema's vendored schemas, zizmor offline) and read back as YAML to prove the
hardening rules hold, including for hostile spec values."""

from __future__ import annotations

import ast
import inspect
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from compiler.api import CompileOptions, CompileResult, compile_specs, validate_spec
from compiler.diagnostics import Diagnostic
from compiler.filters import UnsafeValueError, to_github_expression
from compiler.render import RenderedFile
from compiler.verify import VerifyContext, verify_files
from compiler.verify import ci as ci_verify

REPO = Path(__file__).resolve().parents[1]
SHA_PIN = re.compile(r"^\s*(?:-\s+)?uses:\s+\"?([\w.-]+/[\w./-]+)@([0-9a-f]{40})\"?\s+#\s+v\d")
HOSTILE_TEXT = "$(curl x|sh) `id` \"dq\" 'sq' \\ $KFP_TOKEN {{ x }} {% y %} #"
# A spec path may only be plain (SPEC004, tests/security/test_spec_paths.py); `_` and `.` are
# still special in Markdown and `.` nowhere else.
PLAIN_DIR = "a_b.c-d"


@pytest.fixture(scope="module")
def example(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, CompileResult]]:
    """The example specs compiled with only the CI target (verifiers included)."""
    out = tmp_path_factory.mktemp("ci-out")
    with _cwd(REPO):
        result = compile_specs(CompileOptions([Path("specs")], out, targets=["ci"]))
    yield out, result


class _cwd:
    def __init__(self, path: Path) -> None:
        self.path, self.old = path, Path.cwd()

    def __enter__(self) -> None:
        os.chdir(self.path)

    def __exit__(self, *exc: object) -> None:
        os.chdir(self.old)


def _github_files(out: Path) -> list[Path]:
    return sorted((out / ".github" / "workflows").glob("*.yml"))


def _gitlab_files(out: Path) -> list[Path]:
    return sorted((out / "ci" / "gitlab").glob("*.gitlab-ci.yml"))


def _load(path: Path) -> dict[Any, Any]:
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(document, dict)
    return document


def _triggers(workflow: dict[Any, Any]) -> dict[str, Any]:
    on = workflow.get("on", workflow.get(True))  # PyYAML reads a bare `on` key as YAML 1.1 true
    assert isinstance(on, dict)
    return on


def _steps(workflow: dict[Any, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for job_id, job in workflow["jobs"].items():
        for step in job["steps"]:
            yield job_id, step


def _check_jsonschema(
    schema: str, files: list[Path], *extra: str
) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "check_jsonschema", "--builtin-schema", schema, *extra]
    return subprocess.run([*command, *map(str, files)], capture_output=True, text=True)


def _zizmor(files: list[Path]) -> subprocess.CompletedProcess[str]:
    binary = ci_verify.zizmor_binary()
    assert binary, "zizmor is a test dependency (pip install -e '.[test]')"
    command = [binary, "--offline", "--no-config", "--no-progress", "--format", "plain"]
    return subprocess.run([*command, *map(str, files)], capture_output=True, text=True)


def _assert_tools_accept(out: Path) -> None:
    github, gitlab = _github_files(out), _gitlab_files(out)
    if github:
        schema = _check_jsonschema("vendor.github-workflows", github)
        assert schema.returncode == 0, schema.stdout + schema.stderr
        lint = _zizmor(github)
        assert lint.returncode == 0 and "No findings" in lint.stdout, lint.stdout + lint.stderr
    if gitlab:
        args = ("--data-transform", "gitlab-ci", "--regex-variant", "nonunicode")
        schema = _check_jsonschema("vendor.gitlab-ci", gitlab, *args)
        assert schema.returncode == 0, schema.stdout + schema.stderr


# --- the example specs ------------------------------------------------------------------------


def test_examples_compile_with_no_diagnostics(example: tuple[Path, CompileResult]) -> None:
    _, result = example
    assert result.ok, [str(d) for d in result.diagnostics]
    assert not [u for u in result.unverified if "zizmor" in u or "check-jsonschema" in u]


def test_outputs_follow_the_providers_each_spec_names(example: tuple[Path, CompileResult]) -> None:
    out, _ = example
    assert [p.name for p in _github_files(out)] == [
        "specops-churn-classifier-pr.yml",
        "specops-churn-classifier-release.yml",
        "specops-demand-forecast-pr.yml",  # no ci: section, so the default provider, github
        "specops-demand-forecast-release.yml",
    ]
    assert [p.name for p in _gitlab_files(out)] == [
        "churn-classifier.gitlab-ci.yml",
        "vision-defects.gitlab-ci.yml",
    ]


def test_real_tools_accept_every_generated_file(example: tuple[Path, CompileResult]) -> None:
    _assert_tools_accept(example[0])


def test_github_workflows_are_least_privilege_and_pinned(
    example: tuple[Path, CompileResult],
) -> None:
    for path in _github_files(example[0]):
        text = path.read_text(encoding="utf-8")
        workflow = _load(path)
        assert "pull_request_target" not in _triggers(workflow)
        assert workflow["permissions"] == {}
        assert workflow["concurrency"]["group"].startswith("specops-")
        for name, job in workflow["jobs"].items():
            # Only the pull request summary may write, and only to the pull request (a comment).
            extra = (
                {"pull-requests"} if name == "summary" and path.name.endswith("-pr.yml") else set()
            )
            assert set(job["permissions"]) <= {"contents", "security-events", *extra}
            assert job["permissions"]["contents"] == "read"
        uses_lines = [line for line in text.splitlines() if "uses:" in line]
        assert uses_lines and all(SHA_PIN.match(line) for line in uses_lines), uses_lines
        for _, step in _steps(workflow):
            if str(step.get("uses", "")).startswith("actions/checkout@"):
                assert step["with"]["persist-credentials"] is False
            assert "${{" not in step.get("run", "")
        assert "kubectl" not in text


def test_pull_request_workflow_validates_and_checks(example: tuple[Path, CompileResult]) -> None:
    workflow = _load(example[0] / ".github/workflows/specops-churn-classifier-pr.yml")
    trigger = _triggers(workflow)["pull_request"]
    assert trigger["branches"] == ["main"]
    assert trigger["paths"] == [
        "specs/churn-classifier.yaml",
        "specs/data/churn.csv",
        "templates/**",
        "platform.yaml",
        ".github/workflows/specops-churn-classifier-*.yml",
    ]
    runs = [step.get("run", "") for _, step in _steps(workflow)]
    assert 'specops validate --format github -- "$SPECOPS_SPEC"' in runs
    assert 'specops compile --check --out "$SPECOPS_OUT" -- "$SPECOPS_SPEC"' in runs
    assert workflow["jobs"]["validate"]["env"]["SPECOPS_SPEC"] == "specs/churn-classifier.yaml"
    assert workflow["concurrency"]["cancel-in-progress"] is True


def test_release_publishes_then_promotes_in_spec_order(example: tuple[Path, CompileResult]) -> None:
    workflow = _load(example[0] / ".github/workflows/specops-demand-forecast-release.yml")
    assert _triggers(workflow)["push"]["branches"] == ["main"]
    assert workflow["concurrency"] == {
        "group": "specops-demand-forecast-release",
        "cancel-in-progress": False,
    }
    jobs = workflow["jobs"]
    assert list(jobs) == ["publish", "promote-dev", "promote-staging", "promote-prod"]
    assert [jobs[j]["needs"] for j in list(jobs)[1:]] == [
        ["publish"],
        ["promote-dev"],
        ["promote-staging"],
    ]
    assert [jobs[j]["environment"]["name"] for j in jobs] == ["kubeflow", "dev", "staging", "prod"]
    publish_env = jobs["publish"]["steps"][-1]["env"]
    assert publish_env["SPECOPS_KFP_HOST"] == "${{ secrets.KFP_HOST }}"
    assert publish_env["SPECOPS_PACKAGE"] == "kubeflow/demand-forecast/pipeline.yaml"
    copy = next(s for s in jobs["promote-prod"]["steps"] if "promote()" in s.get("run", ""))
    assert "promote deploy/prod/demand-forecast\n" in copy["run"]
    assert "promote argocd/prod/demand-forecast.yaml\n" in copy["run"]


def test_gitlab_promotion_waits_for_a_person_where_the_spec_requires_approval(
    example: tuple[Path, CompileResult],
) -> None:
    document = _load(example[0] / "ci/gitlab/churn-classifier.gitlab-ci.yml")
    assert not {"stages", "workflow", "default", "include"} & set(document)
    staging = document["specops-churn-classifier-promote-staging"]
    prod = document["specops-churn-classifier-promote-prod"]
    assert staging["needs"] == ["specops-churn-classifier-publish"]
    assert prod["needs"] == ["specops-churn-classifier-promote-staging"]
    assert "when" not in staging["rules"][0]
    assert prod["rules"][0]["when"] == "manual" and prod["rules"][0]["allow_failure"] is False
    assert prod["environment"] == {"name": "prod"}
    assert prod["resource_group"] == "specops-churn-classifier-prod"
    script = "\n".join(prod["script"])
    assert "merge_request.create" in script and "kubectl" not in script


def test_publish_script_calls_the_kfp_client_as_it_is_defined(
    example: tuple[Path, CompileResult],
) -> None:
    import kfp

    workflow = _load(example[0] / ".github/workflows/specops-churn-classifier-release.yml")
    github_script = next(s["run"] for _, s in _steps(workflow) if s.get("shell") == "python")
    gitlab = _load(example[0] / "ci/gitlab/churn-classifier.gitlab-ci.yml")
    gitlab_block = gitlab["specops-churn-classifier-publish"]["script"][-1]
    assert github_script in gitlab_block  # one script, two providers
    calls = [node for node in ast.walk(ast.parse(github_script)) if isinstance(node, ast.Call)]
    checked = 0
    for call in calls:
        signature = _client_signature(call, kfp.Client)
        if signature is not None:
            keywords = {k.arg: None for k in call.keywords if k.arg}
            positional = [None] * len([a for a in call.args if not isinstance(a, ast.Starred)])
            signature.bind(*positional, **keywords)  # raises TypeError on a wrong call
            checked += 1
    assert checked >= 8


def _client_signature(call: ast.Call, client: type) -> inspect.Signature | None:
    """The signature a call in the script must fit: kfp.Client(...) or client.<method>(...)."""
    func = call.func
    if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
        if func.value.id == "client":
            bound = getattr(client, func.attr).__get__(object())  # binds `self`
            return inspect.signature(bound)
        if func.value.id == "kfp" and func.attr == "Client":
            return inspect.signature(client)
    return None


# --- options ----------------------------------------------------------------------------------


def _spec_copy(tmp_path: Path, directory: str, change: dict[str, Any]) -> Path:
    """The churn example in a new folder (with its data), with top-level sections replaced."""
    document = yaml.safe_load((REPO / "specs/churn-classifier.yaml").read_text(encoding="utf-8"))
    for key, value in change.items():
        document[key] = value if not isinstance(value, dict) else {**document.get(key, {}), **value}
    folder = tmp_path / directory
    (folder / "data").mkdir(parents=True)
    shutil.copy(REPO / "specs/data/churn.csv", folder / "data" / "churn.csv")
    spec = folder / "spec.yaml"
    spec.write_text(yaml.safe_dump(document, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return spec


def _compile(spec: Path, out: Path) -> CompileResult:
    with _cwd(REPO):
        return compile_specs(CompileOptions([spec], out, targets=["ci"]))


def test_sarif_upload_is_added_with_its_permission(tmp_path: Path) -> None:
    spec = _spec_copy(tmp_path, "sarif", {"ci": {"providers": ["github", "gitlab"], "sarif": True}})
    out = tmp_path / "out"
    result = _compile(spec, out)
    assert result.ok, [str(d) for d in result.diagnostics]
    _assert_tools_accept(out)
    workflow = _load(out / ".github/workflows/specops-churn-classifier-pr.yml")
    job = workflow["jobs"]["validate"]
    assert job["permissions"] == {"contents": "read", "security-events": "write"}
    upload = job["steps"][-1]
    assert upload["uses"].startswith("github/codeql-action/upload-sarif@")
    assert "github.event.pull_request.head.repo.full_name == github.repository" in upload["if"]
    gitlab = _load(out / "ci/gitlab/churn-classifier.gitlab-ci.yml")
    assert gitlab["specops-churn-classifier-validate"]["artifacts"]["paths"] == ["specops.sarif"]


# --- hostile values ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("section", "value", "json_path"),
    [
        ("metadata", {"description": "${{ secrets.X }}"}, ("metadata", "description")),
        ("metadata", {"description": "one\ntwo: injected"}, ("metadata", "description")),
        ("metadata", {"name": "x'; curl x|sh"}, ("metadata", "name")),
        ("ci", {"default_branch": "$(curl x|sh)"}, ("ci", "default_branch")),
        ("ci", {"default_branch": 'main"'}, ("ci", "default_branch")),
        ("ci", {"default_branch": "`id`"}, ("ci", "default_branch")),
        ("ci", {"default_branch": "main\n"}, ("ci", "default_branch")),
        ("ci", {"providers": ["github", "${{ x }}"]}, ("ci", "providers", 1)),
        ("schedule", {"retrain": "0 3 * * 1 $(curl x|sh)"}, ("schedule", "retrain")),
        ("model", {"params": {"n": "${{ secrets.X }}"}}, ("model", "params", "n")),
    ],
)
def test_hostile_values_that_could_escape_are_rejected_by_the_model(
    tmp_path: Path, section: str, value: dict[str, Any], json_path: tuple[str | int, ...]
) -> None:
    spec = _spec_copy(tmp_path, "spec", {section: value})
    validated = validate_spec(spec)
    assert validated.spec is None
    assert any(d.location.json_path[: len(json_path)] == json_path for d in validated.diagnostics)


def test_hostile_environment_name_and_version_are_rejected(tmp_path: Path) -> None:
    spec = _spec_copy(tmp_path, "spec", {})
    document = yaml.safe_load(spec.read_text(encoding="utf-8"))
    document["deploy"]["environments"][0]["name"] = "prod`id`"
    document["deploy"]["environments"][1]["model_version"] = "${{ github.token }}"
    spec.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    paths = {d.location.json_path for d in validate_spec(spec).diagnostics}
    assert ("deploy", "environments", 0, "name") in paths
    assert ("deploy", "environments", 1, "model_version") in paths


def test_hostile_text_the_model_accepts_lands_inert(tmp_path: Path) -> None:
    """Free text may hold shell and template syntax: it reaches the workflows only as data (env
    values, action inputs, unexpanded GitLab variables), Markdown-escaped in PR/MR bodies."""
    metadata = {"description": HOSTILE_TEXT}
    ci = {"sarif": True, "providers": ["github", "gitlab"]}
    spec = _spec_copy(tmp_path, PLAIN_DIR, {"metadata": metadata, "ci": ci})
    out = tmp_path / "out"
    result = _compile(spec, out)
    assert result.ok, [str(d) for d in result.diagnostics]
    _assert_tools_accept(out)
    spec_path = spec.as_posix()
    for path in _github_files(out):
        workflow = _load(path)
        assert _triggers(workflow)[next(iter(_triggers(workflow)))]["paths"][0] == spec_path
        for _, step in _steps(workflow):
            assert "curl" not in step.get("run", "") and "${{" not in step.get("run", "")
        envs = [job.get("env", {}) for job in workflow["jobs"].values()]
        assert all(e.get("SPECOPS_SPEC", spec_path) == spec_path for e in envs)
    release = _load(out / ".github/workflows/specops-churn-classifier-release.yml")
    body = release["jobs"]["promote-prod"]["steps"][-1]["with"]["body"]
    # the description is the model card's alone: a promotion never changes with it
    assert "curl x" not in body and "${{ github.sha }}" in body
    gitlab = _load(out / "ci/gitlab/churn-classifier.gitlab-ci.yml")
    for job in gitlab.values():
        assert "curl" not in "\n".join(job["script"] + job.get("after_script", []))
        for name, variable in job["variables"].items():
            if isinstance(variable, str):  # only secret references and CI_COMMIT_SHA expand
                assert re.fullmatch(r"\$[A-Z_]+", variable), name
            else:
                assert variable["expand"] is False, name
    variables = gitlab["specops-churn-classifier-promote-prod"]["variables"]
    assert "curl x" not in variables["SPECOPS_DESCRIPTION"]["value"]


# --- the gh filter and the verifiers ----------------------------------------------------------


@pytest.mark.parametrize(
    "expression",
    ["github.sha", "github.ref", "secrets.KFP_HOST", "vars.REGION", "steps.build.outputs.digest"],
)
def test_gh_filter_emits_allow_listed_expressions(expression: str) -> None:
    assert to_github_expression(expression) == "${{ " + expression + " }}"


@pytest.mark.parametrize(
    "expression",
    [
        "github.event.pull_request.title",
        "github.head_ref",
        "inputs.name",
        "secrets.X }} ${{ github.event.issue.body",
        "secrets.X\n",
        "toJSON(secrets)",
        42,
    ],
)
def test_gh_filter_refuses_anything_else(expression: object) -> None:
    with pytest.raises(UnsafeValueError):
        to_github_expression(expression)


BAD_WORKFLOW = """\
on: pull_request
permissions: {}
jobs:
  build:
    runs-on: ubuntu-24.04
    permissions: {contents: read}
    unknown-key: 1
    steps:
      - uses: actions/checkout@v4
      - run: echo "${{ github.event.pull_request.title }}"
"""


def _rendered(path: str, content: str, *verify: str) -> RenderedFile:
    digest = "0" * 64
    return RenderedFile(path, content, "ci", "ci/test.j2", digest, "specs/x.yaml", digest, verify)


def _codes(diagnostics: list[Diagnostic]) -> dict[str, list[tuple[str, int]]]:
    found: dict[str, list[tuple[str, int]]] = {}
    for d in diagnostics:
        found.setdefault(d.code, []).append((d.location.file, d.location.line))
    return found


def test_verifiers_map_each_tool_finding_back_to_its_file_and_line() -> None:
    good = (REPO / "action.yml").read_text(encoding="utf-8")  # not a workflow: schema must fail
    files = [
        _rendered(".github/workflows/bad.yml", BAD_WORKFLOW, "github-workflow", "zizmor"),
        _rendered(".github/workflows/other.yml", good, "github-workflow"),
        _rendered("ci/gitlab/bad.gitlab-ci.yml", "job:\n  script: 3\n", "gitlab-ci"),
    ]
    codes = _codes(verify_files(files, VerifyContext()))
    assert (".github/workflows/bad.yml", 10) in codes["CI004"]  # ${{ }} inside run:
    assert (".github/workflows/bad.yml", 4) in codes["CI001"]  # the job with an unknown key
    assert any(f == ".github/workflows/other.yml" for f, _ in codes["CI001"])
    assert ("ci/gitlab/bad.gitlab-ci.yml", 2) in codes["CI002"]
    zizmor_lines = {line for f, line in codes["CI003"] if f == ".github/workflows/bad.yml"}
    assert {9, 10} <= zizmor_lines  # unpinned, credential-persisting checkout; injection


def test_a_file_that_does_not_parse_is_reported_once() -> None:
    broken = "# header\njobs: [\n"
    files = [
        _rendered(".github/workflows/x.yml", broken, "yaml", "github-workflow", "zizmor"),
        _rendered("ci/gitlab/x.gitlab-ci.yml", broken, "yaml", "gitlab-ci"),
    ]
    assert sorted(d.code for d in verify_files(files, VerifyContext())) == ["VER001", "VER001"]


def test_each_tool_runs_once_per_compile_not_once_per_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Batch verifiers run in the compiling process over every spec's files, in a pool too."""
    calls: list[str] = []
    real_run = subprocess.run

    def counting_run(command: list[str], **kwargs: Any) -> Any:
        if "check_jsonschema" in command:
            calls.append(command[4])
        elif Path(command[0]).name == "zizmor":
            calls.append("zizmor")
        return real_run(command, **kwargs)

    monkeypatch.setattr(subprocess, "run", counting_run)
    options = CompileOptions([Path("specs")], tmp_path / "out")
    options.cache, options.jobs = False, 2
    assert compile_specs(options).ok
    assert sorted(calls) == ["vendor.github-workflows", "vendor.gitlab-ci", "zizmor"]


def test_a_missing_tool_leaves_files_unverified_not_passed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(ci_verify, "zizmor_binary", lambda: None)
    context = VerifyContext()
    files = [_rendered(".github/workflows/bad.yml", BAD_WORKFLOW, "zizmor")]
    assert verify_files(files, context) == []
    assert any("zizmor" in kind for kind in context.unverified)


# --- for users of specops itself --------------------------------------------------------------


def test_composite_action_passes_schema_and_zizmor() -> None:
    action = REPO / "action.yml"
    schema = _check_jsonschema("vendor.github-actions", [action])
    assert schema.returncode == 0, schema.stdout
    lint = _zizmor([action])
    assert lint.returncode == 0 and "No findings" in lint.stdout, lint.stdout
    document = _load(action)
    assert document["runs"]["using"] == "composite"
    for step in document["runs"]["steps"]:
        assert "${{" not in step.get("run", "")
        if "uses" in step:
            assert re.fullmatch(r"[\w.-]+/[\w.-]+@[0-9a-f]{40}", step["uses"])


def test_pre_commit_hooks_run_real_commands() -> None:
    hooks = yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))
    assert [h["id"] for h in hooks] == ["specops-validate", "specops-compile-check"]
    for hook in hooks:
        assert hook["language"] == "python" and hook["pass_filenames"] is False
        re.compile(hook["files"])
    validate = hooks[0]
    command = [sys.executable, "-m", "compiler", *validate["entry"].split()[1:], *validate["args"]]
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    check = hooks[1]
    command = [sys.executable, "-m", "compiler", *check["entry"].split()[1:], "--help"]
    assert subprocess.run(command, cwd=REPO, capture_output=True).returncode == 0


def test_a_batch_verifier_sees_at_most_batch_files_files_per_run(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from compiler import verify

    runs: list[int] = []

    def counting(files: list[RenderedFile], context: VerifyContext) -> list[Diagnostic]:
        runs.append(len(files))
        return []

    monkeypatch.setitem(verify.BATCH_VERIFIERS, "counting", counting)
    files = [_rendered(f"w{i}.yml", "on: push\n", "counting") for i in range(600)]
    assert verify.verify_batches(files, VerifyContext()) == []
    assert runs == [verify.BATCH_FILES, verify.BATCH_FILES, 600 - 2 * verify.BATCH_FILES]
