"""Golden files: the compiled output of the example specs, byte for byte, in tests/golden/.

Regenerate after a deliberate change and review the diff:
    specops compile specs/ --out tests/golden
"""

from __future__ import annotations

from pathlib import Path

from compiler.api import CompileOptions, compile_specs
from tests.conftest import REPO

GOLDEN = REPO / "tests" / "golden"


def _tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def test_examples_compile_to_the_golden_files(tmp_path: Path) -> None:
    result = compile_specs(CompileOptions([Path("specs")], tmp_path / "out"))
    assert result.ok, [f"{d.location}: {d.message}" for d in result.diagnostics]
    fresh, golden = _tree(tmp_path / "out"), _tree(GOLDEN)
    assert sorted(fresh) == sorted(golden), "regenerate: specops compile specs/ --out tests/golden"
    changed = [path for path in fresh if fresh[path] != golden[path]]
    assert changed == [], "regenerate: specops compile specs/ --out tests/golden"


def test_golden_directory_is_current_by_compile_check() -> None:
    result = compile_specs(CompileOptions([Path("specs")], GOLDEN, mode="check"))
    assert result.stale == []
