"""Every diagnostic code has a description, and SARIF and JSON output carry it."""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import pytest

from compiler.cli import run
from compiler.codes import CODES
from compiler.diagnostics import Diagnostic, Location, Severity, error, warning
from compiler.platform.policies import POLICY_RULES
from compiler.report import JsonReporter, SarifReporter

COMPILER = Path(__file__).resolve().parents[1] / "compiler"
_CODE = re.compile(r"^[A-Z]{2,5}[0-9]{3}$")


def codes_in_source() -> set[str]:
    found = set()
    for path in COMPILER.rglob("*.py"):
        if path.name == "codes.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            value = node.value if isinstance(node, ast.Constant) else None
            if isinstance(value, str) and _CODE.match(value):
                found.add(value)
    return found


def test_every_code_used_in_the_compiler_has_a_description() -> None:
    used = codes_in_source()
    assert len(used) > 50  # the scan sees the rules
    assert sorted(used - CODES.keys()) == []


def test_the_registry_names_no_code_that_nothing_reports() -> None:
    assert sorted(CODES.keys() - codes_in_source()) == []


def test_descriptions_are_one_short_line() -> None:
    for code, text in CODES.items():
        assert text and "\n" not in text and len(text) <= 100, code
        assert not text.startswith("specops rule"), code


def test_policy_descriptions_are_the_policies_titles() -> None:
    for rule in POLICY_RULES.values():
        assert CODES[rule.code] == f"policy: {rule.title}"


def _diagnostics() -> list[Diagnostic]:
    policy = Location("platform.yaml", 12, 3, ("policies", "image_digest"))
    spec = Location("specs/a.yaml", 4, 9, ("deploy", "serving", "image"))
    return [
        Diagnostic("POL001", Severity.ERROR, "image is not pinned", spec, None, (policy,)),
        warning("CHK015", "custom image", Location("specs/a.yaml", 3, 1)),
        warning("PLT011", "unknown environment", Location("specs/a.yaml", 5, 1)),
        Diagnostic("TPL031", Severity.NOTE, "unread", Location("specs/a.yaml")),
        error("CHK011", "replicas", Location("specs/b.yaml", 9, 5)),
    ]


def test_json_counts_every_severity_and_structures_related_locations() -> None:
    document = json.loads(JsonReporter().render(_diagnostics(), 2))
    assert (document["errors"], document["warnings"], document["notes"]) == (2, 2, 1)
    first = document["diagnostics"][0]
    assert first["rule"] == "policy: images are pinned by digest"
    assert first["related"] == [
        {"file": "platform.yaml", "line": 12, "column": 3, "json_path": "$.policies.image_digest"}
    ]
    assert document["diagnostics"][1]["related"] == []


def test_sarif_rules_have_real_short_descriptions() -> None:
    document = json.loads(SarifReporter().render(_diagnostics(), 2))
    rules = document["runs"][0]["tool"]["driver"]["rules"]
    assert {r["id"]: r["shortDescription"]["text"] for r in rules}["CHK011"] == (
        "replicas min is greater than max"
    )
    assert all(r["shortDescription"]["text"] == CODES[r["id"]] for r in rules)


def test_json_carries_the_policy_location(capsys: pytest.CaptureFixture[str]) -> None:
    spec = "tests/platform_fixtures/policies/allowed_data_sources.fail.yaml"
    platform = "tests/platform_fixtures/platform.yaml"
    assert run(["validate", "-f", "json", "--platform", platform, spec]) == 1
    document = json.loads(capsys.readouterr().out)
    (found,) = document["diagnostics"]
    assert found["code"] == "POL003" and document["errors"] == 1
    (related,) = found["related"]
    assert related["file"] == platform and related["line"] >= 1
    assert related["json_path"] == "$.policies.allowed_data_sources"
