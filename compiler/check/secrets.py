"""No credential is ever written into a spec: reference Secrets by name."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from compiler.check import rule
from compiler.diagnostics import Diagnostic, JsonPath, error
from compiler.loader import LoadedSpec
from compiler.model.spec import MLPipeline

# A value that looks like a credential must never be committed in a spec.
_SECRET_VALUE = re.compile(
    r"AKIA[0-9A-Z]{16}|gh[pousr]_[A-Za-z0-9]{30,}|glpat-[A-Za-z0-9_-]{20}|xox[abprs]-[A-Za-z0-9-]+"
    r"|-----BEGIN [A-Z ]*PRIVATE KEY|eyJ[A-Za-z0-9_-]{10,}\.eyJ|sk-[A-Za-z0-9]{32,}"
)


_SECRET_KEY = re.compile(r"(?i)(password|passwd|secret|token|api_?key|credential)")


@rule
def no_inline_secrets(spec: MLPipeline, loaded: LoadedSpec) -> Iterator[Diagnostic]:
    for path, value in _strings(loaded.data, ()):
        key = str(path[-1]) if path else ""
        looks_secret = _SECRET_VALUE.search(value) is not None
        if looks_secret or (_SECRET_KEY.search(key) and path[:2] == ("model", "params")):
            yield error(
                "SEC001",
                "this looks like a credential written into the spec",
                loaded.locate(path),
                "store it in a Kubernetes Secret and reference it by name under model.secrets",
            )


def _strings(node: Any, path: JsonPath) -> Iterator[tuple[JsonPath, str]]:
    if isinstance(node, str):
        yield path, node
    elif isinstance(node, dict):
        for key, value in node.items():
            yield from _strings(value, (*path, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _strings(value, (*path, index))
