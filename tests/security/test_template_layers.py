"""A template layer may not reach outside its directory through a symlink.

Each attack builds a layer with one target, `evil`, whose files (or folders) are symlinks to a
secret outside the layer. Every one must stop the compile with a located TPL diagnostic, write
nothing and never copy the secret into output. Links that stay inside the layer are allowed.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import jinja2
import pytest

from compiler.api import CompileOptions, CompileResult, compile_specs
from compiler.cli import run
from compiler.errors import TemplateError
from compiler.layers import ConfinedLoader
from compiler.targets import discover_targets

SPEC = Path("specs/churn-classifier.yaml")
SECRET = "TOP-SECRET-CONTENT"
TARGET_YAML = (
    "name: evil\ndescription: reads what it should not\noutputs:\n"
    "  - {template: t.j2, path: 'evil/{spec}.txt', header: none}\n"
)
SUB_TARGET_YAML = TARGET_YAML.replace("template: t.j2", "template: sub/t.j2")
PLAIN = "name: {{ spec.metadata.name | yaml }}\n"
INCLUDES = "{% include 'evil/_x.j2' %}\n"

Layout = Callable[[Path, Path], None]  # (layer's target folder, outside folder)


def _outside(outside: Path) -> None:
    outside.mkdir(parents=True, exist_ok=True)
    (outside / "secret.j2").write_text(f"{SECRET}\n")
    (outside / "target.yaml").write_text(TARGET_YAML)
    (outside / "t.j2").write_text(f"{SECRET}\n")


def _template_link(target: Path, outside: Path) -> None:
    (target / "target.yaml").write_text(TARGET_YAML)
    (target / "t.j2").symlink_to(outside / "secret.j2")


def _target_yaml_link(target: Path, outside: Path) -> None:
    (target / "target.yaml").symlink_to(outside / "target.yaml")
    (target / "t.j2").write_text(PLAIN)


def _include_link(target: Path, outside: Path) -> None:
    (target / "target.yaml").write_text(TARGET_YAML)
    (target / "t.j2").write_text(INCLUDES)
    (target / "_x.j2").symlink_to(outside / "secret.j2")


def _subdirectory_link(target: Path, outside: Path) -> None:
    (target / "target.yaml").write_text(SUB_TARGET_YAML)
    (target / "sub").symlink_to(outside, target_is_directory=True)


def _relative_link(target: Path, outside: Path) -> None:
    (target / "target.yaml").write_text(TARGET_YAML)
    depth = os.path.relpath(outside / "secret.j2", target)
    (target / "t.j2").symlink_to(depth)


def _link_to_system_file(target: Path, outside: Path) -> None:
    (target / "target.yaml").write_text(TARGET_YAML)
    (target / "t.j2").symlink_to("/etc/passwd")


ATTACKS: dict[str, Layout] = {
    "template": _template_link,
    "target.yaml": _target_yaml_link,
    "included _x.j2": _include_link,
    "subdirectory": _subdirectory_link,
    "relative ../ link": _relative_link,
    "system file": _link_to_system_file,
}


def _layer(tmp_path: Path, layout: Layout) -> Path:
    layer, outside = tmp_path / "layer", tmp_path / "outside"
    _outside(outside)
    (layer / "evil").mkdir(parents=True)
    layout(layer / "evil", outside)
    return layer


def _compile(tmp_path: Path, layer: Path) -> CompileResult:
    return compile_specs(CompileOptions([SPEC], tmp_path / "out", ["evil"], [layer]))


@pytest.mark.parametrize("layout", ATTACKS.values(), ids=ATTACKS.keys())
def test_a_symlink_out_of_the_layer_is_a_located_tpl_error(tmp_path: Path, layout: Layout) -> None:
    layer = _layer(tmp_path, layout)
    result = _compile(tmp_path, layer)
    assert [d.code for d in result.diagnostics] == ["TPL001"]
    diagnostic = result.diagnostics[0]
    assert "symlink leaves its template directory" in diagnostic.message
    assert diagnostic.location.file.startswith(str(layer / "evil"))
    assert not (tmp_path / "out").exists()
    assert all(SECRET not in f.content for f in result.files)


def test_the_cli_exits_1_and_names_the_link(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    layer = _layer(tmp_path, _template_link)
    args = ["compile", str(SPEC), "--out", str(tmp_path / "out"), "--templates", str(layer)]
    code = run([*args, "--target", "evil"])
    captured = capsys.readouterr()
    assert code == 1
    assert f"{layer / 'evil' / 't.j2'}:" in captured.out + captured.err
    assert "TPL001" in captured.out + captured.err


def _clean(target: Path, _: Path) -> None:
    (target / "target.yaml").write_text(TARGET_YAML)


def test_a_link_made_after_discovery_is_refused_when_the_template_loads(tmp_path: Path) -> None:
    layer = _layer(tmp_path, _clean)
    discover_targets([layer])  # clean at this point
    (layer / "evil" / "t.j2").symlink_to(tmp_path / "outside" / "secret.j2")
    loader = ConfinedLoader([str(layer)])
    with pytest.raises(TemplateError, match="symlink leaves its template directory"):
        loader.get_source(jinja2.Environment(), "evil/t.j2")


def test_a_link_into_another_layer_is_refused(tmp_path: Path) -> None:
    """Each layer is confined to itself, not to the union of all layers."""
    first, second = tmp_path / "first", tmp_path / "second"
    (first / "evil").mkdir(parents=True)
    (second / "evil").mkdir(parents=True)
    (second / "evil" / "t.j2").write_text(f"{SECRET}\n")
    (first / "evil" / "t.j2").symlink_to(second / "evil" / "t.j2")
    loader = ConfinedLoader([str(first), str(second)])
    with pytest.raises(TemplateError):
        loader.get_source(jinja2.Environment(), "evil/t.j2")


def _inside_file_link(target: Path, _: Path) -> None:
    shared = target.parent / "shared"
    shared.mkdir()
    (shared / "t.j2").write_text(PLAIN)
    (target / "target.yaml").write_text(TARGET_YAML)
    (target / "t.j2").symlink_to(Path("..") / "shared" / "t.j2")


def _inside_folder_link(target: Path, _: Path) -> None:
    (target / "real").mkdir()
    (target / "real" / "t.j2").write_text(PLAIN)
    (target / "target.yaml").write_text(SUB_TARGET_YAML)
    (target / "sub").symlink_to("real", target_is_directory=True)


INSIDE: dict[str, Layout] = {"file": _inside_file_link, "folder": _inside_folder_link}


@pytest.mark.parametrize("layout", INSIDE.values(), ids=INSIDE.keys())
def test_a_symlink_that_stays_inside_the_layer_is_allowed(tmp_path: Path, layout: Layout) -> None:
    result = _compile(tmp_path, _layer(tmp_path, layout))
    assert result.ok, result.diagnostics
    written = (tmp_path / "out" / "evil" / "churn-classifier.txt").read_text()
    assert written.startswith("name: ") and "churn-classifier" in written
