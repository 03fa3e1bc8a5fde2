"""A target.yaml may only write inside the output folder, and a broken one is a located error.

Each hostile output path (or `when:`, or template name) is put on line 4 of a target.yaml; the
compile must stop with TPL001 at that file and line, exit 1 through the CLI, and write nothing.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from compiler.api import CompileOptions, compile_specs
from compiler.cli import run
from compiler.errors import TemplateError
from compiler.target_paths import SAFE_SEGMENT, pattern_problems
from compiler.targets import load_definition

SPEC = Path("specs/churn-classifier.yaml")
HEAD = "name: evil\ndescription: writes where it should not\noutputs:\n"

ESCAPING_PATHS = [
    "../x",
    "/tmp/x",
    "a/../../x",
    "./x",
    "a//x",
    "x/",
    ".git/hooks/pre-commit",
    "a/.git/config",
    ".GIT/hooks/x",
    ".specops/manifest.json",
    ".specops",
    "{spec}/../../x",
    "..\\\\x",
    "C:\\\\x",
    "~/x",
    "a/\\u0000/x",
    "a/\\nb",
    "a/" + "x" * 300,
]
ODD_PLACEHOLDERS = [
    "{spec.__class__}",
    "{spec[0]}",
    "{spec!r}",
    "{spec:>9999}",
    "{0}",
    "{}",
    "{name}",
    "{env}",  # per spec
    "{spec",
    "spec}",
]
BAD_WHEN = ["spec.monitoring.drift is", "{{ x }}", "(", "spec.a |", "1 +* 2"]
BAD_TEMPLATES = ["../../../etc/passwd", "/etc/passwd", "a/../../b.j2", ".hidden.j2", ""]


def _target(tmp_path: Path, output: str) -> Path:
    folder = tmp_path / "layer" / "evil"
    folder.mkdir(parents=True)
    (folder / "target.yaml").write_text(f"{HEAD}  - {output}\n")
    (folder / "t.j2").write_text("x\n")
    return folder / "target.yaml"


def _refused(tmp_path: Path, output: str, expected: str) -> None:
    target_yaml = _target(tmp_path, output)
    with pytest.raises(TemplateError, match=expected) as raised:
        load_definition(target_yaml)
    assert raised.value.line == 4
    result = compile_specs(
        CompileOptions([SPEC], tmp_path / "out", ["evil"], [target_yaml.parent.parent])
    )
    assert [(d.code, d.location.file, d.location.line) for d in result.diagnostics] == [
        ("TPL001", str(target_yaml), 4)
    ]
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("path", ESCAPING_PATHS)
def test_an_output_path_that_escapes_is_refused_at_its_line(tmp_path: Path, path: str) -> None:
    output = f'{{template: t.j2, path: "{path}"}}'
    _refused(tmp_path, output, "must be a relative POSIX path inside the output folder")


@pytest.mark.parametrize("path", ESCAPING_PATHS)
def test_a_post_path_that_escapes_is_refused(tmp_path: Path, path: str) -> None:
    output = f'{{template: t.j2, path: "ok/{{spec}}", post: {{step: kfp-compile, path: "{path}"}}}}'
    _refused(tmp_path, output, "must be a relative POSIX path")


@pytest.mark.parametrize("pattern", ODD_PLACEHOLDERS)
def test_only_the_known_bare_placeholders_are_allowed(tmp_path: Path, pattern: str) -> None:
    output = f'{{template: t.j2, path: "out/{pattern}.txt"}}'
    _refused(tmp_path, output, "placeholder|not a valid pattern")


@pytest.mark.parametrize("when", BAD_WHEN)
def test_a_when_with_a_syntax_error_is_refused_at_its_line(tmp_path: Path, when: str) -> None:
    output = f"{{template: t.j2, path: 'out/{{spec}}', when: {when!r}}}"
    _refused(tmp_path, output, "does not parse")


@pytest.mark.parametrize("template", BAD_TEMPLATES)
def test_a_template_name_that_leaves_the_target_is_refused(tmp_path: Path, template: str) -> None:
    _refused(tmp_path, f"{{template: {template!r}, path: 'out/{{spec}}'}}", "relative path inside")


def test_a_when_that_fails_at_render_time_is_a_diagnostic_not_a_crash(tmp_path: Path) -> None:
    target_yaml = _target(tmp_path, "{template: t.j2, path: 'out/{spec}', when: 'spec.nope.x'}")
    result = compile_specs(
        CompileOptions([SPEC], tmp_path / "out", ["evil"], [target_yaml.parent.parent])
    )
    assert [(d.code, d.location.file) for d in result.diagnostics] == [
        ("RND001", "evil/target.yaml")
    ]
    assert not (tmp_path / "out").exists()


def test_the_cli_exits_1_with_the_target_yaml_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target_yaml = _target(tmp_path, "{template: t.j2, path: ../../x}")
    layer = target_yaml.parent.parent
    code = run(["compile", str(SPEC), "--out", str(tmp_path / "o"), "--templates", str(layer)])
    captured = capsys.readouterr()
    assert code == 1
    assert f"{target_yaml}:4:1" in captured.out + captured.err


def test_the_builtin_targets_still_load() -> None:
    for target_yaml in sorted(Path("templates").glob("*/target.yaml")):
        assert load_definition(target_yaml).outputs


@settings(max_examples=300, deadline=None)
@given(st.text(st.characters(codec="utf-8"), max_size=40))
def test_any_accepted_pattern_expands_to_safe_segments(pattern: str) -> None:
    """Whatever text a target.yaml holds, an accepted path stays inside the output folder."""
    if list(pattern_problems(("path",), pattern, "spec")):
        return
    for value in ["a", "x" * 63, "team-1"]:
        expanded = pattern.format_map({"spec": value, "team": value, "env": value})
        parts = expanded.split("/")
        assert all(SAFE_SEGMENT.fullmatch(p) for p in parts)
        assert parts[0] not in {".specops", ".git", ".."}
