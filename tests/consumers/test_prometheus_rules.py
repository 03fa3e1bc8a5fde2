"""Prometheus' own promtool on every generated PrometheusRule: `check rules` accepts each, and
`test rules` runs unit tests generated from each spec (tests/consumers/_alert_tests.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from tests.consumers._alert_tests import CASES, target, unit_tests
from tests.consumers._promtool import needs_promtool, promtool, rule_groups, write_rules
from tests.consumers.conftest import Compiled


def _rules(compiled: Compiled) -> list[tuple[Path, dict[str, Any]]]:
    files = compiled.files("deploy/*/*/prometheusrule.yaml")
    assert len(files) >= 6, files
    return [(path, yaml.safe_load(path.read_text(encoding="utf-8"))) for path in files]


def _write_tests(compiled: Compiled, folder: Path, rules: list[tuple[Path, Any]]) -> list[str]:
    """One rules file and one unit test file per PrometheusRule, in `folder`; the test files."""
    tests = []
    for index, (path, document) in enumerate(rules):
        env, model = path.parent.parent.name, path.parent.name
        spec = compiled.specs[model]
        write_rules(folder / f"rules-{index}.yaml", document)
        (group,) = rule_groups(document)["groups"]
        name = str(path.relative_to(compiled.out))
        cases = unit_tests(name, f"rules-{index}.yaml", group["rules"], spec, target(spec, env))
        (folder / f"test-{index}.yaml").write_text(yaml.safe_dump(cases, sort_keys=False))
        tests.append(f"test-{index}.yaml")
    return tests


@needs_promtool
def test_promtool_accepts_every_rule_file(compiled: Compiled, tmp_path: Path) -> None:
    rules = _rules(compiled)
    names = [write_rules(tmp_path / f"r{i}.yaml", doc).name for i, (_, doc) in enumerate(rules)]
    result = promtool(tmp_path, "check", "rules", *names)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("SUCCESS") == len(names), result.stdout


@needs_promtool
def test_each_alert_fires_after_its_for_and_stays_quiet_on_normal_data(
    compiled: Compiled, tmp_path: Path
) -> None:
    rules = _rules(compiled)
    groups = [group for _, doc in rules for group in doc["spec"]["groups"]]
    alerts = {rule["alert"] for group in groups for rule in group["rules"]}
    assert alerts == {"ModelLatencyP95High", "ModelErrorRateHigh", "ModelDriftDetected"}
    result = promtool(tmp_path, "test", "rules", *_write_tests(compiled, tmp_path, rules))
    assert result.returncode == 0, result.stdout + result.stderr


def _rewrite(rules: list[tuple[Path, Any]], alert: str, key: str, value: Any) -> None:
    for _, doc in rules:
        for group in doc["spec"]["groups"]:
            for rule in group["rules"]:
                if rule["alert"] == alert:
                    rule[key] = value(rule[key]) if callable(value) else value


@needs_promtool
def test_the_generated_unit_tests_catch_a_broken_rule(compiled: Compiled, tmp_path: Path) -> None:
    """The same tests fail for a rule that fires too early, one that prints a ratio with
    `humanize` ("20m" for 2%), and one whose threshold is off."""
    breakages = [
        ("ModelLatencyP95High", "for", "2m"),
        (
            "ModelErrorRateHigh",
            "annotations",
            lambda a: {**a, "description": a["description"].replace("Percentage", "")},
        ),
        ("ModelDriftDetected", "expr", lambda e: e.replace(") specops_", ") 3 * specops_")),
    ]
    for index, (alert, key, value) in enumerate(breakages):
        folder = tmp_path / str(index)
        folder.mkdir()
        rules = _rules(compiled)
        _rewrite(rules, alert, key, value)
        result = promtool(folder, "test", "rules", *_write_tests(compiled, folder, rules))
        assert result.returncode != 0, (alert, result.stdout)
        assert alert in result.stdout + result.stderr, result.stdout + result.stderr


def test_alert_text_prints_ratios_as_percentages(compiled: Compiled) -> None:
    """The spec's error_rate 0.02 reads "2%" in the alert, never the bare ratio, and each
    description shows the value that fired it."""
    for path, doc in _rules(compiled):
        spec = compiled.specs[path.parent.name]
        t = target(spec, path.parent.parent.name)
        for rule in doc["spec"]["groups"][0]["rules"]:
            case = CASES[rule["alert"]](t, spec["monitoring"]["alerts"], spec)
            assert case.template in rule["annotations"]["description"], rule
            if rule["alert"] == "ModelErrorRateHigh":
                percent = f"{float(spec['monitoring']['alerts']['error_rate']) * 100:g}%"
                assert rule["annotations"]["summary"].endswith(f"error rate above {percent}")
                assert rule["annotations"]["description"].startswith(f"More than {percent} ")
