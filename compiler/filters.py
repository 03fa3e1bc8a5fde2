"""Jinja filters that make a value safe for the place it lands.

Every `{{ }}` in a template must end in one of these (the renderer's `finalize` refuses anything
that is not `Safe`), so a spec value can never change the structure of the file around it.
"""

from __future__ import annotations

import json
import keyword
import re
import shlex
from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import BaseModel


class Safe(str):
    """Text already escaped for its destination."""

    __slots__ = ()


class UnsafeValueError(ValueError):
    """A value cannot be made safe for the requested destination."""


def _plain(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json", by_alias=True, exclude_none=True)
    return value


# YAML double-quoted scalars may hold any printable character; everything else is escaped.
_YAML_ESCAPE = re.compile(r'[\\"\x00-\x1f\x7f-\x9f\u2028\u2029\ufeff\ud800-\udfff\ufffe\uffff]')
_YAML_NAMED = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\t": "\\t", "\r": "\\r", "\x00": "\\0"}


def _yaml_char(match: re.Match[str]) -> str:
    char = match.group(0)
    return _YAML_NAMED.get(char) or f"\\u{ord(char):04x}"


def yaml_string(text: str) -> str:
    return '"' + _YAML_ESCAPE.sub(_yaml_char, text) + '"'


def _yaml(value: Any) -> str:
    value = _plain(value)
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return _number(value)
    if isinstance(value, str):
        return yaml_string(value)
    if isinstance(value, Mapping):
        items = ", ".join(f"{yaml_string(str(k))}: {_yaml(v)}" for k, v in value.items())
        return "{" + items + "}"
    if isinstance(value, Sequence):
        return "[" + ", ".join(_yaml(v) for v in value) + "]"
    raise UnsafeValueError(f"cannot write a {type(value).__name__} as YAML")


def _number(value: int | float) -> str:
    if (isinstance(value, float) and value != value) or value in (float("inf"), float("-inf")):
        raise UnsafeValueError("NaN and infinity have no portable representation")
    return repr(value)


def to_yaml(value: Any) -> Safe:
    """A YAML flow value (double-quoted strings): safe as a scalar anywhere in block YAML."""
    return Safe(_yaml(value))


def _json_ready(value: Any) -> Any:
    value = _plain(value)
    if isinstance(value, Mapping):
        return {str(k): _json_ready(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_ready(v) for v in value]
    return value


def to_json(value: Any, indent: int | None = None) -> Safe:
    """A JSON value (ASCII, so also a valid YAML flow value)."""
    return Safe(json.dumps(_json_ready(value), ensure_ascii=True, allow_nan=False, indent=indent))


def _py(value: Any) -> str:
    value = _plain(value)
    if value is None or isinstance(value, bool | str):
        return repr(value)
    if isinstance(value, int | float):
        return _number(value)
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{_py(str(k))}: {_py(v)}" for k, v in value.items()) + "}"
    if isinstance(value, Sequence):
        return "[" + ", ".join(_py(v) for v in value) + "]"
    raise UnsafeValueError(f"cannot write a {type(value).__name__} as a Python literal")


def to_python(value: Any) -> Safe:
    """A Python literal: a constant expression that cannot run code."""
    return Safe(_py(value))


def to_shell_word(value: Any) -> Safe:
    """One shell word, quoted so the shell does not expand or split it."""
    if not isinstance(value, str | int) or isinstance(value, bool):
        raise UnsafeValueError("only strings and whole numbers become shell words")
    return Safe(shlex.quote(str(value)))


# What CommonMark, GFM and GitLab give a meaning inside a line: links and images (`[ ] ( ) !`),
# autolinks and HTML (`< > &`), emphasis and code (`* _ ~ ``), tables (`|`), references and
# mentions (`# @ % ^ $`), and what bare-URL and e-mail autolinkers look for (`:`, `@`, a `.` before
# a letter or digit), so `https\://x\.io` stays text. A backslash before ASCII punctuation is
# always a literal, so the rendered text is exactly the value.
_MARKDOWN_INLINE = re.compile(r"([\\`*_{}\[\]()<>|&~!$:@#%^\"']|\.(?=[A-Za-z0-9]))")
# At the start of a line `- + =` open a list, a setext heading or a thematic break; `1.`/`1)` an
# ordered list (the `.` before a space is not escaped above).
_MARKDOWN_BLOCK_MARK = re.compile(r"^(\s*)([+=-])")
_MARKDOWN_ORDERED = re.compile(r"^(\s*[0-9]+)([.)])")
_MARKDOWN_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def to_markdown(value: Any) -> Safe:
    """Inline Markdown text: no link, autolink, image, HTML, code span, table cell, emphasis or
    block marker (heading, list, quote) can form; it renders as exactly the value's text."""
    text = _MARKDOWN_CONTROL.sub(" ", str(_plain(value)))
    text = _MARKDOWN_INLINE.sub(r"\\\1", text)
    text = _MARKDOWN_BLOCK_MARK.sub(r"\1\\\2", text)
    text = _MARKDOWN_ORDERED.sub(r"\1\\\2", text)
    # Four spaces first would open an indented code block; an entity is not indentation.
    return Safe(text[:1].replace(" ", "&#32;") + text[1:])


_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")


def to_name(value: Any) -> Safe:
    """A value already validated as a DNS-1123 label, written as is (checked again here)."""
    if not isinstance(value, str) or not _DNS_LABEL.fullmatch(value):
        raise UnsafeValueError(f"{value!r} is not a DNS-1123 label")
    return Safe(value)


def to_identifier(value: Any) -> Safe:
    """A DNS label or identifier as a Python identifier (`churn-model` -> `churn_model`)."""
    text = str(value).replace("-", "_")
    if not text.isidentifier() or not text.isascii() or keyword.iskeyword(text):
        raise UnsafeValueError(f"{value!r} cannot become a Python identifier")
    return Safe(text)


def to_comment(value: Any) -> Safe:
    """Text for inside a `#` comment: one line, printable."""
    text = re.sub(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]", " ", str(value))
    return Safe(text)


# Characters each engine's path filter gives a meaning; a backslash makes any of them literal.
# GitHub: on.<event>.paths filter patterns. GitLab: rules:changes, Ruby File.fnmatch with
# FNM_PATHNAME | FNM_DOTMATCH | FNM_EXTGLOB (braces expand).
_GITHUB_GLOB = re.compile(r"([\\*?+\[\]!{}])")
_GITLAB_GLOB = re.compile(r"([\\*?\[\]{}!])")


def to_github_path_filter(value: Any) -> str:
    """A path as a GitHub Actions path filter that matches only that path. Not `Safe`: still
    write it through `yaml`."""
    return _GITHUB_GLOB.sub(r"\\\1", str(value))


def to_gitlab_path_filter(value: Any) -> str:
    """A path as a GitLab `rules:changes` pattern that matches only that path (then `yaml`)."""
    return _GITLAB_GLOB.sub(r"\\\1", str(value))


def _k8s(value: Any) -> Any:
    if isinstance(value, str):
        return value.replace("$", "$$")
    if isinstance(value, list | tuple):
        return [_k8s(v) for v in value]
    if value is None or isinstance(value, int | float):
        return value
    raise UnsafeValueError(f"cannot write a {type(value).__name__} as a Kubernetes literal")


def to_k8s_literal(value: Any) -> Any:
    """A string (or list of them) for a container's command, args or env value: Kubernetes
    expands `$(VAR)` there and turns `$$` into `$`, so every `$` is doubled. Not `Safe`: still
    write it through `yaml` or `py`."""
    return _k8s(_plain(value))


def to_go_template_literal(value: Any) -> str:
    """Text for a Prometheus annotation or label, which Prometheus runs through Go text/template:
    only `{{` opens an action, so each one is written as the action `{{ "{{" }}` that prints it
    (then `yaml`)."""
    return '{{ "{{" }}'.join(str(value).split("{{"))


# GitHub Actions expressions a template may emit: trusted contexts only (no github.event.*,
# head_ref or inputs), so `${{ }}` never carries text an attacker chose.
GITHUB_EXPRESSION = re.compile(
    r"^(?:github\.(?:sha|ref|workflow|run_id|run_number|run_attempt|repository|server_url)"
    r"|(?:secrets|vars)\.[A-Za-z_][A-Za-z0-9_]{0,99}"
    r"|(?:steps|needs)\.[A-Za-z_][A-Za-z0-9_-]{0,99}\.outputs\.[A-Za-z_][A-Za-z0-9_-]{0,99})$"
)


def to_github_expression(value: Any) -> Safe:
    """`"github.sha" | gh` -> `${{ github.sha }}`: Jinja never parses `${{`, and only
    allow-listed contexts become GitHub expressions."""
    if not isinstance(value, str) or not GITHUB_EXPRESSION.fullmatch(value):
        raise UnsafeValueError(f"{value!r} is not an allowed GitHub Actions expression")
    return Safe("${{ " + value + " }}")


FILTERS = {
    "gh": to_github_expression,
    "yaml": to_yaml,
    "json": to_json,
    "py": to_python,
    "sh": to_shell_word,
    "md": to_markdown,
    "name": to_name,
    "ident": to_identifier,
    "comment": to_comment,
    "gh_path": to_github_path_filter,
    "gl_path": to_gitlab_path_filter,
    "k8s": to_k8s_literal,
    "prom": to_go_template_literal,
}
