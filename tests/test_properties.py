"""Property tests: any valid spec compiles through every target, and spec text survives intact.

Hostile text (quotes, YAML and Jinja syntax, shell and Markdown metacharacters, unicode) goes into
every free-text field; the compile must succeed with all verifiers passing, and the machine-readable
model card must carry each value back unchanged.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from compiler.api import CompileOptions, compile_specs
from tests.conftest import REPO

CHURN_DATA = REPO / "specs" / "data" / "churn.csv"
HOSTILE = ["'", '"', "\\", "{{ x }}", "{% raw %}", "$(id)", "`id`", "#", ": ", "- ", "&a", "*a",
           "!tag", "<script>", "[x](y)", "|", "%", "@", "no", "on", "0755", "3.10", "null", "é✓",
           "\u00a0", "--- ", "...", "${HOME}", "'; DROP", "\"\"\""]  # fmt: skip

hostile_text = (
    st.lists(
        st.one_of(
            st.sampled_from(HOSTILE),
            st.text(
                st.characters(codec="utf-8", exclude_categories=("Cc", "Cs", "Zl", "Zp")),
                max_size=8,
            ),
        ),
        min_size=1,
        max_size=6,
    )
    .map("".join)
    .filter(lambda s: "${{" not in s and s.strip() != "" and "\ufeff" not in s)
)


def _spec(description: str, param: str, arg_like: str) -> dict[str, Any]:
    return {
        "apiVersion": "specops/v1",
        "kind": "MLPipeline",
        "metadata": {"name": "prop-model", "team": "props", "description": description},
        "data": {
            "sources": [
                {"name": "customers", "uri": "data/churn.csv", "format": "csv", "version": "v1"}
            ],
            "schema": {
                "columns": [
                    {"name": "tenure_months", "type": "int"},
                    {"name": "plan", "type": "category", "allowed": ["basic", "pro", "enterprise"]},
                    {"name": "churned", "type": "int"},
                ]
            },
            "target": "churned",
        },
        "model": {
            "framework": "sklearn",
            "task": "classification",
            "estimator": "sklearn.ensemble.HistGradientBoostingClassifier",
            # parameters whose declared types take any text (CHK020 checks values): a string
            # and an array-like
            "params": {"scoring": param, "categorical_features": [arg_like], "max_iter": 50},
        },
        "validation": {"metrics": [{"name": "accuracy", "min": 0.1}]},
        "deploy": {
            "model_uri": "gs://prop-models/prop-model",
            "argocd": {"repo_url": "https://github.com/acme/ml-gitops.git", "project": "ml"},
            "environments": [
                {"name": "staging", "namespace": "props-staging", "model_version": "v1"},
                {
                    "name": "prod",
                    "namespace": "props-prod",
                    "model_version": "v1",
                    "canary": {"traffic_percent": 5},
                    "approval": "required",
                },
            ],
        },
        "monitoring": {
            "drift": {"schedule": "0 * * * *", "threshold": 0.2},
            "alerts": {
                "latency_p95_ms": 80,
                "error_rate": 0.01,
                "runbook_url": "https://runbooks.acme.io/ml",
            },
        },
        "schedule": {"retrain": "0 3 * * 1"},
        "ci": {"providers": ["github", "gitlab"]},
    }


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(description=hostile_text, param=hostile_text, arg_like=hostile_text)
def test_any_valid_spec_compiles_and_text_round_trips(
    tmp_path_factory: Any, description: str, param: str, arg_like: str
) -> None:
    work: Path = tmp_path_factory.mktemp("prop")
    (work / "data").mkdir()
    (work / "data" / "churn.csv").write_bytes(CHURN_DATA.read_bytes())
    spec = _spec(description, param, arg_like)
    (work / "prop.yaml").write_text(yaml.safe_dump(spec, allow_unicode=True), encoding="utf-8")
    result = compile_specs(CompileOptions([work / "prop.yaml"], work / "out"))
    assert result.ok, [str(d) + d.message for d in result.diagnostics]
    card = json.loads((work / "out/model-cards/prop-model.json").read_text(encoding="utf-8"))
    assert card["description"] == description
    assert card["params"] == {"scoring": param, "categorical_features": [arg_like], "max_iter": 50}
    markdown = (work / "out/model-cards/prop-model.md").read_text(encoding="utf-8")
    assert "<script>" not in markdown and "](" not in markdown.replace("\\](", "")
