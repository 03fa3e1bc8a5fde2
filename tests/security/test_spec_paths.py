"""Attack: a spec's file name (or folder) carries syntax for a workflow engine: `${{ }}`, shell,
glob or Markdown. It must be refused (SPEC004, at the file) before anything is compiled, and path
filters must match only the literal path even if the allowed pattern is widened later."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from compiler.api import CompileOptions, compile_specs, validate
from compiler.cli import run
from compiler.filters import to_github_path_filter, to_gitlab_path_filter
from compiler.sources import check_spec_path
from tests.conftest import REPO

HOSTILE_NAMES = [
    "${{ secrets.GITOPS_TOKEN }}.yaml",
    "$(curl evil.sh).yaml",
    "`id`.yaml",
    "a b.yaml",
    "a'b.yaml",
    'a"b.yaml',
    "*.yaml",
    "x?.yaml",
    "[ab].yaml",
    "!x.yaml",
    "{a,b}.yaml",
    "x+.yaml",
    "a%0A.yaml",
    "a:b.yaml",
    "a,b.yaml",
    "[x](https:evil).yaml",
    "<img>.yaml",
    "é.yaml",
    "a\u202eb.yaml",
    "a\x1b[31m.yaml",
    "spec.yaml.txt",
    "spec",
]
HOSTILE_DIRS = ["${{ github.token }}", "a b", "*", "a:b"]


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_a_hostile_file_name_is_refused_at_the_file(name: str) -> None:
    problem = check_spec_path(f"specs/{name}")
    assert problem is not None
    assert (problem.code, problem.location.file, problem.location.line) == (
        "SPEC004",
        f"specs/{name}",
        0,
    )


@pytest.mark.parametrize("path", ["specs/churn-classifier.yaml", "a/b_c/v1.2.yml", "/tmp/x.yaml"])
def test_plain_paths_pass(path: str) -> None:
    assert check_spec_path(path) is None


@pytest.mark.parametrize("path", ["specs/./x.yaml", "specs/../x.yaml", "specs//x.yaml", ""])
def test_dot_segments_and_empty_segments_are_refused(path: str) -> None:
    assert check_spec_path(path) is not None


@pytest.mark.parametrize("folder", HOSTILE_DIRS)
def test_a_hostile_folder_stops_the_compile_and_writes_nothing(folder: str, tmp_path: Path) -> None:
    spec = tmp_path / folder / "churn-classifier.yaml"
    spec.parent.mkdir()
    shutil.copy(REPO / "specs" / "churn-classifier.yaml", spec)
    out = tmp_path / "out"
    result = compile_specs(CompileOptions([spec], out, targets=["ci", "serving"]))
    assert [(d.code, d.location.file) for d in result.diagnostics if d.is_error] == [
        ("SPEC004", spec.as_posix())
    ]
    assert result.files == [] and not out.exists()


def test_validate_reports_the_file_name_attack(tmp_path: Path) -> None:
    spec = tmp_path / "${{ secrets.GITOPS_TOKEN }}.yaml"
    shutil.copy(REPO / "specs" / "churn-classifier.yaml", spec)
    result = validate([tmp_path])
    assert [d.code for d in result.diagnostics] == ["SPEC004"]
    assert result.specs[0].loaded is None  # the file was never parsed


# --- path filters: a reference matcher of each engine, from its documentation -----------------


def _github_regex(pattern: str) -> str:
    """GitHub filter patterns: `*` (not `/`), `**`, `?`, `+` (one or more of the previous),
    `[...]`, a leading `!` negates, `\\` escapes the next character."""
    out, i = "", 0
    while i < len(pattern):
        char = pattern[i]
        if char == "\\" and i + 1 < len(pattern):
            out, i = out + re.escape(pattern[i + 1]), i + 2
            continue
        if pattern.startswith("**", i):
            out, i = out + ".*", i + 2
            continue
        special = {"*": "[^/]*", "?": "[^/]", "+": "+", "!": "(?!)" if i == 0 else "!"}
        if char == "[":
            end = pattern.find("]", i + 1)
            if end > i:
                out, i = out + "[" + re.escape(pattern[i + 1 : end]) + "]", end + 1
                continue
        out, i = out + special.get(char, re.escape(char)), i + 1
    return out


def _gitlab_regex(pattern: str) -> str:
    """Ruby File.fnmatch (FNM_PATHNAME | FNM_DOTMATCH | FNM_EXTGLOB): `*`, `**/`, `?`, `[...]`,
    `{a,b}`, `\\` escapes the next character."""
    out, i = "", 0
    while i < len(pattern):
        char = pattern[i]
        if char == "\\" and i + 1 < len(pattern):
            out, i = out + re.escape(pattern[i + 1]), i + 2
            continue
        if char == "{":
            end = pattern.find("}", i)
            if end > i:
                options = pattern[i + 1 : end].split(",")
                out += "(?:" + "|".join(re.escape(o) for o in options) + ")"
                i = end + 1
                continue
        special = {"*": "[^/]*", "?": "[^/]"}
        if char == "[":
            end = pattern.find("]", i + 1)
            if end > i:
                out, i = out + "[" + re.escape(pattern[i + 1 : end]) + "]", end + 1
                continue
        out, i = out + special.get(char, re.escape(char)), i + 1
    return out


PATH_CHARS = st.text(alphabet=st.sampled_from("ab/.-_*?+[]!{},\\ "), min_size=1, max_size=12)


def _only_matches_itself(regex: str, path: str, others: list[str]) -> None:
    assert re.fullmatch(regex, path, re.DOTALL), (regex, path)
    for other in others:
        if other != path:
            assert not re.fullmatch(regex, other, re.DOTALL), (regex, path, other)


@given(PATH_CHARS, st.lists(PATH_CHARS, max_size=5))
def test_a_github_path_filter_matches_only_its_path(path: str, others: list[str]) -> None:
    _only_matches_itself(_github_regex(to_github_path_filter(path)), path, others)


@given(PATH_CHARS, st.lists(PATH_CHARS, max_size=5))
def test_a_gitlab_path_filter_matches_only_its_path(path: str, others: list[str]) -> None:
    _only_matches_itself(_gitlab_regex(to_gitlab_path_filter(path)), path, others)


UNESCAPED = [  # a path, and another path its unescaped pattern would also match
    ("specs/*.yaml", "specs/other.yaml"),
    ("a[bc].yml", "ab.yml"),
    ("x?", "xy"),
    ("x{a,b}", "xa"),
]


@pytest.mark.parametrize(("path", "other"), UNESCAPED)
def test_the_reference_matchers_read_glob_syntax(path: str, other: str) -> None:
    # Without the filter each would match another file too: the matchers are not trivially true.
    assert re.fullmatch(_gitlab_regex(path), other)
    assert not re.fullmatch(_gitlab_regex(to_gitlab_path_filter(path)), other)
    if "{" not in path:
        assert re.fullmatch(_github_regex(path), other)
        assert not re.fullmatch(_github_regex(to_github_path_filter(path)), other)


@pytest.mark.parametrize("report", ["text", "github"])
def test_the_cli_exits_1_and_reports_the_name_escaped(
    report: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = tmp_path / "${{ secrets.GITOPS_TOKEN }}\x1b[2J.yaml"
    shutil.copy(REPO / "specs" / "churn-classifier.yaml", spec)
    assert run(["validate", "--format", report, str(spec)]) == 1
    out = capsys.readouterr().out
    assert "SPEC004" in out and "\x1b" not in out and "\\u001b[2J" in out
