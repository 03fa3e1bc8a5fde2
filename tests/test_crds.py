"""The CRD schemas shipped in compiler/verify/crds: what they are, how they are refreshed, and
what a damaged copy does. Everything here runs offline, on the repository's own files."""

from __future__ import annotations

import dataclasses
import gzip
import hashlib
import json
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from compiler.render import RenderedFile
from compiler.verify import VerifyContext, crds
from compiler.verify.crds import refresh
from compiler.verify.kubernetes import verify_custom_resources

SHIPPED = {
    ("argoproj.io", "Application"): ["v1alpha1"],
    ("monitoring.coreos.com", "PrometheusRule"): ["v1"],
    ("serving.kserve.io", "InferenceService"): ["v1beta1"],
}


# --- the shipped data -------------------------------------------------------------------------


def test_shipped_data_matches_its_index() -> None:
    entries = crds.read_index()
    assert {(e.group, e.kind): list(e.versions) for e in entries} == SHIPPED
    for entry in entries:
        schemas = crds.load_schemas(entry)  # checks the data's sha256 against the index
        assert list(schemas) == list(entry.versions)
        for schema in schemas.values():
            assert schema["type"] == "object" and "spec" in schema["properties"]
        assert entry.url == refresh.RAW_URL.format(
            project=entry.project, commit=entry.commit, path=entry.path
        )
        assert len(entry.commit) == 40 and len(entry.source_sha256) == 64
        assert (crds.DATA_DIR / entry.license_file).is_file()
    shipped_files = {p.name for p in crds.DATA_DIR.glob("*.json.gz")}
    assert shipped_files == {e.data for e in entries}


def test_index_and_notice_are_what_refresh_writes_for_the_pins() -> None:
    entries = crds.read_index()
    pinned = {(p.group, p.kind, p.plural, p.project, p.path, p.commit, p.url, p.data, p.license)
              for p in refresh.PINS}  # fmt: skip
    indexed = {(e.group, e.kind, e.plural, e.project, e.path, e.commit, e.url, e.data, e.license)
               for e in entries}  # fmt: skip
    assert pinned == indexed
    index = json.loads((crds.DATA_DIR / crds.INDEX_NAME).read_bytes())
    assert (crds.DATA_DIR / crds.INDEX_NAME).read_bytes() == crds.render_json(index, indent=1)
    assert index["generated_by"] == refresh.GENERATED_BY
    notice = (crds.DATA_DIR / refresh.NOTICE_NAME).read_text(encoding="utf-8")
    assert notice == refresh.notice(entries)
    for entry in entries:
        assert entry.commit in notice and entry.source_sha256 in notice
    licence = (crds.DATA_DIR / "LICENSES" / "Apache-2.0.txt").read_text(encoding="utf-8")
    assert "Apache License" in licence and "Version 2.0, January 2004" in licence
    assert "END OF TERMS AND CONDITIONS" in licence  # the whole text, not a pointer to it


def test_validate_reads_no_crd() -> None:
    code = (
        "import sys; from compiler.cli import run; code = run(['validate', 'specs/']); "
        "print(code, [m for m in sys.modules if m.startswith('compiler.verify.')])"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert proc.stdout.strip().splitlines()[-1] == "0 []"  # no verifier, no CRD index or schema


# --- refresh, offline -------------------------------------------------------------------------

WIDGETS = """\
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: widgets.example.com}
spec:
  group: example.com
  names: {kind: Widget, plural: widgets}
  scope: Namespaced
  versions:
    - name: v1
      served: true
      storage: true
      schema:
        openAPIV3Schema:
          type: object
          description: A widget.
          properties:
            spec:
              type: object
              properties:
                size: {type: integer, minimum: 1}
                description: {type: string}
    - name: v0
      served: false
      storage: false
      schema: {openAPIV3Schema: {type: object}}
    - name: v2alpha1
      served: true
      storage: false
---
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: gadgets.example.com}
spec:
  group: example.com
  names: {kind: Gadget, plural: gadgets}
  scope: Namespaced
  versions:
    - {name: v1, served: true, storage: true, schema: {openAPIV3Schema: {type: object}}}
"""
PIN = refresh.Pin(
    "example.com", "Widget", "widgets", "example/widgets", "config/crd/widgets.yaml", "a" * 40
)


@pytest.fixture
def out_dir(tmp_path: Path) -> Path:
    out = tmp_path / "out"
    (out / "LICENSES").mkdir(parents=True)
    shutil.copy(crds.DATA_DIR / "LICENSES" / "Apache-2.0.txt", out / "LICENSES")
    return out


@pytest.fixture
def source(tmp_path: Path) -> Path:
    folder = tmp_path / "upstream"
    folder.mkdir()
    (folder / "widgets.yaml").write_text(WIDGETS, encoding="utf-8")
    return folder


def run_refresh(
    capsys: pytest.CaptureFixture[str], out: Path, *args: str, pins: Any = (PIN,)
) -> tuple[int, str, str]:
    code = refresh.main(list(args), pins=pins, out_dir=out)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


def test_refresh_from_local_copies_writes_the_served_schemas(
    capsys: pytest.CaptureFixture[str], out_dir: Path, source: Path
) -> None:
    code, _, err = run_refresh(capsys, out_dir, "--from", str(source))
    assert code == 1 and "out of date" in err
    assert snapshot(out_dir) == {}  # a check writes nothing
    code, out, _ = run_refresh(capsys, out_dir, "--write", "--from", str(source))
    assert code == 0 and "recorded sha256" in out
    (entry,) = crds.read_index(out_dir)
    assert entry.source_sha256 == hashlib.sha256(WIDGETS.encode()).hexdigest()
    assert entry.versions == ("v1", "v2alpha1")  # v0 is not served
    expected = next(yaml.safe_load_all(WIDGETS))["spec"]["versions"][0]["schema"]
    schemas = crds.load_schemas(entry, out_dir)
    assert schemas == {"v1": expected["openAPIV3Schema"], "v2alpha1": None}
    assert "description" in schemas["v1"]["properties"]["spec"]["properties"]  # kept as it is
    assert (
        entry.url
        == f"https://raw.githubusercontent.com/example/widgets/{'a' * 40}/config/crd/widgets.yaml"
    )
    notice = (out_dir / "NOTICE.md").read_text()
    assert "example/widgets" in notice and entry.source_sha256 in notice


def test_refresh_is_deterministic(
    capsys: pytest.CaptureFixture[str],
    out_dir: Path,
    source: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert run_refresh(capsys, out_dir, "--write", "--from", str(source))[0] == 0
    first = snapshot(out_dir)
    code, out, _ = run_refresh(capsys, out_dir, "--write", "--from", str(source))
    assert code == 0 and "sha256 matches" in out and "wrote" not in out
    assert snapshot(out_dir) == first
    monkeypatch.setattr(time, "time", lambda: 2_000_000_000.0)  # a later run
    again = tmp_path / "again"
    shutil.copytree(out_dir / "LICENSES", again / "LICENSES")
    assert run_refresh(capsys, again, "--write", "--from", str(source))[0] == 0
    assert snapshot(again) == first  # from scratch, byte for byte (no timestamps in the gzip)
    assert gzip.decompress(first[PIN.data]) == crds.render_json(
        {"versions": crds.load_schemas(crds.read_index(again)[0], again)}
    )
    assert run_refresh(capsys, out_dir, "--from", str(source))[0] == 0  # up to date


def test_refresh_refuses_a_file_that_changed_under_its_pin(
    capsys: pytest.CaptureFixture[str], out_dir: Path, source: Path
) -> None:
    assert run_refresh(capsys, out_dir, "--write", "--from", str(source))[0] == 0
    before = snapshot(out_dir)
    (source / "widgets.yaml").write_text(WIDGETS.replace("minimum: 1", "minimum: 2"))
    code, _, err = run_refresh(capsys, out_dir, "--write", "--from", str(source))
    assert code == 1 and "is not the pinned one" in err and "Traceback" not in err
    assert snapshot(out_dir) == before


def test_moving_a_pin_records_the_new_file(
    capsys: pytest.CaptureFixture[str], out_dir: Path, source: Path
) -> None:
    assert run_refresh(capsys, out_dir, "--write", "--from", str(source))[0] == 0
    (source / "widgets.yaml").write_text(WIDGETS.replace("minimum: 1", "minimum: 2"))
    moved = dataclasses.replace(PIN, commit="b" * 40)
    code, out, _ = run_refresh(capsys, out_dir, "--write", "--from", str(source), pins=(moved,))
    assert code == 0 and f"pinned to example/widgets@{'b' * 12}" in out
    (entry,) = crds.read_index(out_dir)
    assert entry.commit == "b" * 40 and "b" * 40 in entry.url
    assert entry.source_sha256 == hashlib.sha256((source / "widgets.yaml").read_bytes()).hexdigest()
    schema = crds.load_schemas(entry, out_dir)["v1"]
    assert schema["properties"]["spec"]["properties"]["size"]["minimum"] == 2


def test_refresh_drops_the_data_of_a_pin_it_no_longer_has(
    capsys: pytest.CaptureFixture[str], out_dir: Path, source: Path
) -> None:
    gadget = refresh.Pin("example.com", "Gadget", "gadgets", "example/widgets",
                         "config/crd/widgets.yaml", "a" * 40)  # fmt: skip
    both = (PIN, gadget)
    assert run_refresh(capsys, out_dir, "--write", "--from", str(source), pins=both)[0] == 0
    assert {p.name for p in out_dir.glob("*.json.gz")} == {PIN.data, gadget.data}
    assert run_refresh(capsys, out_dir, "--write", "--from", str(source))[0] == 0
    assert {p.name for p in out_dir.glob("*.json.gz")} == {PIN.data}
    assert [e.kind for e in crds.read_index(out_dir)] == ["Widget"]


@pytest.mark.parametrize(
    ("pin", "message"),
    [
        (dataclasses.replace(PIN, path="config/crd/other.yaml", plural="others"), "no local copy"),
        (dataclasses.replace(PIN, kind="Sprocket"), "0 apiextensions.k8s.io/v1"),
        (dataclasses.replace(PIN, license="GPL-3.0-only"), "no licence text for GPL-3.0-only"),
    ],
)
def test_refresh_reports_what_it_cannot_use(
    capsys: pytest.CaptureFixture[str],
    out_dir: Path,
    source: Path,
    pin: refresh.Pin,
    message: str,
) -> None:
    code, _, err = run_refresh(capsys, out_dir, "--write", "--from", str(source), pins=(pin,))
    assert code == 1 and message in err and "Traceback" not in err
    assert snapshot(out_dir) == {}


def test_refresh_finds_a_copy_by_its_kubectl_style_name(
    capsys: pytest.CaptureFixture[str], out_dir: Path, source: Path
) -> None:
    (source / "widgets.yaml").rename(source / "example.com_widgets.yaml")
    assert run_refresh(capsys, out_dir, "--write", "--from", str(source))[0] == 0


def test_refresh_without_a_network_says_to_use_from(
    capsys: pytest.CaptureFixture[str], out_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def offline(url: str, timeout: float) -> Any:
        raise OSError("no network")

    monkeypatch.setattr(refresh.urllib.request, "urlopen", offline)
    code, _, err = run_refresh(capsys, out_dir, "--write")
    assert code == 1 and "cannot download https://raw.githubusercontent.com/" in err
    assert "pass --from DIR" in err


# --- a damaged installation -------------------------------------------------------------------


@pytest.fixture
def damaged(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A copy of the shipped data that the verifiers read instead; the test damages it."""
    copy = tmp_path / "crds"
    shutil.copytree(crds.DATA_DIR, copy, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    monkeypatch.setattr(crds, "DATA_DIR", copy)
    crds.builtin_index.cache_clear()
    yield copy
    crds.builtin_index.cache_clear()


ISVC = (
    "apiVersion: serving.kserve.io/v1beta1\nkind: InferenceService\nmetadata: {name: m}\n"
    "spec: {predictor: {model: {modelFormat: {name: sklearn}, storageUri: gs://b/m}}}\n"
)
RULE = "apiVersion: monitoring.coreos.com/v1\nkind: PrometheusRule\nmetadata: {name: r}\nspec: {}\n"


def manifest(text: str) -> RenderedFile:
    return RenderedFile("m.yaml", text, "t", "t/m.yaml.j2", "", "s.yaml", "")


def test_the_copy_verifies_like_the_shipped_data(damaged: Path) -> None:
    context = VerifyContext()
    assert verify_custom_resources(manifest(ISVC), context) == []
    assert verify_custom_resources(manifest(RULE), context) == []
    assert not context.unverified


@pytest.mark.parametrize(
    "damage",
    [
        lambda blob: blob[: len(blob) // 2],  # truncated
        lambda blob: b"not gzip at all",
        lambda blob: gzip.compress(gzip.decompress(blob).replace(b'"integer"', b'"string"')),
    ],
)
def test_damaged_schema_data_is_one_located_error(damaged: Path, damage: Any) -> None:
    data = damaged / "serving.kserve.io_inferenceservices.json.gz"
    data.write_bytes(damage(data.read_bytes()))
    context = VerifyContext()
    (problem,) = verify_custom_resources(manifest(ISVC), context)
    assert (problem.code, problem.location.file) == ("K8S007", str(data))
    assert "reinstall" in (problem.hint or "")
    assert verify_custom_resources(manifest(ISVC), context) == []  # reported once
    assert context.unverified == {
        "InferenceService (serving.kserve.io/v1beta1): no CRD for it; pass --crd-dir"
    }
    assert verify_custom_resources(manifest(RULE), context) == []  # the other kinds still work


def test_a_damaged_index_is_one_located_error(damaged: Path) -> None:
    (damaged / "index.json").write_text('{"format": 1, "crds": [{"kind": "x"}]}')
    context = VerifyContext()
    (problem,) = verify_custom_resources(manifest(RULE), context)
    assert problem.code == "K8S007" and problem.location.file == str(damaged / "index.json")
    assert len(context.unverified) == 1


def test_a_huge_data_file_is_refused(damaged: Path) -> None:
    entry = next(e for e in crds.read_index() if e.kind == "PrometheusRule")
    bomb = gzip.compress(b" " * (crds.MAX_DATA_BYTES + 1))
    (damaged / entry.data).write_bytes(bomb)
    with pytest.raises(crds.BuiltinDataError, match="larger than any CRD schema"):
        crds.load_schemas(entry)
