"""Attack: a spec path or an echoed spec value holding control characters (ESC sequences, CR,
line breaks, a right-to-left override) or a forged `::error file=…::` workflow command. Every
report format must show them escaped: no raw control or bidi character, and in the text and
GitHub formats no line that GitHub would read as a workflow command except our own."""

from __future__ import annotations

import json
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from compiler.diagnostics import Diagnostic, Location, error
from compiler.report import REPORTER_BY_NAME

HOSTILE = [
    "\x1b[2J\x1b[31mred",
    "\x1b]8;;https://evil.example\x07link\x1b]8;;\x07",
    "a\rforged line",
    "a\n::error file=specs/x.yaml,line=1::forged",
    "::error file=specs/x.yaml::forged",
    "::add-mask::x",
    "x\u202eelif.yaml",
    "x\u2066y\u2069",
    "50%0A::error::x",
    "a:b,c",
    "x\x00\x7f\x85\u2028\u200b",
]
# C0/C1 controls, line separators, bidi embeddings, overrides and isolates, zero-width marks.
RAW = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200b-\u200f\u2028-\u202e\u2066-\u2069]")


def _diagnostics(text: str) -> list[Diagnostic]:
    return [
        error("SPEC004", f"unknown key {text!r}", Location(text, 3, 5, ("a", text)), hint=text),
        error("SPEC101", text, Location(f"specs/{text}.yaml")),
    ]


def _check(name: str, text: str) -> str:
    out = REPORTER_BY_NAME[name].render(_diagnostics(text), 1)
    assert not RAW.search(out), (name, out)
    lines = out.split("\n")
    ours = [line for line in lines if line.startswith("::")]
    assert len(ours) == (2 if name == "github" else 0), out
    for line in ours:
        assert re.fullmatch(r"::error file=[^:,]*,(line=3,col=5,)?title=specops SPEC\d+::.*", line)
    return out


@pytest.mark.parametrize("name", sorted(REPORTER_BY_NAME))
@pytest.mark.parametrize("text", HOSTILE)
def test_each_reporter_escapes_hostile_text(name: str, text: str) -> None:
    _check(name, text)


@pytest.mark.parametrize("name", ["json", "sarif"])
@pytest.mark.parametrize("text", HOSTILE)
def test_json_formats_keep_the_exact_text(name: str, text: str) -> None:
    # Escaped in the bytes, exact once decoded: a JSON consumer sees the real value.
    document = json.loads(_check(name, text))
    if name == "json":
        decoded = document["diagnostics"][1]["message"]
    else:
        decoded = document["runs"][0]["results"][1]["message"]["text"]
    assert decoded == text


def test_the_text_report_shows_escapes() -> None:
    out = REPORTER_BY_NAME["text"].render(_diagnostics("\x1b[31m\u202e"), 1)
    assert "\\u001b[31m\\u202e" in out


def test_github_properties_escape_colon_and_comma() -> None:
    out = REPORTER_BY_NAME["github"].render(_diagnostics("a:b,c%"), 1)
    assert out.startswith("::error file=a%3Ab%2Cc%25,line=3,col=5,title=specops SPEC004::")


@given(st.text(alphabet=st.sampled_from(":,%\r\n\x1b\u202e\x85ax "), max_size=20))
def test_no_text_breaks_any_reporter(text: str) -> None:
    for name in REPORTER_BY_NAME:
        _check(name, text)
