"""Plain-language YAML syntax errors: the line the user edited, what is wrong, what to do.

libyaml reports where its scanner gave up, which is often a line after the mistake and always
in parser terms ("did not find expected key", "mapping values are not allowed in this
context"). `explain` runs only once a parse has failed: it reads the lines around libyaml's
marks and names the mistake a person makes (a dedented key, a tab, a missing ': ', a quote or
bracket left open). Anything it does not recognise keeps libyaml's words and position.
"""

from __future__ import annotations

from collections.abc import Callable

import yaml

from compiler.yaml_errors.layout import document_start, expected_dash, expected_key, inline_dash
from compiler.yaml_errors.text import Explained, Lines, mark_of
from compiler.yaml_errors.tokens import (
    bad_escape,
    bad_start,
    expected_colon,
    flow,
    mapping_value,
    node_content,
    open_quote,
    tab,
)

__all__ = ["Explained", "explain"]


def explain(text: str, exc: yaml.MarkedYAMLError) -> Explained:
    """The mistake behind a libyaml error, located on the line to fix."""
    source = Lines(text)
    problem = exc.problem or ""
    for matches, explainer in _EXPLAINERS:
        if matches(problem):
            found = explainer(source, exc)
            if found is not None:
                return found
    line, column = mark_of(exc.problem_mark or exc.context_mark)
    context = f" ({exc.context})" if exc.context else ""
    return Explained(line + 1, column + 1, f"invalid YAML: {problem or 'syntax error'}{context}")


_EXPLAINERS: tuple[
    tuple[Callable[[str], bool], Callable[[Lines, yaml.MarkedYAMLError], Explained | None]], ...
] = (
    (lambda p: "tab" in p, tab),
    (lambda p: "cannot start any token" in p, bad_start),
    (lambda p: "end of stream" in p, open_quote),
    (lambda p: "unknown escape" in p, bad_escape),
    (lambda p: "expected ','" in p, flow),
    (lambda p: p.startswith("mapping values are not allowed"), mapping_value),
    (lambda p: p.startswith(("did not find expected key", "expected <block end>")), expected_key),
    (lambda p: "expected '-' indicator" in p, expected_dash),
    (lambda p: "could not find expected ':'" in p, expected_colon),
    (lambda p: "<document start>" in p, document_start),
    (lambda p: "expected node content" in p, node_content),
    (lambda p: "sequence entries are not allowed" in p, inline_dash),
)
