"""The strict loader: positions, YAML 1.2 core resolution, and never an exception for any input."""

from __future__ import annotations

import string

import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from compiler.loader import _compose, load, resolve_plain
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


scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.sampled_from(["on", "0755", "1e3", "<<", "~", ""])
) | st.text(alphabet=string.ascii_letters + string.digits + " :-#&*!", max_size=8)
documents = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=4), inner, max_size=4)
    ),
    max_leaves=30,
).map(lambda data: yaml.safe_dump({"root": data}, default_flow_style=None))


@settings(max_examples=400, deadline=None)
@given(st.one_of(yaml_text, yaml_like, documents))
def test_the_data_pass_agrees_with_the_tracking_pass(text: str) -> None:
    """`load` reads an ordinary spec without positions and leaves anything else to the pass
    that records them: both must give the same data and diagnostics, and the positions a
    diagnostic asks for later must be the tracking pass's."""
    source = SourceFile("t.yaml", text, "0" * 64)
    loaded, diagnostics = load(source)
    tracked, tracked_diagnostics = _compose(source)
    assert diagnostics == tracked_diagnostics
    assert (loaded is None) == (tracked is None)
    if loaded is not None and tracked is not None:
        assert loaded.data == tracked.data
        assert loaded.positions == tracked.positions


def test_a_valid_spec_records_positions_only_when_asked() -> None:
    loaded, _ = _load("a:\n  b: [x, {c: 1}]\n")
    assert loaded is not None
    assert loaded._positions is None  # the data pass recorded none
    assert loaded.locate(("a", "b", 1, "c")).column == 14
    assert loaded.plain_text == {("a", "b", 1, "c"): "1"}
