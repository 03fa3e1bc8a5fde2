"""The outputs the consumer tests hand to the real tools: every example spec and every valid
test spec, compiled through the serving and CI targets into one folder, as `specops compile`
writes it."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from compiler.api import CompileOptions, compile_specs
from tests.conftest import REPO

SPEC_DIRS = [Path("specs"), Path("tests/data/valid")]


@dataclass(frozen=True)
class Compiled:
    out: Path
    specs: dict[str, dict[str, Any]]  # metadata.name -> the spec as written
    spec_paths: dict[str, str]  # metadata.name -> its path from the repository root

    def files(self, pattern: str) -> list[Path]:
        return sorted(self.out.glob(pattern))


def _specs() -> Iterator[tuple[str, dict[str, Any]]]:
    for folder in SPEC_DIRS:
        for path in sorted((REPO / folder).glob("*.yaml")):
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
            yield str(path.relative_to(REPO)), data


@pytest.fixture(scope="session")
def compiled(tmp_path_factory: pytest.TempPathFactory) -> Compiled:
    out = tmp_path_factory.mktemp("consumers-out")
    old = Path.cwd()
    os.chdir(REPO)
    try:
        result = compile_specs(CompileOptions(SPEC_DIRS, out, targets=["serving", "ci"]))
    finally:
        os.chdir(old)
    assert result.ok, [str(d) for d in result.diagnostics]
    specs, paths = {}, {}
    for path, data in _specs():
        specs[data["metadata"]["name"]] = data
        paths[data["metadata"]["name"]] = path
    return Compiled(out, specs, paths)
