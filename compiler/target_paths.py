"""What a target.yaml output may say: a confined path pattern, a template name, a `when:`.

Checked when target.yaml is loaded, so a broken layer fails with its file and line before any
spec is rendered, and `render.output_path` only ever sees patterns that cannot leave the
output folder, write into `.git/` or overwrite the ownership manifest.
"""

from __future__ import annotations

import re
import string
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

import jinja2
import yaml
from jinja2.sandbox import ImmutableSandboxedEnvironment

if TYPE_CHECKING:
    from compiler.targets import OutputDef

PLACEHOLDERS = frozenset({"spec", "env", "team"})
# Hidden directories are refused except where CI providers require them (.github/workflows);
# that keeps out `.git/hooks`, `.specops/manifest.json`, `..` and every dotfile.
SAFE_SEGMENT = re.compile(r"^(?:[A-Za-z0-9_][A-Za-z0-9_.-]{0,254}|\.github|\.gitlab)$")
MAX_PATH = 1024  # the longest placeholders are 63 characters; no real pattern comes close
_SYNTAX = ImmutableSandboxedEnvironment()

Problem = tuple[tuple[str, ...], str]  # (keys below the output, message)


def output_problems(output: OutputDef) -> Iterator[Problem]:
    """Every problem of one output definition, with where it is below `outputs[i]`."""
    yield from _template_problems(output.template)
    yield from pattern_problems(("path",), output.path, output.per)
    if output.post is not None:
        yield from pattern_problems(("post", "path"), output.post.path, output.per)
    if output.when is not None:
        try:
            _SYNTAX.compile_expression(output.when)
        except jinja2.TemplateSyntaxError as exc:
            yield ("when",), f"when: {output.when!r} does not parse: {exc.message}"


def _template_problems(name: str) -> Iterator[Problem]:
    if not all(SAFE_SEGMENT.fullmatch(part) for part in name.split("/")):
        yield (
            ("template",),
            (
                f"template {name!r} must be a relative path inside its target folder "
                "(no '..', no leading '/', no hidden or empty segments)"
            ),
        )


def pattern_problems(where: tuple[str, ...], pattern: str, per: str) -> Iterator[Problem]:
    try:
        fields = [
            (name, conversion, spec)
            for _, name, spec, conversion in string.Formatter().parse(pattern)
            if name is not None
        ]
    except ValueError as exc:
        yield where, f"output path {pattern!r} is not a valid pattern: {exc}"
        return
    odd = [f"{{{n}}}" for n, conversion, spec in fields if conversion or spec]
    names = {n for n, _, _ in fields}
    unknown = names - PLACEHOLDERS
    if odd:
        yield where, f"output path {pattern!r}: placeholders take no conversion or format: {odd}"
    elif unknown or (per == "spec" and "env" in names):
        shown = sorted(unknown or {"env"})
        yield where, f"output path {pattern!r} uses unknown placeholder(s) {shown}"
    elif per == "environment" and "env" not in names:
        yield where, f"per-environment output path {pattern!r} must use {{env}}"
    else:
        yield from _shape_problems(where, pattern)


def _shape_problems(where: tuple[str, ...], pattern: str) -> Iterator[Problem]:
    # Placeholders are DNS labels; any one stands for all of them here.
    sample = pattern.format_map({name: "x" for name in PLACEHOLDERS})
    parts = sample.split("/")
    if len(sample) > MAX_PATH or not all(SAFE_SEGMENT.fullmatch(p) for p in parts):
        yield (
            where,
            (
                f"output path {pattern!r} must be a relative POSIX path inside the output folder: "
                "no '..', no leading '/', no '\\', no hidden or empty segments "
                "(only .github and .gitlab), at most 255 characters a segment"
            ),
        )


def line_of(node: yaml.Node | None, keys: Sequence[object]) -> int:
    """The 1-based line of the deepest node `keys` reach in a composed YAML tree (0: none)."""
    line = 0
    for key in keys:
        if node is None:
            break
        line = node.start_mark.line + 1
        node = _child(node, key)
    if node is not None:
        line = node.start_mark.line + 1
    return line


def _child(node: yaml.Node, key: object) -> yaml.Node | None:
    if isinstance(node, yaml.SequenceNode) and isinstance(key, int) and key < len(node.value):
        child: yaml.Node = node.value[key]
        return child
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            if key_node.value == key:
                return value_node if isinstance(value_node, yaml.Node) else None
    return None
