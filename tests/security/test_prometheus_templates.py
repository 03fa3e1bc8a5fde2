"""Attack: text that Prometheus' Go text/template would run (`{{ .ExternalURL }}`, `{{ template
… }}`, `{{ query … }}`) in a PrometheusRule label or annotation. Values are written so that
Prometheus renders them back as exactly the original text; promtool itself checks that."""

from __future__ import annotations

import tempfile
from pathlib import Path
from subprocess import CompletedProcess
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from compiler.filters import to_go_template_literal
from compiler.plan import Defaults
from tests.consumers._promtool import needs_promtool, promtool, write_rules
from tests.security._render import example, render

HOSTILE = [
    "{{ .ExternalURL }}",
    '{{ query "up" }}',
    '{{ template "x" }}',
    "{{",
    "}}",
    "{{{",
    "a{{b}}c{{",
    "{{- . -}}",
    "{{/* c */}}",
    '{{ "{{" }}',
    "{",
    "x{",
]


def _alert(index: int, literal: str) -> dict[str, Any]:
    return {
        "alert": f"A{index}",
        "expr": "vector(1)",
        "labels": {"hostile": literal},
        "annotations": {"summary": literal, "description": literal + " now {{ $value }}"},
    }


def _promtool_test(
    tmp_path: Path, values: list[str], written: list[str] | None = None
) -> CompletedProcess[str]:
    """Alerts whose label and annotations are `written` (default: each value escaped); promtool
    fires them and compares what Prometheus renders with `values`."""
    written = written or [to_go_template_literal(v) for v in values]
    rules = {"groups": [{"name": "g", "rules": [_alert(i, w) for i, w in enumerate(written)]}]}
    (tmp_path / "rules.yaml").write_text(yaml.safe_dump(rules))
    expected = [
        {
            "eval_time": "1m",
            "alertname": f"A{i}",
            "exp_alerts": [
                {
                    "exp_labels": {"hostile": value},
                    "exp_annotations": {"summary": value, "description": value + " now 1"},
                }
            ],
        }
        for i, value in enumerate(values)
    ]
    tests = {
        "rule_files": ["rules.yaml"],
        "evaluation_interval": "1m",
        "tests": [{"interval": "1m", "input_series": [], "alert_rule_test": expected}],
    }
    (tmp_path / "test.yaml").write_text(yaml.safe_dump(tests))
    return promtool(tmp_path, "test", "rules", "test.yaml")


@needs_promtool
def test_prometheus_renders_each_hostile_value_as_itself(tmp_path: Path) -> None:
    result = _promtool_test(tmp_path, HOSTILE)
    assert result.returncode == 0, result.stdout + result.stderr


@needs_promtool
@pytest.mark.parametrize("value", ["{{ .ExternalURL }}", '{{ "a" }}', "{{"])
def test_unescaped_the_same_check_fails(tmp_path: Path, value: str) -> None:
    assert _promtool_test(tmp_path, [value], written=[value]).returncode != 0


@needs_promtool
@settings(max_examples=10, deadline=None)
@given(st.lists(st.text(alphabet=st.sampled_from('{}-/*. "x$'), min_size=1), min_size=1))
def test_any_text_renders_as_itself(values: list[str]) -> None:
    with tempfile.TemporaryDirectory() as folder:
        result = _promtool_test(Path(folder), values)
    assert result.returncode == 0, result.stdout + result.stderr


@needs_promtool
def test_the_rendered_rule_keeps_a_hostile_runbook_url(tmp_path: Path) -> None:
    url = "https://runbooks.acme.io/{{.ExternalURL}}/{{template}}"
    spec = example("vision-defects")
    del spec["monitoring"]["alerts"]["runbook_url"]  # the spec's would win over the platform's
    files = render(spec, ["serving"], defaults=Defaults(runbook_base_url=url))
    rule = yaml.safe_load(files["deploy/prod/vision-defects/prometheusrule.yaml"])
    write_rules(tmp_path / "rules.yaml", rule)
    checked = promtool(tmp_path, "check", "rules", "rules.yaml")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    runbooks = [
        item["annotations"]["runbook_url"] for g in rule["spec"]["groups"] for item in g["rules"]
    ]
    alerts = [item["alert"] for g in rule["spec"]["groups"] for item in g["rules"]]
    assert runbooks
    expected = [f"{url}/{alert}" for alert in alerts]
    result = _promtool_test(tmp_path, expected, written=runbooks)
    assert result.returncode == 0, result.stdout + result.stderr
