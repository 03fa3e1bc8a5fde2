"""The strict loader: positions, YAML 1.2 core resolution, and never an exception for any input."""

from __future__ import annotations

import string

from hypothesis import given, settings
from hypothesis import strategies as st

from compiler.loader import load, resolve_plain
from compiler.model import build_model
from compiler.sources import SourceFile


def _load(text: str):  # type: ignore[no-untyped-def]
    return load(SourceFile("t.yaml", text, "0" * 64))


def test_positions_of_keys_and_values() -> None:
    loaded, diagnostics = _load("a:\n  b: [x, {c: 1}]\n")
    assert diagnostics == []
    assert loaded is not None
    assert loaded.value_positions[("a", "b", 1, "c")] == (2, 14)
    assert loaded.key_positions[("a", "b")] == (2, 3)
    assert loaded.locate(("a", "b", 0)).line == 2
    assert loaded.locate(("a", "missing", "deeper")).line == 2  # nearest known ancestor


def test_yaml_11_surprises_stay_strings() -> None:
    for text in ["on", "off", "yes", "no", "NO", "y", "22:22", "2026-11-01", "1_000", "0b11"]:
        assert resolve_plain(text) == text


def test_yaml_12_core_types() -> None:
    assert resolve_plain("true") is True
    assert resolve_plain("FALSE") is False
    assert resolve_plain("~") is None
    assert resolve_plain("0755") == 755
    assert resolve_plain("3.10") == 3.1
    assert resolve_plain("0x1F") == 31
    assert resolve_plain("0o17") == 15


def test_quoted_numbers_are_strings() -> None:
    loaded, _ = _load("a: \"3.10\"\nb: '0755'\nc: !!str 42\n")
    assert loaded is not None
    assert loaded.data == {"a": "3.10", "b": "0755", "c": "42"}


def test_plain_text_of_non_strings_is_kept_for_hints() -> None:
    loaded, _ = _load("version: 3.10\n")
    assert loaded is not None
    assert loaded.plain_text[("version",)] == "3.10"


def test_all_problems_in_one_pass() -> None:
    _, diagnostics = _load("a: 1\na: 2\nb: &x 1\nc: !t 3\n")
    assert [d.code for d in diagnostics] == ["YAML007", "YAML005", "YAML006"]


def test_non_string_keys_are_text() -> None:
    loaded, _ = _load("1: a\ntrue: b\nnull: c\n")
    assert loaded is not None
    assert loaded.data == {"1": "a", "true": "b", "null": "c"}


yaml_text = st.text(alphabet=string.printable + "äé€\u2028\ufeff\x00", max_size=300)
yaml_like = st.lists(
    st.sampled_from(
        [
            "apiVersion: specops/v1\n",
            "kind: MLPipeline\n",
            "metadata:\n",
            "  name: x\n",
            "- a\n",
            "  - [1, {b: c}]\n",
            "&a ",
            "*a\n",
            "<<: ",
            "!!python/object:os.system\n",
            "---\n",
            "? ",
            ": ",
            "{",
            "}",
            "[",
            "]",
            '"',
            "'",
            "\t",
            "  ",
            "#c\n",
            "|\n",
            ">-\n",
            "data: {sources: []}\n",
            "model: {framework: custom}\n",
            "0755\n",
            "~\n",
        ]
    ),
    max_size=40,
).map("".join)


@settings(max_examples=400, deadline=None)
@given(st.one_of(yaml_text, yaml_like))
def test_loader_and_model_never_raise(text: str) -> None:
    loaded, diagnostics = _load(text)
    if loaded is None:
        assert diagnostics and all(d.is_error for d in diagnostics)
        return
    spec, diagnostics = build_model(loaded)
    assert (spec is None) == bool(diagnostics)
    for diagnostic in diagnostics:
        assert diagnostic.location.line >= 1
