"""The incremental build: a spec whose inputs did not change is not rendered, compiled by kfp
or verified again, and a damaged cache only makes a compile slower, never different.

Each test compiles a copy of the bundled examples with a build cache of its own, edits one
input, and compares the incremental compile with a compile from scratch (`cache=False`), byte
for byte. `result.reuse` says how each spec's files were had: "input" (unchanged inputs),
"plan" (unchanged plan and templates) or "built".
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from compiler._version import __version__
from compiler.api import CompileOptions, CompileResult, compile_specs
from compiler.build_cache import BuildCache
from compiler.errors import UsageError
from compiler.manifest import MANIFEST_FORMAT, MANIFEST_PATH, ManifestEntry, ManifestError
from compiler.targets import builtin_templates
from compiler.write import SpecState, _manifest_bytes
from tests.conftest import REPO

CHURN = "specs/churn-classifier.yaml"
DEMAND = "specs/demand-forecast.yaml"
VISION = "specs/vision-defects.yaml"
PLATFORM = "specs/platform/platform.yaml"


def tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


class Checkout:
    """A copy of the examples (and a template layer) with its own build cache."""

    def __init__(self, root: Path) -> None:
        self.root = root
        shutil.copytree(REPO / "specs", root / "specs")
        self.layer = root / "layer"
        (self.layer / "kubeflow").mkdir(parents=True)
        batch = builtin_templates() / "kubeflow" / "batch.py.j2"
        shutil.copy(batch, self.layer / "kubeflow" / "batch.py.j2")
        self.cache = root / "cache"

    def compile(
        self, out: str = "out", cache: bool = True, jobs: int = 1, mode: str = "write"
    ) -> CompileResult:
        options = CompileOptions(
            [Path("specs")],
            Path(out),
            template_dirs=[self.layer],
            mode=mode,  # type: ignore[arg-type]
        )
        options.platform = Path(PLATFORM)
        options.jobs, options.cache, options.cache_dir = jobs, cache, self.cache
        result = compile_specs(options)
        assert result.ok or mode == "check", [str(d.message) for d in result.diagnostics]
        return result

    def scratch(self) -> dict[str, bytes]:
        """What a compile with no cache writes into an empty folder."""
        shutil.rmtree(self.root / "scratch", ignore_errors=True)
        self.compile("scratch", cache=False)
        return tree(self.root / "scratch")

    def edit(self, relative: str, old: str, new: str) -> None:
        path = self.root / relative
        text = path.read_text()
        assert old in text, (relative, old)
        path.write_text(text.replace(old, new, 1))


@pytest.fixture
def checkout(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Checkout:
    monkeypatch.chdir(tmp_path)
    return Checkout(tmp_path)


def test_a_recompile_with_nothing_changed_builds_nothing(checkout: Checkout) -> None:
    first = checkout.compile()
    assert set(first.reuse.values()) == {"built"}
    written = tree(checkout.root / "out")
    again = checkout.compile()
    assert again.reuse == dict.fromkeys(first.reuse, "input")
    assert again.write_plan is not None and again.write_plan.is_current
    assert tree(checkout.root / "out") == written == checkout.scratch()
    assert [d.message for d in again.diagnostics] == [d.message for d in first.diagnostics]


def test_check_with_nothing_changed_reads_the_cache(checkout: Checkout) -> None:
    checkout.compile()
    result = checkout.compile(mode="check")
    assert result.ok and not result.stale
    assert set(result.reuse.values()) == {"input"}


def test_one_edited_spec_is_the_only_one_built(checkout: Checkout) -> None:
    checkout.compile()
    checkout.edit(CHURN, "description:", "description: Edited.")
    result = checkout.compile()
    assert result.reuse == {CHURN: "built", DEMAND: "input", VISION: "input"}
    assert tree(checkout.root / "out") == checkout.scratch()


def test_a_template_change_builds_only_the_specs_that_read_it(checkout: Checkout) -> None:
    checkout.compile()
    with (checkout.layer / "kubeflow" / "batch.py.j2").open("a") as template:
        template.write("# a comment the batch pipeline now ends with\n")
    result = checkout.compile()
    assert result.reuse == {CHURN: "plan", DEMAND: "built", VISION: "plan"}  # batch: demand only
    out = tree(checkout.root / "out")
    assert out == checkout.scratch()
    assert out["kubeflow/demand-forecast/batch-prod.py"].endswith(b"now ends with\n")


def test_a_platform_change_builds_only_the_specs_it_changes(checkout: Checkout) -> None:
    checkout.compile()
    checkout.edit(PLATFORM, "argocd_project: ml-dev", "argocd_project: ml-sandbox")
    result = checkout.compile()
    assert result.reuse == {CHURN: "plan", DEMAND: "built", VISION: "plan"}  # dev: demand only
    assert tree(checkout.root / "out") == checkout.scratch()


def test_a_comment_in_the_platform_rebuilds_no_spec(checkout: Checkout) -> None:
    checkout.compile()
    checkout.edit(PLATFORM, "kind: Platform", "kind: Platform  # edited")
    result = checkout.compile()
    assert set(result.reuse.values()) == {"plan"}


def _damage(cache: Path, how: str) -> int:
    damaged = 0
    for path in sorted(cache.rglob("*")):
        if not path.is_file() or path.name.startswith(".tmp"):
            continue
        damaged += 1
        if how == "truncate":
            path.write_bytes(path.read_bytes()[: len(path.read_bytes()) // 2])
        elif how == "flip":
            data = bytearray(path.read_bytes())
            data[len(data) // 2] ^= 0x20
            path.write_bytes(bytes(data))
        else:
            path.unlink()
    return damaged


@pytest.mark.parametrize("how", ["truncate", "flip", "delete"])
def test_a_damaged_cache_is_only_slower(checkout: Checkout, how: str) -> None:
    checkout.compile()
    assert _damage(checkout.cache, how) > 50
    shutil.rmtree(checkout.root / "out")  # every file must come from somewhere trustworthy
    result = checkout.compile()
    assert set(result.reuse.values()) == {"built"}
    assert tree(checkout.root / "out") == checkout.scratch()


def test_a_changed_blob_is_never_written(checkout: Checkout) -> None:
    """The record is intact, but a blob a missing output needs was edited: rebuild it."""
    checkout.compile()
    victim = checkout.root / "out" / "kubeflow" / "churn-classifier" / "pipeline.yaml"
    cache = BuildCache(checkout.cache)
    blob = cache.path(hashlib.sha256(victim.read_bytes()).hexdigest())
    blob.write_bytes(b"planted")
    victim.unlink()
    result = checkout.compile()
    assert result.reuse[CHURN] == "built" and result.reuse[DEMAND] == "input"
    assert tree(checkout.root / "out") == checkout.scratch()


def test_a_forged_record_naming_a_path_outside_the_folder_is_ignored(checkout: Checkout) -> None:
    checkout.compile()
    records = [*(checkout.cache / "v1" / "input").rglob("*.json")]
    for record in [*records, *(checkout.cache / "v1" / "plan").rglob("*.json")]:
        document = json.loads(record.read_text())
        document["files"][1]["path"] = "../escaped.yaml"
        record.write_text(json.dumps(document))
    result = checkout.compile()
    assert set(result.reuse.values()) == {"built"}
    assert not (checkout.root / "escaped.yaml").exists()


def test_a_tampered_output_fails_check_although_the_cache_is_warm(checkout: Checkout) -> None:
    """A pull request edits a file and the manifest's hash for it: the cache, not the
    folder, says what the inputs build, so --check calls the file stale."""
    checkout.compile()
    out = checkout.root / "out"
    victim = "deploy/prod/churn-classifier/inferenceservice.yaml"
    old = hashlib.sha256((out / victim).read_bytes()).hexdigest()
    (out / victim).write_text((out / victim).read_text().replace("churn", "evil", 1))
    new = hashlib.sha256((out / victim).read_bytes()).hexdigest()
    manifest = out / MANIFEST_PATH
    manifest.write_text(manifest.read_text().replace(old, new))
    result = checkout.compile(mode="check")
    assert f"stale:   {victim}" in result.stale and result.reuse[CHURN] == "input"


def test_an_edit_that_keeps_size_and_mtime_is_still_seen(checkout: Checkout) -> None:
    checkout.compile()
    checkout.compile()  # the stat index now knows every file (none changed within 2 s)
    victim = checkout.root / "out" / "deploy/prod/churn-classifier/inferenceservice.yaml"
    before = victim.stat()
    data = victim.read_bytes()
    victim.write_bytes(data.replace(b"churn", b"chuRn", 1))
    os.utime(victim, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert victim.stat().st_size == before.st_size
    result = checkout.compile(mode="check")
    edited = "deploy/prod/churn-classifier/inferenceservice.yaml: edited by hand"
    assert result.stale == [f"blocked: {edited} since specops wrote it"]


def test_two_processes_build_what_one_builds(checkout: Checkout) -> None:
    one = checkout.compile("one", cache=False, jobs=1)
    two = checkout.compile("two", cache=False, jobs=2)
    assert tree(checkout.root / "one") == tree(checkout.root / "two")
    assert one.diagnostics == two.diagnostics and one.unverified == two.unverified


def test_template_failures_are_the_same_in_a_pool(checkout: Checkout) -> None:
    (checkout.layer / "kubeflow" / "batch.py.j2").write_text("{{ spec.no_such_field | py }}\n")
    (checkout.layer / "serving").mkdir()
    (checkout.layer / "serving" / "inferenceservice.yaml.j2").write_text("{{ nope | yaml }}\n")
    results = []
    for jobs in (1, 2):
        options = CompileOptions(
            [Path("specs")], Path(f"out{jobs}"), template_dirs=[checkout.layer]
        )
        options.jobs, options.cache = jobs, False
        results.append(compile_specs(options))
    assert not results[0].ok and results[0].diagnostics == results[1].diagnostics
    assert {d.code for d in results[0].diagnostics if d.is_error} == {"RND001"}
    assert not (checkout.root / "out1").exists() and not (checkout.root / "out2").exists()


def test_the_cache_may_not_be_inside_the_output_folder(checkout: Checkout) -> None:
    options = CompileOptions([Path("specs")], Path("out"))
    options.cache_dir = Path("out/.cache")
    with pytest.raises(UsageError, match="inside the output folder"):
        compile_specs(options)


_TEXT = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=12)


@settings(max_examples=60, deadline=None)
@given(
    files=st.dictionaries(_TEXT, st.tuples(_TEXT, _TEXT), max_size=4),
    specs=st.dictionaries(_TEXT, st.just("b" * 64), max_size=3),
)
def test_the_manifest_is_written_as_json_dumps_would(
    files: dict[str, tuple[str, str]], specs: dict[str, str]
) -> None:
    """The manifest is built entry by entry for speed: byte for byte what the generic
    encoder writes, whatever the names hold."""
    digest = "a" * 64
    entries = {
        path: ManifestEntry.model_construct(
            sha256=digest,
            spec=spec,
            spec_sha256=digest,
            target="t",
            template=template,
            template_sha256=digest,
        )
        for path, (spec, template) in files.items()
    }
    document = {
        "format": MANIFEST_FORMAT,
        "generator": f"specops {__version__}",
        "specs": {path: {"sha256": sha} for path, sha in specs.items()},
        "files": {p: e.model_dump() for p, e in sorted(entries.items())},
    }
    written = _manifest_bytes(entries, {p: SpecState(s) for p, s in specs.items()})
    assert written == (json.dumps(document, indent=2) + "\n").encode()


def test_an_edited_manifest_is_read_again_whatever_the_cache_remembers(
    checkout: Checkout,
) -> None:
    """The cache remembers what the latest plan made of the manifest, by its hash: any edit of
    it is a different hash, read as untrusted input."""
    checkout.compile()
    assert checkout.compile(mode="check").ok  # the memo now knows this manifest
    manifest = checkout.root / "out" / MANIFEST_PATH
    document = json.loads(manifest.read_text())
    entry = next(iter(document["files"].values()))
    document["files"]["../escaped.yaml"] = entry
    manifest.write_text(json.dumps(document, indent=2) + "\n")
    with pytest.raises(ManifestError, match=r"escaped\.yaml"):
        checkout.compile(mode="check")


def test_a_manifest_edited_back_and_forth_is_stale_then_current(checkout: Checkout) -> None:
    checkout.compile()
    manifest = checkout.root / "out" / MANIFEST_PATH
    written = manifest.read_bytes()
    manifest.write_bytes(written.replace(b'"format": 4', b'"format": 4 ', 1))
    assert checkout.compile(mode="check").stale == [f"stale:   {MANIFEST_PATH}"]
    manifest.write_bytes(written)
    assert checkout.compile(mode="check").stale == []


def test_a_name_taken_by_a_reused_spec_is_located_in_the_new_one(checkout: Checkout) -> None:
    checkout.compile()
    twin = checkout.root / "specs" / "zz-twin.yaml"
    twin.write_text((checkout.root / CHURN).read_text())
    result = checkout.compile(mode="check")
    (clash,) = [d for d in result.diagnostics if d.code == "CHK016"]
    assert clash.message == f"metadata.name 'churn-classifier' is already used by {CHURN}"
    assert (clash.location.file, clash.location.line) == ("specs/zz-twin.yaml", 5)
    assert result.reuse == {}  # nothing is built or written when a spec is invalid
