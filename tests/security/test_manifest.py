"""Attack: a tampered or malformed `.specops/manifest.json` in the output folder.

Each hostile manifest must stop `compile` (and `--check`) with exit 1 and one exact, located
message, before anything inside or outside `--out` changes.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from compiler.manifest import MAX_DOCUMENT_BYTES, ManifestError, path_problem, read_manifest
from tests.conftest import REPO
from tests.security._support import compile_args, run_cli, tree_hashes

SHA = "0" * 64
VICTIM = "victim/x.yaml"
HEAD = '{\n  "files": {\n    '
TAIL = "\n  }\n}\n"


def _entry_line(spec: str, sha: str) -> str:
    fields = {
        "sha256": sha,
        "spec": spec,
        "spec_sha256": SHA,
        "target": "model-card",
        "template": "model-card/model-card.md.j2",
        "template_sha256": SHA,
    }
    return json.dumps(fields)


def _field_lines(**override: object) -> str:
    fields: dict[str, object] = {
        "sha256": SHA,
        "spec": "s.yaml",
        "spec_sha256": SHA,
        "target": "model-card",
        "template": "t.j2",
        "template_sha256": SHA,
        **override,
    }
    body = ",\n".join(f"      {json.dumps(k)}: {json.dumps(v)}" for k, v in fields.items())
    return HEAD + '"model-cards/x.md": {\n' + body + "\n    }" + TAIL


def _entry_at(key: str) -> str:
    return HEAD + json.dumps(key) + ": ENTRY" + TAIL


def _bad_path(key: str, problem: str) -> tuple[str, str]:
    shown = repr(key)
    where = f"(at $.files[{shown}])"
    return _entry_at(key), f":3:5: not a specops manifest: entry {shown} {problem} {where}"


DOT = "has a '.' or '..' segment"
RAW = "contains a backslash or a control character"
INSIDE = "is inside .specops/, which specops lists only facts files of"  # facts/<name>.json

# (id, manifest text, what follows the manifest's path in the error). ENTRY is an entry whose
# hash matches the victim file and whose spec and target are in the compile's scope, so a
# manifest that were trusted would make the compile delete the victim.
CORPUS: list[tuple[str, str, str]] = [
    ("parent", *_bad_path("../victim/x.yaml", DOT)),
    ("nested-parent", *_bad_path("model-cards/../../victim/x.yaml", DOT)),
    ("dot", *_bad_path("./model-cards/x.md", DOT)),
    ("absolute", *_bad_path("VICTIM_ABS", "is absolute")),
    ("backslash", *_bad_path("..\\victim\\x.yaml", RAW)),
    ("nul", *_bad_path("model-cards/x\x00.md", RAW)),
    ("newline", *_bad_path("model-cards/x\n.md", RAW)),
    ("escape", *_bad_path("model-cards/x\x1b.md", RAW)),
    ("empty-segment", *_bad_path("model-cards//x.md", "has an empty segment")),
    ("trailing-slash", *_bad_path("model-cards/", "has an empty segment")),
    ("empty", *_bad_path("", "is empty")),
    ("long", *_bad_path("ab/" * 342 + "c", "is longer than 1024 characters")),
    ("own-journal", *_bad_path(".specops/journal.json", INSIDE)),
    ("own-manifest", *_bad_path(".specops/manifest.json", INSIDE)),
    ("facts-not-a-name", *_bad_path(".specops/facts/Evil_Name.json", INSIDE)),
    ("facts-not-json", *_bad_path(".specops/facts/x.yaml", INSIDE)),
    ("facts-nested", *_bad_path(".specops/facts/x/y.json", INSIDE)),
    ("facts-folder", *_bad_path(".specops/facts", INSIDE)),
    ("symlinked-dir", *_bad_path("link/x.yaml", "goes through the symbolic link link")),
    (
        "files-list",
        '{"files": []}',
        ":1:2: not a specops manifest: Input should be a valid dictionary (at $.files)",
    ),
    (
        "target-list",
        _field_lines(target=["model-card"]),
        ":7:7: not a specops manifest: Input should be a valid string "
        "(at $.files['model-cards/x.md'].target)",
    ),
    (
        "spec-integer",
        _field_lines(spec=7),
        ":5:7: not a specops manifest: Input should be a valid string "
        "(at $.files['model-cards/x.md'].spec)",
    ),
    (
        "bad-hash",
        _field_lines(sha256="../../etc"),
        ":4:7: not a specops manifest: String should match pattern '^[0-9a-f]{64}$' "
        "(at $.files['model-cards/x.md'].sha256)",
    ),
    (
        "unknown-field",
        _field_lines(delete=True),
        ":10:7: not a specops manifest: Extra inputs are not permitted "
        "(at $.files['model-cards/x.md'].delete)",
    ),
    (
        "no-files",
        '{"generator": "specops 0.1.0"}',
        ": not a specops manifest: Field required (at $.files)",
    ),
    (
        "not-json",
        "{not json",
        ":1:2: not a specops manifest: not JSON: Expecting property name enclosed in double quotes",
    ),
    ("array", "[]", ": not a specops manifest: the document is an array, not an object"),
    ("string", '"files"', ": not a specops manifest: the document is a string, not an object"),
    ("deep", "[" * 200_000 + "]" * 200_000, ": not a specops manifest: nested too deeply"),
]


@pytest.fixture
def world(tmp_path: Path) -> Path:
    """specs/, an output folder compiled from them, and a victim folder beside it."""
    shutil.copytree(REPO / "specs", tmp_path / "specs")
    (tmp_path / "victim").mkdir()
    (tmp_path / VICTIM).write_text("apiVersion: specops/v1\n")
    assert run_cli(compile_args(tmp_path / "specs", tmp_path / "out")) == 0
    (tmp_path / "out" / "link").symlink_to(tmp_path / "victim")
    return tmp_path


def _plant(world: Path, text: str) -> Path:
    victim = world / VICTIM
    entry = _entry_line(
        str(world / "specs" / "churn-classifier.yaml"),
        hashlib.sha256(victim.read_bytes()).hexdigest(),
    )
    manifest = world / "out/.specops/manifest.json"
    manifest.write_text(text.replace("ENTRY", entry).replace("VICTIM_ABS", str(victim)))
    return manifest


def _expect_refusal(
    world: Path, manifest: Path, suffix: str, capsys: pytest.CaptureFixture[str]
) -> None:
    before = tree_hashes(world)
    capsys.readouterr()
    for extra in ([], ["--check"]):
        assert run_cli(compile_args(world / "specs", world / "out", *extra)) == 1
        first = capsys.readouterr().err.splitlines()[0]
        assert first == f"specops: error: {manifest}{suffix}"
    assert tree_hashes(world) == before


@pytest.mark.parametrize(("text", "suffix"), [c[1:] for c in CORPUS], ids=[c[0] for c in CORPUS])
def test_hostile_manifest_is_refused_with_a_located_error(
    world: Path, text: str, suffix: str, capsys: pytest.CaptureFixture[str]
) -> None:
    manifest = _plant(world, text)
    _expect_refusal(world, manifest, suffix.replace("VICTIM_ABS", str(world / VICTIM)), capsys)


def test_oversized_manifest_is_refused_unread(
    world: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    manifest = _plant(world, " " * (MAX_DOCUMENT_BYTES + 1))
    suffix = f": not a specops manifest: larger than {MAX_DOCUMENT_BYTES} bytes"
    _expect_refusal(world, manifest, suffix, capsys)


def test_binary_manifest_is_refused(world: Path, capsys: pytest.CaptureFixture[str]) -> None:
    manifest = world / "out/.specops/manifest.json"
    manifest.write_bytes(b'{"files": {"\xff": 1}}')
    _expect_refusal(world, manifest, ": not a specops manifest: not UTF-8 text", capsys)


def test_manifest_that_is_a_link_is_not_followed(
    world: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    manifest = world / "out/.specops/manifest.json"
    (world / "victim/manifest.json").write_bytes(manifest.read_bytes())
    manifest.unlink()
    manifest.symlink_to(world / "victim/manifest.json")
    suffix = ": not a specops manifest: a symbolic link (or not a directory)"
    _expect_refusal(world, manifest, suffix, capsys)


# --- properties --------------------------------------------------------------------------

PATH_CHARS = st.sampled_from(["a", "b", ".", "..", "/", "\\", "\x00", "\n", "~", " ", "é"])


@given(st.lists(PATH_CHARS, max_size=12).map("".join))
def test_an_accepted_path_never_leaves_the_folder(path: str) -> None:
    if path_problem(path) is None:
        assert os.path.normpath(os.path.join("/srv/out", path)).startswith("/srv/out/")
        assert not path.startswith("/") and "\\" not in path and "\x00" not in path
        assert all(part not in ("", ".", "..") for part in path.split("/"))


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=20,
)


@settings(max_examples=200, deadline=None)
@given(st.one_of(JSON.map(lambda v: {"files": v}), JSON, st.binary(max_size=64)))
def test_any_manifest_is_read_or_refused_never_crashes(value: object) -> None:
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder)
        (out / ".specops").mkdir()
        raw = value if isinstance(value, bytes) else json.dumps(value).encode()
        (out / ".specops/manifest.json").write_bytes(raw)
        try:
            owned, _ = read_manifest(out)
        except ManifestError as exc:
            assert exc.message.startswith(f"{out}/.specops/manifest.json")
        else:
            assert all(path_problem(p) is None for p in owned)
