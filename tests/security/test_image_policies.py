"""Attack class: an ungoverned image. POL001 (digests) and POL002 (registries) must cover every
image a generated file runs, not only the ones a spec writes: the KFP steps' base image, the
explainer and the GitLab CI job image, each located at the platform setting that chose it, or,
when nobody chose it, at the platform's `defaults:` with the setting to add.

The corpus is data: an edit of the bundled example platform, and the exact findings."""

from __future__ import annotations

from pathlib import Path

import pytest

from compiler.api import validate
from tests.conftest import REPO

PLATFORM = REPO / "specs" / "platform" / "platform.yaml"
SPEC = REPO / "specs" / "churn-classifier.yaml"  # deploys to prod: image policies are errors
BASE = "registry.acme.io/base/python:3.11-slim@sha256:"
BUILTIN_HINT = "; add defaults.{setting} to platform.yaml with such an image"
DIGEST = "write it as repository@sha256:<digest> so every run uses the same bytes"
ALLOWED = "allowed: registry.acme.io, ghcr.io/acme"


def _line(text: str, needle: str) -> int:
    return next(n for n, line in enumerate(text.splitlines(), 1) if needle in line)


def _edit(old: str, new: str) -> tuple[str, str]:
    return old, new


# (case, edits to the platform file, spec edits, [(code, message start, line marker, json path)])
CASES = [
    (
        "base image by tag from Docker Hub",
        [_edit(f"    kfp_base: {BASE}", "    kfp_base: python:3.11-slim  # sha256:")],
        [],
        [
            ("POL001", "image 'python:3.11-slim' (platform setting defaults.kfp_base_image) is "
             "not pinned by digest", "kfp_base:", ("defaults", "images", "kfp_base")),
            ("POL002", "image 'python:3.11-slim' (platform setting defaults.kfp_base_image) is "
             "not from an allowed registry", "kfp_base:", ("defaults", "images", "kfp_base")),
        ],
    ),
    (
        "base image by its field name, from another registry",
        [_edit("  images:\n", "  images: {}\n"), _edit(f"    kfp_base: {BASE}", "    # kfp_base: "),
         _edit("  registries:", "  kfp_base_image: docker.io/library/python@sha256:" + "0" * 64
               + "\n  registries:")],
        [],
        [
            ("POL002", "image 'docker.io/library/python@sha256:", "kfp_base_image:",
             ("defaults", "kfp_base_image")),
        ],
    ),
    (
        "explainer left at the built-in default",
        [_edit("  explainer_image: ", "  # explainer_image: ")],
        [_edit("explainability: {method: permutation_importance}",
               "explainability: {method: permutation_importance, serve: true}")],
        [
            ("POL001", "image 'ghcr.io/acme/specops-explainer:0.1.0' (the built-in default of "
             "defaults.explainer_image) is not pinned by digest", "defaults:", ("defaults",)),
        ],
    ),
    (
        "GitLab CI image left at the built-in default",
        [_edit("    gitlab_image: ", "    # gitlab_image: ")],
        [],
        [
            ("POL001", "image 'python:3.11-bookworm' (the built-in default of "
             "defaults.ci.gitlab_image) is not pinned by digest", "defaults:", ("defaults",)),
            ("POL002", "image 'python:3.11-bookworm' (the built-in default of "
             "defaults.ci.gitlab_image) is not from an allowed registry", "defaults:",
             ("defaults",)),
        ],
    ),
]  # fmt: skip


def _apply(text: str, edits: list[tuple[str, str]]) -> str:
    for old, new in edits:
        assert old in text, old
        text = text.replace(old, new, 1)
    return text


@pytest.mark.parametrize(
    ("case", "edits", "spec_edits", "expected"), CASES, ids=[c[0] for c in CASES]
)
def test_every_image_is_governed_where_it_was_chosen(
    tmp_path: Path,
    case: str,
    edits: list[tuple[str, str]],
    spec_edits: list[tuple[str, str]],
    expected: list[tuple[str, str, str, tuple[str, ...]]],
) -> None:
    platform = tmp_path / "platform.yaml"
    text = _apply(PLATFORM.read_text(encoding="utf-8"), edits)
    platform.write_text(text, encoding="utf-8")
    spec = SPEC
    if spec_edits:  # beside the example's data, so CHK005 still finds it
        spec = SPEC.parent / f".test-{tmp_path.name}.yaml"
        spec.write_text(_apply(SPEC.read_text(encoding="utf-8"), spec_edits), encoding="utf-8")
    try:
        found = validate([spec], platform).diagnostics
    finally:
        if spec != SPEC:
            spec.unlink()
    got = [(d.code, d.message, d.location.line, d.location.json_path) for d in found]
    assert len(got) == len(expected), got
    for (code, message, line, path), (w_code, w_message, marker, w_path) in zip(
        got, expected, strict=True
    ):
        assert (code, path) == (w_code, w_path)
        assert message.startswith(w_message), message
        assert line == _line(text, marker)
    for d in found:
        assert d.location.file == platform.as_posix()
        if "built-in default" in d.message:
            setting = d.message.split("defaults.")[1].split(")")[0]
            assert d.hint and BUILTIN_HINT.format(setting=setting) in d.hint
            assert (DIGEST if d.code == "POL001" else ALLOWED) in d.hint


def test_the_bundled_platform_governs_and_passes_its_own_images() -> None:
    assert validate([REPO / "specs"], PLATFORM).diagnostics == []
