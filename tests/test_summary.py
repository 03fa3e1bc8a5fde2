"""`specops diff --summary`: the meaning of a change, from the plans of a real git base and head;
and `diff`/`compile --check` with files specops may not touch."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from compiler import cli
from tests.conftest import REPO

CHURN = "specs/churn-classifier.yaml"


def _git(repo: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
        cwd=repo,
        check=True,
        capture_output=True,
    )


def _commit(repo: Path, message: str) -> None:
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "--allow-empty", "-m", message)


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A git repository holding the churn spec and its data, one commit, as the cwd."""
    (tmp_path / "specs" / "data").mkdir(parents=True)
    shutil.copy(REPO / CHURN, tmp_path / CHURN)
    shutil.copy(REPO / "specs/data/churn.csv", tmp_path / "specs/data/churn.csv")
    _git(tmp_path, "init", "-q", "-b", "main")
    _commit(tmp_path, "base")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _edit(repo: Path, *pairs: tuple[str, str], path: str = CHURN) -> None:
    spec = repo / path
    text = spec.read_text(encoding="utf-8")
    for old, new in pairs:
        assert old in text, old
        text = text.replace(old, new)
    spec.write_text(text, encoding="utf-8")


def _summary(capsys: pytest.CaptureFixture[str], *args: str, code: int = 0) -> tuple[str, str]:
    exit_code = cli.run(["diff", "--summary", *args])
    captured = capsys.readouterr()
    assert exit_code == code, captured.err
    return captured.out, captured.err


def _json(capsys: pytest.CaptureFixture[str], *args: str) -> dict[str, Any]:
    out, _ = _summary(capsys, "--format", "json", *args)
    document: dict[str, Any] = json.loads(out)
    return document


def _texts(document: dict[str, Any], name: str, env: str | None = None) -> list[str]:
    spec = next(s for s in document["specs"] if s["name"] == name)
    if env is None:
        return [c["text"] for c in spec["changes"]]
    found = next(e for e in spec["environments"] if e["name"] == env)
    return [c["text"] for c in found["changes"]]


EDITS = (
    ("canary: {traffic_percent: 10}", "canary: {traffic_percent: 50}"),
    ("p95_ms: 50,", "p95_ms: 70,"),
    ("model_version: v11", "model_version: v12"),
    ("error_rate: 0.01", "error_rate: 0.02"),
    ("latency_p95_ms: 80", "latency_p95_ms: 90"),
    ("max_depth: 3,", "max_depth: 4, subsample: 0.8,"),
    ("n_estimators: 150, ", ""),
    ('version: "2026-11-01"', 'version: "2026-12-01"'),
    (
        "{name: roc_auc, min: 0.7, against: prod, max_drop: 0.01}",
        "{name: roc_auc, min: 0.75, against: prod, max_drop: 0.02}",
    ),
    ("replicas: {min: 2, max: 10}", "replicas: {min: 3, max: 12}\n      resources: {cpu: '4'}"),
    ("approval: required", "approval: none"),
    ('retrain: "0 3 * * 1"', 'retrain: "0 4 * * 1"'),
    ("threshold: 0.2", "threshold: 0.3"),
    ("ensemble.GradientBoostingClassifier", "ensemble.HistGradientBoostingClassifier"),
    ("model_uri: gs://acme-models/churn-classifier", "model_uri: gs://acme-models/churn-v2"),
)  # fmt: skip


def test_each_edit_reads_as_its_meaning(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _edit(repo, *EDITS[:13])
    _commit(repo, "head")
    document = _json(capsys, "--base", "HEAD~1", "specs")
    assert document["changed"] is True
    assert _texts(document, "churn-classifier") == [
        "param max_depth 3 → 4",
        "param n_estimators removed (was 150)",
        "new param subsample: 0.8",
        "data source customers version 2026-11-01 → 2026-12-01",
        "gate roc_auc min 0.7 → 0.75",
        "gate roc_auc max drop 0.01 → 0.02",
        "gate p95 latency 50 → 70 ms",
        "drift threshold 0.2 → 0.3",
        "alert p95 latency 80 → 90 ms",
        "alert error rate 1% → 2%",
        "retrain schedule 0 3 * * 1 → 0 4 * * 1",
    ]
    assert _texts(document, "churn-classifier", "prod") == [
        "model v11 → v12",
        "replicas 2-10 → 3-12",
        "cpu 1 → 4",
        "memory 2Gi → none",
        "canary 10% → 50%",
        "approval required → none",
    ]
    assert [e["name"] for e in document["specs"][0]["environments"]] == ["prod"]  # staging same


def test_estimator_and_model_uri(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    params = "{n_estimators: 150, max_depth: 3, learning_rate: 0.05, random_state: 42}"
    _edit(repo, EDITS[13], EDITS[14], (params, "{max_iter: 150, max_depth: 3, random_state: 42}"))
    texts = _texts(_json(capsys, "specs"), "churn-classifier")  # base HEAD: the working tree
    assert texts == [
        "estimator sklearn.ensemble.GradientBoostingClassifier → "
        "sklearn.ensemble.HistGradientBoostingClassifier",
        "param learning_rate removed (was 0.05)",
        "param n_estimators removed (was 150)",
        "new param max_iter: 150",
        "model URI gs://acme-models/churn-classifier → gs://acme-models/churn-v2",
    ]


def test_markdown_groups_by_spec_then_environment(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _edit(repo, EDITS[0], EDITS[1], EDITS[2])
    _commit(repo, "head")
    out, _ = _summary(capsys, "--base", "main~1", "specs")
    lines = out.splitlines()
    assert lines[0].startswith("### specops: what this change does (base main\\~1 at ")
    assert "#### churn-classifier (changed)" in lines
    assert "- **all environments**: gate p95 latency 50 → 70 ms" in lines
    assert "- **prod**: model v11 → v12; canary 10\\% → 50\\%" in lines
    again, _ = _summary(capsys, "--base", "main~1", "specs")
    assert again == out  # deterministic
    _edit(repo, *EDITS[5:9])  # more than four changes in one scope: a line each
    lines, _ = _summary(capsys, "--base", "main~1", "specs")
    start = lines.index("- **all environments**:\n")
    assert lines[start:].splitlines()[1:3] == [
        "  - param max\\_depth 3 → 4",
        "  - param n\\_estimators removed \\(was 150\\)",
    ]


def test_no_change_says_so(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _edit(repo, ("Predicts which", "Guesses which"))  # a description: no plan fact changes
    out, _ = _summary(capsys, "--base", "HEAD", "specs")
    assert "No changes: every spec resolves to the same plan as the base." in out
    document = _json(capsys, "--base", "HEAD", "specs")
    assert document["changed"] is False
    assert document["specs"][0]["status"] == "unchanged"
    assert document["specs"][0]["changes"] == []


def test_json_shape(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _edit(repo, EDITS[0])
    document = _json(capsys, "specs")
    assert set(document) == {"schema_version", "base", "changed", "specs", "notes"}
    assert document["base"]["ref"] == "HEAD" and len(document["base"]["commit"]) == 40
    spec = document["specs"][0]
    assert set(spec) == {
        "name", "path", "base_path", "status", "note", "changes", "environments",
    }  # fmt: skip
    assert spec["path"] == spec["base_path"] == CHURN
    assert spec["environments"] == [
        {
            "name": "prod",
            "status": "changed",
            "changes": [
                {"key": "canary", "text": "canary 10% → 50%", "before": "10%", "after": "50%"}
            ],
        }
    ]


def _second_spec(repo: Path, name: str) -> str:
    path = f"specs/{name}.yaml"
    text = (repo / CHURN).read_text(encoding="utf-8")
    (repo / path).write_text(text.replace("name: churn-classifier", f"name: {name}"))
    return path


def test_spec_added_and_removed(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _second_spec(repo, "old-model")
    _commit(repo, "two specs")
    (repo / "specs/old-model.yaml").unlink()
    _second_spec(repo, "new-model")
    document = _json(capsys, "specs")
    status = {s["name"]: s["status"] for s in document["specs"]}
    assert status == {"churn-classifier": "unchanged", "new-model": "new", "old-model": "removed"}
    assert _texts(document, "old-model") == ["spec removed"]
    assert _texts(document, "new-model") == [
        "new spec: sklearn classification, environments staging, prod"
    ]
    out, _ = _summary(capsys, "specs")
    assert out.index("#### new-model (new)") < out.index("#### old-model (removed)")
    assert "Unchanged: churn-classifier" in out


def test_moved_spec_is_the_same_spec(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (repo / "specs/models").mkdir()
    (repo / CHURN).rename(repo / "specs/models/churn.yaml")
    (repo / "specs/data").rename(repo / "specs/models/data")
    document = _json(capsys, "specs")
    assert document["specs"][0]["status"] == "changed"
    assert _texts(document, "churn-classifier") == [
        "file moved specs/churn-classifier.yaml → specs/models/churn.yaml"
    ]


def test_environment_added_and_removed(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    dev = "    - {name: dev, namespace: ml-dev, model_version: v13}\n"
    staging = "    - name: staging\n      namespace: ml-staging\n      model_version: v12\n"
    staging += "      replicas: {min: 1, max: 2}\n"
    _edit(repo, ("  environments:\n", "  environments:\n" + dev), (staging, ""))
    document = _json(capsys, "specs")
    envs = document["specs"][0]["environments"]
    assert [(e["name"], e["status"]) for e in envs] == [("dev", "new"), ("staging", "removed")]
    assert envs[0]["changes"][0]["text"] == (
        "new environment: model v13, namespace ml-dev, replicas 1-1"
    )
    assert envs[1]["changes"][0]["text"] == "environment removed"
    assert _texts(document, "churn-classifier") == []  # dev and staging say it, not the order


def test_reordered_environments_change_the_promotion_order(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = (repo / CHURN).read_text(encoding="utf-8")
    start, middle = text.index("    - name: staging"), text.index("    - name: prod")
    end = text.index("monitoring:")
    text = text[:start] + text[middle:end] + text[start:middle] + text[end:]
    (repo / CHURN).write_text(text.replace("      canary: {traffic_percent: 10}\n", ""))
    document = _json(capsys, "specs")
    assert "promotion order staging, prod → prod, staging" in _texts(document, "churn-classifier")


def test_hostile_values_are_escaped_in_markdown(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    hostile = "<img src=x onerror=alert(1)>[x](https://evil.example)|`code`"
    plans = "allowed: [basic, pro, enterprise"
    _edit(repo, (plans, f"{plans}, {json.dumps(hostile)}"))
    out, _ = _summary(capsys, "specs")
    line = next(x for x in out.splitlines() if "column plan allowed" in x)
    assert not re.search(r"(?<!\\)[<>\[\]()`|]", line), line  # each one escaped
    escaped = r"\<img src=x onerror=alert\(1\)\>\[x\]\(https\://evil\.example\)\|\`code\`"
    assert escaped in line
    document = _json(capsys, "specs")  # JSON carries the exact text
    assert any(hostile in t for t in _texts(document, "churn-classifier"))


def test_hostile_file_names_at_the_base_are_skipped_and_escaped(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    evil = repo / "specs" / "x[y](z)<b>$(id).yaml"
    evil.write_text((repo / CHURN).read_text().replace("churn-classifier", "evil"))
    _commit(repo, "a hostile name")
    evil.unlink()  # the head may not have it: SPEC004 would stop the head
    out, _ = _summary(capsys, "--base", "HEAD", "specs")
    note = next(x for x in out.splitlines() if x.startswith("- note:"))
    assert "SPEC004" in note and "<b>" not in note and "](" not in note and "$(" not in note
    assert "#### evil" not in out


def test_an_invalid_base_spec_reads_as_new(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _edit(repo, ("task: classification", "task: clustering"))
    _commit(repo, "broken base")
    _edit(repo, ("task: clustering", "task: classification"))
    document = _json(capsys, "specs")
    spec = document["specs"][0]
    assert spec["status"] == "new"
    assert spec["note"] == "the base version does not validate: everything reads as new"


def test_the_base_platform_file_is_read_at_the_ref(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    platform = (REPO / "specs/platform/platform.yaml").read_text(encoding="utf-8")
    (repo / "platform.yaml").write_text(platform)
    _commit(repo, "platform")
    wider = platform.replace("replicas: {min: 1, max: 3}", "replicas: {min: 2, max: 3}")
    (repo / "platform.yaml").write_text(wider)
    _edit(repo, ("      replicas: {min: 1, max: 2}\n", ""))  # staging takes the platform's
    document = _json(capsys, "specs")  # ./platform.yaml is the default, at both sides
    assert _texts(document, "churn-classifier", "staging") == ["replicas 1-2 → 2-3"]


@pytest.mark.parametrize("ref", ["--upload-pack=touch pwned", "-x", "a..b", "no-such-ref", "a\nb"])
def test_a_bad_base_is_a_usage_error(
    repo: Path, capsys: pytest.CaptureFixture[str], ref: str
) -> None:
    _, err = _summary(capsys, f"--base={ref}", "specs", code=2)
    assert "--base" in err
    assert not (repo / "pwned").exists()


def test_a_base_spec_holding_a_credential_is_not_printed(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    leaked = "https://bob:hunter2secret@data.example.com/churn.csv"
    _edit(repo, ("uri: data/churn.csv", f"uri: {leaked}"))
    _commit(repo, "a leak")
    _edit(repo, (f"uri: {leaked}", "uri: data/churn.csv"))
    out, _ = _summary(capsys, "specs")
    assert "hunter2" not in out
    assert "holds a credential \\(SEC001\\)" in out


def test_an_invalid_head_fails_with_diagnostics(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _edit(repo, ("task: classification", "task: clustering"))
    _, err = _summary(capsys, "specs", code=1)
    assert "churn-classifier.yaml:" in err


def test_base_and_format_need_summary(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.run(["diff", "--base", "HEAD", "specs"]) == 2
    assert "--summary" in capsys.readouterr().err


# --- diff and --check with files specops may not touch ---------------------------------------


def _cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = cli.run([*args, "--target", "model-card", "--out", "out", "specs"])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_diff_with_no_changes_says_so(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _cli(capsys, "compile")[0] == 0
    code, out, _ = _cli(capsys, "diff")
    assert code == 0
    assert out == "no changes: out is up to date (3 files)\n"  # the card's two, the facts file


def test_diff_and_check_report_a_hand_edited_file(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _cli(capsys, "compile")[0] == 0
    (repo / "out/model-cards/churn-classifier.md").write_text("my notes\n")
    _edit(repo, ("30 days", "45 days"))
    code, out, err = _cli(capsys, "diff")
    assert code == 1
    assert "+++ b/model-cards/churn-classifier.json" in out  # the diff of what may change
    assert "blocked: model-cards/churn-classifier.md: edited by hand" in err
    assert "restore each with `git checkout -- out/FILE`, or delete it and rerun" in err
    code, out, err = _cli(capsys, "compile", "--check")
    assert code == 1
    assert "blocked: model-cards/churn-classifier.md: edited by hand" in out
    assert "git checkout -- out/FILE" in err and "run `specops compile` and commit" not in err


def test_diff_reports_a_foreign_file(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (repo / "out/model-cards").mkdir(parents=True)
    (repo / "out/model-cards/churn-classifier.md").write_text("someone else's\n")
    code, _, err = _cli(capsys, "diff")
    assert code == 1
    assert "blocked: model-cards/churn-classifier.md: exists but was not written by specops" in err


def test_check_without_blocked_files_says_run_compile(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _cli(capsys, "compile")[0] == 0
    _edit(repo, ("30 days", "45 days"))
    code, out, err = _cli(capsys, "compile", "--check")
    assert code == 1 and out.startswith("stale: ")
    assert "run `specops compile` and commit the result" in err


@pytest.mark.parametrize("option", [["--target", "ci"], ["--templates", "."], ["--crd-dir", "."]])
def test_options_the_summary_would_ignore_are_usage_errors(
    option: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.run(["diff", "--summary", str(REPO / "specs"), *option]) == 2
    assert "do not go with --summary" in capsys.readouterr().err
