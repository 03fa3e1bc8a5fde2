"""The command line: every format, every exit code, and no traceback for bad input."""

from __future__ import annotations

import gc
import json
import subprocess
import sys
from pathlib import Path

import pytest

from compiler.cli import run

BAD = "tests/data/invalid/unknown-keys.yaml"


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = run(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_validate_valid_specs_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, "validate", "specs/")
    assert (code, out) == (0, "3 specs valid\n")


def test_validate_collects_cycles_again_once_done(capsys: pytest.CaptureFixture[str]) -> None:
    assert gc.isenabled()
    assert _run(capsys, "validate", BAD)[0] == 1
    assert gc.isenabled()  # paused only while the specs are read


def test_text_format(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, "validate", BAD)
    assert code == 1
    assert out == (
        f"{BAD}:8:3: error SPEC101: unknown key 'splitt'\n"
        "    at $.data.splitt\n"
        "    hint: did you mean 'split'?\n"
        f"{BAD}:12:65: error SPEC101: unknown key 'replica'\n"
        "    at $.deploy.environments[0].replica\n"
        "    hint: did you mean 'replicas'?\n"
        "1 spec checked: 2 error(s), 0 warning(s)\n"
    )


def test_github_format(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, "validate", "--format", "github", BAD)
    assert code == 1
    assert out.splitlines() == [
        f"::error file={BAD},line=8,col=3,title=specops SPEC101::unknown key 'splitt' "
        "(did you mean 'split'?) [$.data.splitt]",
        f"::error file={BAD},line=12,col=65,title=specops SPEC101::unknown key 'replica' "
        "(did you mean 'replicas'?) [$.deploy.environments[0].replica]",
        "1 spec checked: 2 error(s), 0 warning(s)",
    ]


def test_github_format_escapes_workflow_command_syntax() -> None:
    from compiler.diagnostics import Location, error
    from compiler.report import GithubReporter

    d = error("X1", "bad\nvalue %0A ::set-output", Location("a,b:c.yaml", 1, 2))
    line = GithubReporter().render([d], 1).splitlines()[0]
    expected = "::error file=a%2Cb%3Ac.yaml,line=1,col=2,title=specops X1::"
    assert line == expected + "bad%0Avalue %250A ::set-output"


def test_json_format(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, "validate", "-f", "json", BAD)
    document = json.loads(out)
    assert code == 1
    assert (document["errors"], document["warnings"], document["notes"]) == (2, 0, 0)
    assert document["diagnostics"][0] == {
        "code": "SPEC101",
        "severity": "error",
        "message": "unknown key 'splitt'",
        "hint": "did you mean 'split'?",
        "file": BAD,
        "line": 8,
        "column": 3,
        "json_path": "$.data.splitt",
        "rule": "unknown key",
        "related": [],
    }


def test_sarif_format_is_what_code_scanning_accepts(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, "validate", "-f", "sarif", BAD, "tests/data/invalid/empty.yaml")
    sarif = json.loads(out)
    assert code == 1
    assert sarif["version"] == "2.1.0"
    assert sarif["$schema"].endswith("sarif-2.1.0.json")
    (run_,) = sarif["runs"]
    rules = [r["id"] for r in run_["tool"]["driver"]["rules"]]
    assert rules == ["SPEC101", "YAML002"]
    for result in run_["results"]:
        assert rules[result["ruleIndex"]] == result["ruleId"]
        assert result["level"] == "error"
        assert result["message"]["text"]
        physical = result["locations"][0]["physicalLocation"]
        assert not Path(physical["artifactLocation"]["uri"]).is_absolute()
        assert physical["region"]["startLine"] >= 1
        assert physical["region"]["startColumn"] >= 1


def test_missing_path_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _run(capsys, "validate", "no/such/dir")
    assert code == 2
    assert err == "specops: error: no such file or directory: no/such/dir\n"


def test_unknown_format_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, _ = _run(capsys, "validate", "-f", "xml", "specs/")
    assert code == 2


def test_unknown_target_is_a_usage_error(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, _, err = _run(capsys, "compile", "specs/", "--out", str(tmp_path), "-t", "nope")
    assert code == 2
    assert "unknown target(s): nope" in err


def test_compile_then_check(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    out = str(tmp_path / "out")
    assert _run(capsys, "compile", "specs/", "-o", out, "-t", "model-card")[0] == 0
    code, stdout, _ = _run(capsys, "compile", "specs/", "-o", out, "-t", "model-card", "--check")
    assert code == 0
    assert stdout.endswith("is up to date (9 files)\n")  # 6 cards, 3 facts files
    (tmp_path / "out/model-cards/churn-classifier.md").unlink()
    code, stdout, err = _run(capsys, "compile", "specs/", "-o", out, "-t", "model-card", "--check")
    assert code == 1
    assert "missing: model-cards/churn-classifier.md" in stdout
    assert "not up to date" in err


def test_compile_invalid_spec_exits_1(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, _, err = _run(capsys, "compile", BAD, "-o", str(tmp_path / "out"))
    assert code == 1
    assert "SPEC101" in err
    assert not (tmp_path / "out").exists()


def test_conflict_exits_1_with_the_files(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    out = tmp_path / "out"
    (out / "model-cards").mkdir(parents=True)
    (out / "model-cards/churn-classifier.md").write_text("mine\n")
    code, _, err = _run(capsys, "compile", "specs/", "-o", str(out), "-t", "model-card")
    assert code == 1
    assert "model-cards/churn-classifier.md: exists but was not written by specops" in err


def test_schema_command_prints_the_committed_schema(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, "schema")
    assert code == 0
    assert out == Path("schemas/mlpipeline.v1.json").read_text()


def test_console_script_has_no_traceback_for_garbage(tmp_path: Path) -> None:
    garbage = tmp_path / "garbage.yaml"
    garbage.write_bytes(b"\x00\xff{[}: !!python/object:os.system ]\n" * 3)
    proc = subprocess.run(
        [sys.executable, "-m", "compiler", "validate", str(garbage)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr + proc.stdout


def test_validate_does_not_import_kfp() -> None:
    code = (
        "import sys; from compiler.cli import run; run(['validate', 'specs/']); "
        "print('kfp' in sys.modules)"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert proc.stdout.strip().endswith("False")


def test_sarif_carries_the_policy_location(capsys: pytest.CaptureFixture[str]) -> None:
    spec = "tests/platform_fixtures/policies/allowed_data_sources.fail.yaml"
    platform = "tests/platform_fixtures/platform.yaml"
    code, out, _ = _run(capsys, "validate", "-f", "sarif", "--platform", platform, spec)
    (result,) = json.loads(out)["runs"][0]["results"]
    assert code == 1
    (related,) = result["relatedLocations"]
    assert related["physicalLocation"]["artifactLocation"]["uri"] == platform
    assert related["physicalLocation"]["region"]["startLine"] >= 1


def test_directory_search_finds_a_spec_behind_a_long_comment(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    text = Path("tests/data/invalid/unknown-keys.yaml").read_text()
    (tmp_path / "spec.yaml").write_text("# notes\n" * 2000 + text)
    (tmp_path / "other.yaml").write_text("kind: ConfigMap\n")
    code, out, _ = _run(capsys, "validate", str(tmp_path))
    assert code == 1
    assert "SPEC101" in out
    assert out.endswith("1 spec checked: 2 error(s), 0 warning(s)\n")
