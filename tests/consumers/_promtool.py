"""Running Prometheus' promtool on rule files: shared by the consumer tests and the security
tests of PrometheusRule text."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import yaml

from tests.conftest import needs_tool, tool

needs_promtool = needs_tool("promtool")


def promtool(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [tool("promtool"), *args], cwd=cwd, capture_output=True, text=True, check=False
    )


def rule_groups(prometheus_rule: dict[str, Any]) -> dict[str, Any]:
    """What Prometheus reads from a PrometheusRule: its `spec`, a rules file of `groups`."""
    groups = prometheus_rule["spec"]
    assert isinstance(groups, dict) and set(groups) == {"groups"}, groups
    return groups


def write_rules(path: Path, prometheus_rule: dict[str, Any]) -> Path:
    path.write_text(yaml.safe_dump(rule_groups(prometheus_rule), sort_keys=False))
    return path
