"""Broken YAML a person writes: the line to fix, a plain message and a hint (YAML001)."""

from __future__ import annotations

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from compiler.loader import load
from compiler.sources import SourceFile
from compiler.yaml_errors import explain

from .conftest import REPO

HEAD = "apiVersion: specops/v1\nkind: MLPipeline\n"

# (name, text, line, column, words the message must hold, words the hint must hold)
CASES = [
    (
        "dedented key",
        HEAD + "metadata:\n  name: a\n team: b\n  owners: [x]\n",
        5,
        2,
        "'team' is indented 1 space(s)",
        "indent it by 2 like 'name' (line 4)",
    ),
    (
        "dedented last key",
        HEAD + "metadata:\n  name: a\n owners: [x]\ndata:\n  target: y\n",
        5,
        2,
        "falls between 'metadata' (line 3, 0 spaces) and 'name' (line 4, 2 spaces)",
        "by 0 like 'metadata'",
    ),
    (
        "dedented key after a comment",
        HEAD + "metadata:\n  name: a\n\n  # who\n team: b\n",
        7,
        2,
        "'team' is indented 1",
        "by 2 like 'name'",
    ),
    (
        "dedented key in a list item",
        HEAD + "deploy:\n  environments:\n    - name: prod\n     model_version: v1\n",
        6,
        6,
        "'model_version' is indented 5",
        "indent it by 6 like 'name' (line 5)",
    ),
    (
        "dedented list item",
        HEAD + "data:\n  sources:\n    - name: a\n      uri: b\n   - name: c\n",
        7,
        4,
        "this list item is indented 3",
        "by 4 like the list item (line 5)",
    ),
    (
        "key indented under a value",
        HEAD + "metadata:\n  name: a\n    team: b\n",
        5,
        5,
        "indented deeper than 'name' on line 4",
        "line it up with 'name' (column 3)",
    ),
    (
        "key indented under a list item's value",
        HEAD + "data:\n  sources:\n    - name: a\n        uri: b\n",
        6,
        9,
        "deeper than 'name' on line 5",
        "(column 7)",
    ),
    (
        "key at the list's indentation",
        HEAD + "data:\n  sources:\n    - name: a\n    uri: b\n",
        6,
        5,
        "does not start with '- '",
        "indent it to column 7",
    ),
    (
        "tab indents a line",
        HEAD + "metadata:\n\tname: a\n",
        4,
        1,
        "a tab character",
        "replace the tab with spaces",
    ),
    (
        "tab after spaces",
        HEAD + "metadata:\n  name: a\n  \tteam: b\n",
        5,
        3,
        "a tab character",
        "spaces",
    ),
    (
        "tab in a nested mapping",
        HEAD + "metadata:\n  name: a\n\tteam: b\n",
        5,
        1,
        "a tab character",
        "spaces",
    ),
    (
        "unclosed double quote",
        HEAD + 'metadata:\n  name: "abc\n  team: b\n',
        4,
        9,
        'the string opened with " here is never closed',
        'add the closing "',
    ),
    (
        "unclosed single quote",
        HEAD + "metadata:\n  name: 'abc\n  team: b\n",
        4,
        9,
        "opened with ' here is never closed",
        "on line 4",
    ),
    (
        "quote closed by a later line",
        HEAD + 'metadata:\n  name: "abc\n  team: "b"\n',
        4,
        9,
        "is not closed on this line",
        "end of line 4",
    ),
    (
        "unclosed bracket",
        HEAD + "metadata:\n  owners: [a, b\n  team: b\n",
        4,
        11,
        "the '[' opened here is never closed",
        "add ']' at the end of line 4",
    ),
    (
        "unclosed brace",
        HEAD + "metadata:\n  labels: {a: b\n  team: b\n",
        4,
        11,
        "the '{' opened here is never closed",
        "'}'",
    ),
    (
        "missing comma in a flow mapping",
        HEAD + "metadata:\n  labels: {a: b c: d}\n",
        4,
        18,
        "expected ',' or '}' here",
        "separate the items",
    ),
    (
        "extra closing bracket",
        HEAD + "metadata:\n  owners: [a, b]]\n",
        4,
        17,
        "']' closes a bracket that is not open",
        "remove it",
    ),
    (
        "missing colon",
        HEAD + "model:\n  framework sklearn\n  task: classification\n",
        4,
        3,
        "no ':' after its key",
        "'key: value'",
    ),
    (
        "missing colon on the last line of a block",
        HEAD + "metadata:\n  name: a\n  b\n  team: c\n",
        5,
        3,
        "no ':' after its key",
        "'key: value'",
    ),
    (
        "missing space after colon",
        HEAD + "metadata:\n  name:a\n  team: b\n",
        4,
        8,
        "'name:' needs a space after the colon",
        "write 'name: a'",
    ),
    (
        "colon and space in a value",
        HEAD + "metadata:\n  description: predicts: churn\n",
        4,
        24,
        "a value that holds ': ' must be quoted",
        'description: "predicts: churn"',
    ),
    (
        "text after a closing quote",
        HEAD + 'metadata:\n  name: "a" b\n',
        4,
        13,
        "text follows the closing quote",
        "inside the quotes",
    ),
    (
        "value starting with @",
        HEAD + "metadata:\n  owners: @ml-team\n",
        4,
        11,
        "cannot start with '@'",
        '"@ml-team"',
    ),
    (
        "value starting with a backtick",
        HEAD + "metadata:\n  name: `a`\n",
        4,
        9,
        "cannot start with '`'",
        "double quotes",
    ),
    (
        "unknown escape",
        HEAD + 'data:\n  sources:\n    - uri: "C:\\data"\n',
        5,
        15,
        "'\\d' is not an escape sequence",
        "single quotes",
    ),
    (
        "indented first line",
        "  apiVersion: specops/v1\nkind: MLPipeline\n",
        1,
        1,
        "the first line is indented 2 space(s)",
        "before 'apiVersion'",
    ),
    (
        "stray closing brace at a line's start",
        HEAD + "metadata:\n  name: a\n}  team: b\n",
        5,
        1,
        "'}' closes a bracket that is not open",
        "remove it",
    ),
    (
        "a line starting with a colon",
        HEAD + "metadata:\n  name: a\n  : b\n",
        5,
        3,
        "this line starts with ':'",
        "write the key before the colon",
    ),
    (
        "a flow list glued to its key",
        HEAD + "model:\n  framework: sklearn\n  params:[1, 2]\n",
        5,
        10,
        "'params:' is followed by '[' without a space",
        "put a space after 'params:'",
    ),
    (
        "a stray bracket after a key",
        HEAD + "metadata:\n  name: a\nci:]\nmodel: {}\n",
        5,
        4,
        "'ci:' is followed by ']' without a space",
        "put a space after 'ci:'",
    ),
    (
        "an unclosed brace on a line of its own",
        HEAD + "deploy:\n  environments:\n    - name: a\n      {approval: required\n",
        6,
        7,
        "the '{' opened here is never closed",
        "add '}' at the end of line 6",
    ),
    (
        "a list item on its key's line",
        HEAD + "validation:\n  metrics: - {name: f1, min: 0.5}\n",
        4,
        12,
        "a '- ' list item cannot start on the line of its key 'metrics'",
        "on a line of its own",
    ),
    (
        "duplicate key",
        HEAD + "metadata:\n  name: a\n  name: b\n",
        5,
        3,
        "duplicate key 'name' (first defined at line 4)",
        "remove one",
    ),
]


@pytest.mark.parametrize(
    ("text", "line", "column", "message", "hint"),
    [pytest.param(*case[1:], id=case[0]) for case in CASES],
)
def test_broken_yaml_is_explained_at_the_line_to_fix(
    text: str, line: int, column: int, message: str, hint: str
) -> None:
    loaded, diagnostics = load(SourceFile("specs/a.yaml", text, ""))
    assert loaded is None
    first = diagnostics[0]
    assert (first.location.line, first.location.column) == (line, column), first
    assert message in first.message
    assert first.hint is not None and hint in first.hint
    assert "did not find expected" not in first.message
    assert "in this context" not in first.message


def test_an_unrecognised_error_keeps_libyamls_words_and_place() -> None:
    _, diagnostics = load(SourceFile("a.yaml", "a: b\n--- !\n%YAML 1.1\n", ""))
    assert diagnostics[0].code.startswith("YAML")
    assert diagnostics[0].location.line >= 1


def test_a_valid_file_never_reaches_the_explainer(monkeypatch: pytest.MonkeyPatch) -> None:
    import compiler.yaml_errors

    def broken(*_: object) -> None:
        raise AssertionError("explain ran on a file that parses")

    monkeypatch.setattr(compiler.yaml_errors, "explain", broken)
    loaded, diagnostics = load(SourceFile("a.yaml", HEAD + "metadata:\n  name: a\n", ""))
    assert loaded is not None and diagnostics == []


@pytest.mark.parametrize(
    ("text", "line", "column", "message"),
    [pytest.param(*case[1:5], id=case[0]) for case in CASES if case[0] != "duplicate key"],
)
def test_pure_python_pyyaml_errors_read_the_same(
    text: str, line: int, column: int, message: str
) -> None:
    """Without libyaml the loader falls back to PyYAML's own parser, whose words differ."""
    with pytest.raises(yaml.MarkedYAMLError) as raised:
        list(yaml.parse(text, Loader=yaml.SafeLoader))
    found = explain(text, raised.value)
    assert (found.line, found.column) == (line, column)
    assert message in found.message


SPEC_LINES = (REPO / "specs" / "churn-classifier.yaml").read_text(encoding="utf-8").splitlines()
_EDITS = st.sampled_from([" ", "  ", "\t", '"', "'", "[", "]", "{", "}", ":", "- ", "#", ""])


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, len(SPEC_LINES) - 1), st.integers(0, 12), _EDITS, st.booleans()),
        min_size=1,
        max_size=3,
    )
)
def test_any_edit_of_a_real_spec_is_explained_inside_the_file(
    edits: list[tuple[int, int, str, bool]],
) -> None:
    lines = list(SPEC_LINES)
    for index, column, text, delete in edits:
        line = lines[index]
        cut = column + 1 if delete else column
        lines[index] = line[:column] + text + line[cut:]
    text = "\n".join(lines) + "\n"
    _, diagnostics = load(SourceFile("specs/a.yaml", text, ""))
    for diagnostic in diagnostics:
        assert 1 <= diagnostic.location.line <= len(lines) + 1
        assert diagnostic.location.column >= 1
