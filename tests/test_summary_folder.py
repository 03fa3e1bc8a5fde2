"""`specops diff --summary --base DIR`: the base is the plan facts a compile recorded in the
output folder: format 4's facts files `.specops/facts/<name>.json` (format 3's manifest), untrusted
files validated as strictly as the manifest that lists them."""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import shutil
from pathlib import Path
from typing import Any

import pytest

from compiler import cli
from compiler.facts_file import FACTS_TEMPLATE, facts_path, read_facts
from compiler.manifest import (
    FACTS_DIR,
    FACTS_TARGET,
    MANIFEST_PATH,
    MAX_SPECS,
    ManifestError,
    read_manifest_document,
)
from compiler.summary_facts import MAX_VALUE_CHARS, bounded
from tests.conftest import REPO
from tests.test_summary import CHURN, EDITS, _commit, _edit, _git, _second_spec

ENTRY = "$.facts"  # where a spec's facts sit inside its facts file
FACTS = facts_path("churn-classifier")


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The churn spec and its data committed, compiled into `out` (model card only), as cwd."""
    (tmp_path / "specs" / "data").mkdir(parents=True)
    shutil.copy(REPO / CHURN, tmp_path / CHURN)
    shutil.copy(REPO / "specs/data/churn.csv", tmp_path / "specs/data/churn.csv")
    _git(tmp_path, "init", "-q", "-b", "main")
    monkeypatch.chdir(tmp_path)
    _compile()
    _commit(tmp_path, "base")
    return tmp_path


def _compile(*targets: str) -> None:
    chosen = [a for t in targets or ("model-card",) for a in ("--target", t)]
    with contextlib.redirect_stdout(io.StringIO()):
        assert cli.run(["compile", *chosen, "--out", "out", "specs"]) == 0


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = cli.run(["diff", "--summary", *args, "specs"])
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    return code, captured.out, captured.err


def _json(capsys: pytest.CaptureFixture[str], base: str) -> dict[str, Any]:
    code, out, err = _run(capsys, "--base", base, "--format", "json")
    assert code == 0, err
    document: dict[str, Any] = json.loads(out)
    return document


def _manifest(repo: Path) -> dict[str, Any]:
    document: dict[str, Any] = json.loads((repo / "out" / MANIFEST_PATH).read_bytes())
    return document


def _write_manifest(repo: Path, document: dict[str, Any]) -> None:
    (repo / "out" / MANIFEST_PATH).write_text(json.dumps(document, indent=2), encoding="utf-8")


def _facts(repo: Path, relative: str = FACTS) -> dict[str, Any]:
    document: dict[str, Any] = json.loads((repo / "out" / relative).read_bytes())
    return document


def _write_facts(repo: Path, document: dict[str, Any], relative: str = FACTS) -> None:
    (repo / "out" / relative).write_text(json.dumps(document, indent=2), encoding="utf-8")


def _as_format_3(document: dict[str, Any], repo: Path) -> dict[str, Any]:
    """The manifest as specops wrote format 3: each spec's facts inside it, no facts files."""
    specs = {
        p: {**r, "facts": _facts(repo, _facts_path_of(document, p))["facts"]}
        for p, r in document["specs"].items()
    }
    files = {p: e for p, e in document["files"].items() if e["target"] != FACTS_TARGET}
    return {**document, "format": 3, "specs": specs, "files": files}


def _facts_path_of(document: dict[str, Any], spec: str) -> str:
    return next(
        p for p, e in document["files"].items() if e["target"] == FACTS_TARGET and e["spec"] == spec
    )


def test_a_folder_base_reads_as_the_git_ref_it_was_committed_at(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _edit(repo, *EDITS[:13])
    from_folder, from_git = _json(capsys, "out"), _json(capsys, "HEAD")
    assert from_folder["base"] == {"folder": "out"}
    assert set(from_git["base"]) == {"ref", "commit"}
    assert from_folder["specs"] == from_git["specs"] and from_folder["changed"] is True
    assert {"key": "canary", "text": "canary 10% → 50%", "before": "10%", "after": "50%"} in (
        from_folder["specs"][0]["environments"][0]["changes"]
    )
    code, folder_md, _ = _run(capsys, "--base", "out")
    _, git_md, _ = _run(capsys, "--base", "HEAD")
    assert code == 0
    assert folder_md.splitlines()[0] == (
        "### specops: what this change does (base: the output folder out)"
    )
    assert folder_md.splitlines()[1:] == git_md.splitlines()[1:]


def test_an_unchanged_tree_reads_as_no_change(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = _run(capsys, "--base", "out")
    assert code == 0 and "No changes: every spec resolves to the same plan as the base." in out


def test_specs_added_and_removed_against_a_folder(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _second_spec(repo, "old-model")
    _compile()
    (repo / "specs/old-model.yaml").unlink()
    _second_spec(repo, "new-model")
    document = _json(capsys, "out")
    status = {s["name"]: s["status"] for s in document["specs"]}
    assert status == {"churn-classifier": "unchanged", "new-model": "new", "old-model": "removed"}
    new = next(s for s in document["specs"] if s["name"] == "new-model")
    assert (
        new["changes"][0]["text"] == "new spec: sklearn classification, environments staging, prod"
    )


def test_facts_are_recorded_whichever_targets_are_compiled(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    manifest = _manifest(repo)
    assert manifest["format"] == 4 and manifest["specs"][CHURN].keys() == {"sha256"}
    listed = manifest["files"][FACTS]
    assert (listed["spec"], listed["target"], listed["template"]) == (
        CHURN,
        FACTS_TARGET,
        FACTS_TEMPLATE,
    )
    document = _facts(repo)
    assert document.keys() == {"format", "spec", "facts"}
    assert (document["format"], document["spec"]) == (4, CHURN)
    recorded = document["facts"]
    assert recorded["name"] == "churn-classifier"
    assert [e["name"] for e in recorded["environments"]] == ["staging", "prod"]
    _compile("argocd")  # another subset: the same plan, the same facts
    assert _facts(repo)["facts"] == recorded and FACTS in _manifest(repo)["files"]
    _edit(repo, ("threshold: 0.2", "threshold: 0.3"))
    _compile("model-card")  # the model card does not show the drift threshold; the facts do
    keys = {f["key"]: f["value"] for f in _facts(repo)["facts"]["spec"]}
    assert keys["monitoring.drift.threshold"] == "0.3"


@pytest.mark.parametrize("fmt", [1, 2])
def test_an_older_manifest_says_to_recompile_or_pass_a_ref(
    repo: Path, capsys: pytest.CaptureFixture[str], fmt: int
) -> None:
    document = _manifest(repo)
    if fmt == 1:
        older = {"generator": "specops 0.1.0", "files": document["files"]}
    else:
        hashes = {p: {"sha256": r["sha256"]} for p, r in document["specs"].items()}
        older = {**document, "format": 2, "specs": hashes}
    _write_manifest(repo, older)
    code, out, err = _run(capsys, "--base", "out")
    assert code == 2 and out == ""
    assert (
        "this output folder was compiled by a specops that did not record plan facts "
        f"(manifest format {fmt}); recompile it or pass a git ref"
    ) in err
    assert "--base origin/main" in err


def test_a_format_3_folder_reads_as_the_format_4_one_it_became(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _edit(repo, *EDITS[:13])
    from_format_4 = _json(capsys, "out")
    _write_manifest(repo, _as_format_3(_manifest(repo), repo))
    shutil.rmtree(repo / "out" / FACTS_DIR)
    assert _json(capsys, "out") == from_format_4
    _compile()  # the next compile rewrites it as format 4, facts files and all
    assert _manifest(repo)["format"] == 4 and _facts(repo)["spec"] == CHURN


@pytest.mark.parametrize("fmt", [3, 4])
def test_a_spec_kept_without_facts_says_which(
    repo: Path, capsys: pytest.CaptureFixture[str], fmt: int
) -> None:
    document = _manifest(repo)
    if fmt == 3:
        document = _as_format_3(document, repo)
        del document["specs"][CHURN]["facts"]  # format 3 allows it: kept from a format 2 manifest
    else:
        del document["files"][FACTS]  # format 4: its spec is listed, its facts file is not
        (repo / "out" / FACTS).unlink()
    _write_manifest(repo, document)
    code, _, err = _run(capsys, "--base", "out")
    assert code == 2 and f"did not record plan facts for {CHURN!r}" in err


def _tamper(repo: Path, change: Any) -> None:
    document = _facts(repo)
    change(document["facts"])
    _write_facts(repo, document)


def _set(path: tuple[Any, ...], value: Any) -> Any:
    def change(facts: Any) -> None:
        for item in path[:-1]:
            facts = facts[item]
        facts[path[-1]] = value

    return change


INVISIBLE = "has a control, line-break or bidirectional character"
HUGE = "x" * (MAX_VALUE_CHARS + 1)
TAMPERED = [
    (_set(("spec", 0, "value"), 5), "Input should be a valid string", ".spec[0].value"),
    (_set(("spec", 0, "value"), HUGE), "at most 1024 characters", ".spec[0].value"),
    (_set(("spec", 0, "value"), "a\x1b[31mb"), INVISIBLE, ".spec[0].value"),
    (_set(("spec", 0, "label"), "gate\u202eevil"), INVISIBLE, ".spec[0].label"),
    (_set(("spec", 0, "label"), "two\nlines"), INVISIBLE, ".spec[0].label"),
    (_set(("spec", 1, "unit"), "\u2066"), INVISIBLE, ".spec[1].unit"),
    (_set(("spec", 0, "key"), "../../etc"), "should match pattern", ".spec[0].key"),
    (_set(("spec", 0, "evil"), True), "Extra inputs are not permitted", ".spec[0].evil"),
    (_set(("evil",), 1), "Extra inputs are not permitted", ".evil"),
    (_set(("name",), "Not A Name"), "should match pattern", ".name"),
    (_set(("spec",), {"a": 1}), "Input should be a valid list", ".spec"),
    (
        _set(("environments", 0, "facts"), [{"key": "a", "label": "", "value": None}] * 201),
        "at most 200 items",
        ".environments[0].facts",
    ),
    (
        _set(("environments",), [{"name": f"e{n}", "facts": []} for n in range(101)]),
        "at most 100 items",
        ".environments",
    ),
    (lambda f: f["spec"].append(dict(f["spec"][3])), "listed twice", ".spec[114].key"),
    (
        lambda f: f["environments"].append(dict(f["environments"][0])),
        "the environment 'staging' is listed twice",
        ".environments[2].name",
    ),
]


@pytest.mark.parametrize(("change", "problem", "where"), TAMPERED)
def test_tampered_facts_are_refused_where_they_are_wrong(
    repo: Path, capsys: pytest.CaptureFixture[str], change: Any, problem: str, where: str
) -> None:
    _tamper(repo, change)
    code, out, err = _run(capsys, "--base", "out")
    assert code == 1 and out == ""
    assert f"out/{FACTS}:" in err and "not a specops facts file" in err
    assert problem in err and f"(at {ENTRY}{where})" in err, err
    _assert_located(repo, FACTS, err, where.rsplit(".", 1)[1])
    assert "\x1b" not in err and "\u202e" not in err
    # the facts file is owned output edited by hand: compile refuses to overwrite it
    assert cli.run(["compile", "--target", "model-card", "--out", "out", "specs"]) == 1
    assert "edited by hand since specops wrote it" in capsys.readouterr().err


def _assert_located(repo: Path, relative: str, err: str, member: str) -> None:
    """`err` names `relative` at the line and column where `member` starts in it."""
    located = re.search(rf"{re.escape(relative)}:(\d+):(\d+): ", err)
    assert located is not None, err
    text = (repo / "out" / relative).read_text(encoding="utf-8")
    line = text.splitlines()[int(located[1]) - 1]
    assert line[int(located[2]) - 1 :].startswith(json.dumps(member) + ":"), (line, err)


def test_recorded_values_are_escaped_in_markdown(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    hostile = "<img src=x onerror=alert(1)>[x](https://evil.example)"

    def change(facts: Any) -> None:
        fact = next(f for f in facts["spec"] if f["key"] == "monitoring.drift.threshold")
        fact["value"] = hostile

    _tamper(repo, change)
    code, out, _ = _run(capsys, "--base", "out")
    assert code == 0
    line = next(x for x in out.splitlines() if "drift threshold" in x)
    assert not re.search(r"(?<!\\)[<>\[\]()]", line.replace("→", "")), line  # each one escaped
    assert r"\<img src=x onerror=alert\(1\)\>\[x\]\(https\://evil\.example\)" in line


def test_a_hostile_spec_path_in_the_manifest_is_skipped(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    hostile = "specs/x[y](z)<b>.yaml"
    document = _manifest(repo)
    document["specs"][hostile] = document["specs"][CHURN]
    planted = facts_path("planted")
    document["files"][planted] = {**document["files"][FACTS], "spec": hostile}
    _write_manifest(repo, document)
    facts = _facts(repo)
    _write_facts(
        repo, {**facts, "spec": hostile, "facts": {**facts["facts"], "name": "planted"}}, planted
    )
    code, out, _ = _run(capsys, "--base", "out")
    assert code == 0 and "planted" not in out
    note = next(x for x in out.splitlines() if x.startswith("- note:"))
    assert "SPEC004" in note and "<b>" not in note and "](" not in note


def test_a_linked_specops_folder_is_refused(
    repo: Path, tmp_path_factory: pytest.TempPathFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    elsewhere = tmp_path_factory.mktemp("elsewhere")
    shutil.move(repo / "out/.specops", elsewhere / ".specops")
    os.symlink(elsewhere / ".specops", repo / "out/.specops")
    code, _, err = _run(capsys, "--base", "out")
    assert code == 1 and "a symbolic link" in err


def test_a_linked_facts_file_is_refused(
    repo: Path, tmp_path_factory: pytest.TempPathFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    manifest = read_manifest_document(repo / "out")  # read before the link is planted
    elsewhere = tmp_path_factory.mktemp("elsewhere") / "facts.json"
    shutil.move(repo / "out" / FACTS, elsewhere)
    os.symlink(elsewhere, repo / "out" / FACTS)
    code, out, err = _run(capsys, "--base", "out")
    assert code == 1 and out == ""
    assert f"entry {FACTS!r} goes through the symbolic link {FACTS}" in err
    with pytest.raises(ManifestError, match="not a specops facts file: a symbolic link"):
        read_facts(repo / "out", manifest)  # and the read itself never follows one


def test_a_linked_facts_folder_is_refused(
    repo: Path, tmp_path_factory: pytest.TempPathFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    elsewhere = tmp_path_factory.mktemp("elsewhere") / "facts"
    shutil.move(repo / "out" / FACTS_DIR, elsewhere)
    os.symlink(elsewhere, repo / "out" / FACTS_DIR)
    code, out, err = _run(capsys, "--base", "out")
    assert code == 1 and out == ""
    assert f"entry {FACTS!r} goes through the symbolic link {FACTS_DIR}" in err


def test_the_facts_file_of_another_spec_is_refused_where_it_says_so(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _write_facts(repo, {**_facts(repo), "spec": "specs/other.yaml"})
    code, out, err = _run(capsys, "--base", "out")
    assert code == 1 and out == ""
    assert (
        f"not a specops facts file: is the facts of 'specs/other.yaml', not {CHURN!r} (at $.spec)"
    ) in err
    _assert_located(repo, FACTS, err, "spec")


def test_a_listed_facts_file_that_is_missing_is_refused(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (repo / "out" / FACTS).unlink()
    code, out, err = _run(capsys, "--base", "out")
    assert code == 1 and out == ""
    assert f"out/{FACTS}: not a specops facts file: listed in the manifest, but missing" in err
    assert "restore .specops/ from git" in err


def test_a_facts_file_of_a_spec_no_longer_listed_is_refused(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    document = _manifest(repo)
    del document["specs"][CHURN]
    _write_manifest(repo, document)
    code, out, err = _run(capsys, "--base", "out")
    assert code == 1 and out == ""
    assert f"the spec {CHURN!r} is not listed in $.specs (at $.files[{FACTS!r}].spec)" in err


def _relisted(document: dict[str, Any], path: str, **fields: str) -> None:
    document["files"][path] = {**document["files"][FACTS], **fields}


CARD = "model-cards/churn-classifier.md"
MISLISTED = [
    (
        lambda d: _relisted(d, FACTS, target="model-card"),
        FACTS,
        "target",
        f"{FACTS!r} is a facts file, which specops lists only under the target 'specops'",
    ),
    (
        lambda d: _relisted(d, CARD),
        CARD,
        "target",
        f"the target 'specops' lists only facts files ({FACTS_DIR}/<name>.json)",
    ),
    (
        lambda d: _relisted(d, facts_path("decoy")),
        facts_path("decoy"),
        "spec",
        f"the spec {CHURN!r} has a facts file already, {FACTS!r}",
    ),
]


@pytest.mark.parametrize(("change", "path", "member", "problem"), MISLISTED)
def test_a_mislisted_facts_file_is_refused_in_the_manifest(
    repo: Path,
    capsys: pytest.CaptureFixture[str],
    change: Any,
    path: str,
    member: str,
    problem: str,
) -> None:
    document = _manifest(repo)
    change(document)
    _write_manifest(repo, document)
    code, out, err = _run(capsys, "--base", "out")
    assert code == 1 and out == ""
    assert f"not a specops manifest: {problem} (at $.files[{path!r}].{member})" in err, err
    _assert_located(repo, MANIFEST_PATH, err, member)


def test_a_folder_without_a_manifest_is_read_as_a_ref(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (repo / "empty").mkdir()
    code, _, err = _run(capsys, "--base", "empty")
    assert code == 2 and "--base 'empty' names no commit here" in err


def test_long_values_are_recorded_bounded_and_still_differ() -> None:
    long_a, long_b = "a" * 5000, "a" * 4999 + "b"
    shown_a, shown_b = bounded(long_a, MAX_VALUE_CHARS), bounded(long_b, MAX_VALUE_CHARS)
    assert len(shown_a) <= MAX_VALUE_CHARS and shown_a != shown_b
    assert shown_a.startswith("a" * 900) and "(sha256 " in shown_a
    assert bounded("tab\there\u202e", 100) == "tab\\u0009here\\u202e"


def test_a_long_allowed_list_round_trips_through_the_folder(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    plans = "allowed: [basic, pro, enterprise"
    many = ", ".join(f"plan_{n:04d}" for n in range(300))  # far over the value bound
    _edit(repo, (plans, f"{plans}, {many}"))
    _compile()
    _commit(repo, "a long list")
    _edit(repo, ("plan_0299", "plan_9999"))
    from_folder, from_git = _json(capsys, "out"), _json(capsys, "HEAD")
    texts = [c["text"] for c in from_folder["specs"][0]["changes"]]
    assert len(texts) == 1 and texts[0].startswith("column plan allowed [basic")
    assert "(sha256 " in texts[0]
    assert from_folder["specs"] == from_git["specs"]


def test_a_manifest_with_too_many_specs_is_refused(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    document = _manifest(repo)
    record = {"sha256": document["specs"][CHURN]["sha256"]}
    document["specs"] |= {f"specs/s{n}.yaml": record for n in range(MAX_SPECS)}
    _write_manifest(repo, document)
    code, out, err = _run(capsys, "--base", "out")
    assert code == 1 and out == ""
    assert f"Dictionary should have at most {MAX_SPECS} items" in err and "(at $.specs)" in err
