"""Attack: spec text that Markdown would turn into a link, autolink, image or raw HTML in a model
card, a GitHub pull-request body or a GitLab merge-request description. Rendered by a real
CommonMark parser (with GFM tables, strikethrough and bare-URL linkify), the text must stay text:
no `<a`, no `<img`, no HTML from the value, and exactly the value's characters."""

from __future__ import annotations

import html
import re
from typing import Any

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st
from markdown_it import MarkdownIt

from compiler.filters import to_markdown
from tests.security._render import example, render

HOSTILE = [
    "[click](https://evil.example/steal)",
    "![pixel](https://evil.example/p.png)",
    "<https://evil.example>",
    "<img src=x onerror=alert(1)>",
    "<script>alert(1)</script>",
    "<b>bold</b> &amp; &#60;",
    "https://evil.example/a?b",
    "www.evil.example",
    "evil.io",
    "mail me: ops@evil.example",
    "[ref]: https://evil.example",
    "[ref] [ref][x] [x]",
    "`code` **strong** _em_ ~~gone~~",
    "| a | b |",
    "# heading",
    "- item",
    "1. first",
    "> quote",
    "---",
    "    indented code",
    "\\[escaped\\](x)",
    "@team #12 !34 %m ~label :smile: $x$",
]


def _parser() -> MarkdownIt:
    parser = MarkdownIt("commonmark", {"linkify": True}).enable(
        ["linkify", "table", "strikethrough"]
    )
    return parser


def _text(rendered: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", rendered))


def _assert_inert(markdown: str, value: str) -> None:
    rendered = _parser().render(markdown)
    assert "<a" not in rendered and "<img" not in rendered, rendered
    tags = set(re.findall(r"</?([a-zA-Z0-9]+)", rendered))
    assert tags <= {"p", "h1", "h2", "h3", "table", "thead", "tbody", "tr", "th", "td", "ul", "li"}
    assert value.strip() in _text(rendered), rendered


@pytest.mark.parametrize("value", HOSTILE)
def test_a_hostile_value_renders_as_plain_text(value: str) -> None:
    _assert_inert(to_markdown(value), value)


def test_the_parser_sees_the_attacks() -> None:
    # Unescaped, the same values do produce links, images and HTML: the checks can fail.
    rendered = _parser().render("\n\n".join(HOSTILE))
    assert "<a" in rendered and "<img" in rendered and "<script>" in rendered


@given(st.text(alphabet=st.sampled_from("[]()<>!*_`~|#-+=.:@/ wh1&;\\\"'"), max_size=30))
def test_any_text_renders_as_itself(value: str) -> None:
    _assert_inert(to_markdown(value), value)


def _described(name: str, description: str) -> dict[str, Any]:
    data = example(name)
    data["metadata"]["description"] = description
    for source in data["data"]["sources"]:
        source["uri"] = f"gs://acme-data/{source['name']}.csv"
    return data


@pytest.mark.parametrize("value", HOSTILE)
def test_the_model_card_shows_the_description_as_text(value: str) -> None:
    files = render(_described("churn-classifier", value), ["model-card"])
    _assert_inert(files["model-cards/churn-classifier.md"], value)


def _assert_absent(markdown: str, value: str) -> None:
    """The description is the model card's alone (a promotion must not change with it)."""
    rendered = _parser().render(markdown)
    assert "<a" not in rendered and "<img" not in rendered, rendered
    assert value.strip() not in _text(rendered), rendered


@pytest.mark.parametrize("value", HOSTILE)
def test_the_github_promotion_body_leaves_the_description_out(value: str) -> None:
    files = render(_described("churn-classifier", value), ["ci"])
    workflow = yaml.safe_load(files[".github/workflows/specops-churn-classifier-release.yml"])
    bodies = [
        step["with"]["body"]
        for job in workflow["jobs"].values()
        for step in job["steps"]
        if "body" in step.get("with", {})
    ]
    assert bodies
    for body in bodies:
        _assert_absent(body.replace("${{ github.sha }}", "sha"), value)


@pytest.mark.parametrize("value", HOSTILE)
def test_the_gitlab_merge_request_leaves_the_description_out(value: str) -> None:
    files = render(_described("vision-defects", value), ["ci"])
    pipeline = yaml.safe_load(files["ci/gitlab/vision-defects.gitlab-ci.yml"])
    descriptions = [
        job["variables"]["SPECOPS_DESCRIPTION"]["value"]
        for job in pipeline.values()
        if isinstance(job, dict) and "SPECOPS_DESCRIPTION" in job.get("variables", {})
    ]
    assert descriptions
    for description in descriptions:
        _assert_absent(description, value)
