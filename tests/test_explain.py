"""`specops explain`: the final value of a field and every layer that set it, golden-tested.

The golden is tests/platform_fixtures/explain.golden.txt, one section per command line.
Regenerate: SPECOPS_UPDATE_GOLDEN=1 pytest tests/test_explain.py
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from compiler.cli import run
from compiler.errors import UsageError
from compiler.platform.explain import ByName, ExplainOptions, explain, parse_path
from tests.conftest import REPO, UPDATE_GOLDEN

SPEC = "tests/platform_fixtures/specs/churn.yaml"
PLATFORM = "tests/platform_fixtures/platform.yaml"
GOLDEN = REPO / "tests" / "platform_fixtures" / "explain.golden.txt"

CASES: list[list[str]] = [
    ["$.replicas", "--env", "prod"],  # deep merge over three layers
    ["$.replicas.max", "--env", "prod"],  # a leaf every layer sets: the spec wins
    ["$.resources", "--env", "prod"],
    ["$.namespace", "--env", "staging"],  # the platform's pattern, then the spec
    ["$.cluster", "--env", "prod"],  # only the platform's environment sets it
    ["$.cluster", "--env", "staging"],  # nobody sets it: the built-in default
    ["$.argocd_project", "--env", "prod"],
    ["$.approval", "--env", "prod"],
    ["$.deploy.environments[prod].resources.memory"],  # the environment named in the path
    ["$.model.resources"],
    ["$.model.tolerations"],  # merged by key
    ["$.model.node_selector.pool"],
    ["$.metadata.labels"],
    ["$.data.target"],  # a field only the spec sets
    ["$.defaults.kfp_base_image"],  # a built-in setting the platform overrides (grouped spelling)
    ["$.defaults.serving_resources"],  # merged over the built-in value
    ["$.defaults.ci.checkout"],  # only built in
]


def _explain(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = run(["explain", *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_explain_output_matches_the_golden(capsys: pytest.CaptureFixture[str]) -> None:
    sections = []
    for case in CASES:
        code, out, err = _explain(capsys, SPEC, *case, "--platform", PLATFORM)
        assert (code, err) == (0, ""), case
        sections.append(f"### specops explain SPEC {' '.join(case)}\n{out}")
    code, out, _ = _explain(capsys, SPEC, "$.replicas", "--env", "prod")
    sections.append(f"### without a platform: specops explain SPEC $.replicas --env prod\n{out}")
    text = "\n".join(sections)
    if UPDATE_GOLDEN:
        GOLDEN.write_text(text, encoding="utf-8")
    assert text == GOLDEN.read_text(encoding="utf-8")


def test_every_line_cited_holds_the_value(capsys: pytest.CaptureFixture[str]) -> None:
    """Each file:line the explanation cites is where that layer wrote the field."""
    result = explain(ExplainOptions(Path(SPEC), "$.replicas.max", "prod", Path(PLATFORM)))
    assert result.explanation is not None
    for contribution in result.explanation.contributions:
        location = contribution.location
        line = (REPO / location.file).read_text().splitlines()[location.line - 1]
        assert str(contribution.value) in line[location.column - 1 :]


def test_the_final_value_is_what_templates_see() -> None:
    result = explain(ExplainOptions(Path(SPEC), "$.resources.memory", "prod", Path(PLATFORM)))
    assert result.explanation is not None
    assert result.explanation.final == "4Gi"
    assert [c.layer for c in result.explanation.contributions] == [
        "platform defaults",
        "platform environment prod",
    ]


def test_parse_path() -> None:
    assert parse_path("$.a.b[0]['c d'][prod]") == ["a", "b", 0, "c d", ByName("prod")]
    assert parse_path("model.resources") == ["model", "resources"]
    assert parse_path("$") == []
    with pytest.raises(UsageError):
        parse_path("$.a..b")


@pytest.mark.parametrize(
    "args",
    [
        ["$.replicas.maximum", "--env", "prod"],  # no such field
        ["$.replicas", "--env", "qa"],  # no such environment
        ["$.deploy.environments[qa].replicas"],
        ["$.deploy.environments[prod].replicas", "--env", "staging"],
        ["$.model..resources"],
    ],
)
def test_bad_paths_are_usage_errors(capsys: pytest.CaptureFixture[str], args: list[str]) -> None:
    code, out, err = _explain(capsys, SPEC, *args, "--platform", PLATFORM)
    assert code == 2
    assert out == ""
    assert err.startswith("specops: error: ")


def test_an_invalid_spec_is_reported_not_explained(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _explain(capsys, "tests/data/invalid/unknown-keys.yaml", "$.data")
    assert code == 1
    assert out == ""
    assert "SPEC101" in err


def _preprocessing_spec(folder: Path) -> Path:
    data = yaml.safe_load((REPO / "specs" / "churn-classifier.yaml").read_text(encoding="utf-8"))
    data["data"]["schema"]["columns"][2]["nullable"] = True  # monthly_charges
    data["data"]["preprocessing"] = {
        "defaults": {"numeric": {"scale": "standard"}},
        "columns": {"support_tickets": {"impute": "constant", "fill_value": 0}},
    }
    (folder / "data").mkdir()
    (folder / "data" / "churn.csv").write_bytes(
        (REPO / "specs" / "data" / "churn.csv").read_bytes()
    )
    path = folder / "churn.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("column", "setting", "final", "chosen_by"),
    [
        ("monthly_charges", "impute", "median", "specops' built-in default (a nullable float "
         "column with sklearn: most estimators refuse NaN)"),
        ("tenure_months", "impute", "none", "specops' built-in default (the column is not "
         "nullable: nothing to impute)"),
        ("tenure_months", "scale", "standard", "data.preprocessing.defaults.numeric.scale"),
        ("support_tickets", "fill_value", 0,
         "data.preprocessing.columns.support_tickets.fill_value"),
        ("plan", "encode", "one_hot", "specops' built-in default (one column per value)"),
    ],
)  # fmt: skip
def test_explain_shows_the_effective_preprocessing_and_what_chose_it(
    tmp_path: Path, column: str, setting: str, final: object, chosen_by: str
) -> None:
    spec = _preprocessing_spec(tmp_path)
    path = f"data.preprocessing.columns.{column}.{setting}"
    result = explain(ExplainOptions(spec, path))
    assert result.explanation is not None, result.diagnostics
    assert result.explanation.final == final
    assert result.explanation.chosen_by is not None
    assert result.explanation.chosen_by.split(" (/")[0].split(f" ({spec}")[0] == chosen_by
    assert f"  chosen by:   {result.explanation.chosen_by}\n" in result.explanation.text()
