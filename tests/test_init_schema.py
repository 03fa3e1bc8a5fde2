"""`specops init` points editors at a schema that exists wherever the spec lives, and
`specops schema --write DIR` puts one there."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
import yaml

from compiler.cli import run
from compiler.schema import schema_text

from .conftest import REPO

PLATFORM = REPO / "tests" / "platform_fixtures" / "platform.yaml"


def _schema_of(spec: Path) -> tuple[str, Path]:
    first = spec.read_text(encoding="utf-8").splitlines()[0]
    prefix = "# yaml-language-server: $schema="
    assert first.startswith(prefix)
    reference = first.removeprefix(prefix)
    return reference, (spec.parent / reference).resolve()


def _schema_errors(schema: Path, spec: Path) -> list[str]:
    validator = jsonschema.Draft202012Validator(json.loads(schema.read_text(encoding="utf-8")))
    document = yaml.safe_load(spec.read_text(encoding="utf-8"))
    return [e.message for e in validator.iter_errors(document)]


@pytest.mark.parametrize("platform", [None, PLATFORM], ids=["bare", "platform"])
def test_init_outside_a_checkout_writes_the_schema_next_to_the_spec(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, platform: Path | None
) -> None:
    monkeypatch.chdir(tmp_path)
    extra = ["--platform", str(platform)] if platform else []
    assert run(["init", "fraud-score", "--team", "risk", *extra]) == 0
    spec = tmp_path / "specs" / "fraud-score.yaml"
    reference, schema = _schema_of(spec)
    assert reference == "mlpipeline.v1.json"
    assert schema.read_text(encoding="utf-8") == schema_text()
    assert _schema_errors(schema, spec) == []


def test_the_written_schema_refuses_a_broken_spec(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert run(["init", "demo"]) == 0
    spec = tmp_path / "specs" / "demo.yaml"
    text = spec.read_text(encoding="utf-8")
    spec.write_text(text.replace("  framework: sklearn", "  framework: sklearnn"))
    assert _schema_errors(_schema_of(spec)[1], spec) != []


def test_init_from_the_checkout_into_a_folder_elsewhere(tmp_path: Path) -> None:
    assert run(["init", "demo", "--dir", str(tmp_path / "models")]) == 0  # cwd: the checkout
    spec = tmp_path / "models" / "demo.yaml"
    reference, schema = _schema_of(spec)
    assert (reference, schema.parent) == ("mlpipeline.v1.json", spec.parent)
    assert _schema_errors(schema, spec) == []


def test_init_inside_a_repository_with_schemas_refers_to_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "schemas").mkdir()
    (tmp_path / "schemas" / "mlpipeline.v1.json").write_text(schema_text())
    monkeypatch.chdir(tmp_path)
    assert run(["init", "demo", "--dir", "ml/specs"]) == 0
    spec = tmp_path / "ml" / "specs" / "demo.yaml"
    assert _schema_of(spec)[0] == "../../schemas/mlpipeline.v1.json"
    assert not (spec.parent / "mlpipeline.v1.json").exists()
    assert _schema_errors(_schema_of(spec)[1], spec) == []


def test_init_writes_a_given_schema_url_and_no_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    url = "https://example.com/schemas/v0.1.0/mlpipeline.v1.json"
    assert run(["init", "demo", "--schema", url]) == 0
    assert _schema_of(tmp_path / "specs" / "demo.yaml")[0] == url
    assert sorted(p.name for p in (tmp_path / "specs").iterdir()) == ["demo.yaml"]


@pytest.mark.parametrize(
    "bad", ["http://example.com/s.json", "x.json\n$schema=evil", "a b.json", "schema.yaml", ""]
)
def test_init_refuses_a_schema_reference_that_is_not_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, bad: str
) -> None:
    monkeypatch.chdir(tmp_path)
    assert run(["init", "demo", "--schema", bad]) == 2
    assert not (tmp_path / "specs").exists()


def test_schema_write_puts_the_printed_schema_in_a_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(["schema"]) == 0
    printed = capsys.readouterr().out
    assert run(["schema", "--write", str(tmp_path / "specs")]) == 0
    assert capsys.readouterr().out == f"wrote {tmp_path / 'specs' / 'mlpipeline.v1.json'}\n"
    assert (tmp_path / "specs" / "mlpipeline.v1.json").read_text() == printed
    assert run(["schema", "--write", str(tmp_path / "specs")]) == 0
    assert capsys.readouterr().out.startswith("up to date: ")
    assert run(["schema", "--kind", "Platform", "--write", str(tmp_path / "specs")]) == 0
    committed = (REPO / "schemas" / "platform.v1.json").read_text()
    assert (tmp_path / "specs" / "platform.v1.json").read_text() == committed


def test_schema_write_never_follows_a_planted_link(tmp_path: Path) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    (tmp_path / "specs").mkdir()
    (tmp_path / "specs" / "mlpipeline.v1.json").symlink_to(victim)
    assert run(["schema", "--write", str(tmp_path / "specs")]) == 0
    assert victim.read_text() == "keep me"
    written = tmp_path / "specs" / "mlpipeline.v1.json"
    assert not written.is_symlink() and written.read_text() == schema_text()
    assert [p.name for p in (tmp_path / "specs").iterdir()] == ["mlpipeline.v1.json"]


def test_schema_write_into_a_file_is_a_usage_error(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    assert run(["schema", "--write", str(tmp_path / "file")]) == 2
