"""Attack: characters no consumer can be trusted with, refused in every spec string by the model
(`_printable`): controls and line breaks, `${{`, KFP placeholder openings, and bidirectional
overrides that make a reviewed pull request read differently from what the tools see."""

from __future__ import annotations

import pytest
from pydantic import TypeAdapter, ValidationError

from compiler.model.types import FreeText, SafeStr, ShortText

REFUSED = [
    "a\nb",
    "a\rb",
    "\x1b[31m",
    "a\u2028b",
    "${{ secrets.X }}",
    "{{channel:task=;name=x;type=String;}}",
    "{{$}}",
    "admin\u202e\u2066 // check later\u2069\u2066",
    "x\u202ay",
    "x\u2067y",
]
ACCEPTED = ["{{ x }}", "$(HOME)", "{channel:}", "שלום עולם", "مرحبا", "a\u200fb", "{ {$}}"]
TYPES = [SafeStr, ShortText, FreeText]


@pytest.mark.parametrize("kind", TYPES)
@pytest.mark.parametrize("text", REFUSED)
def test_refused(kind: object, text: str) -> None:
    with pytest.raises(ValidationError):
        TypeAdapter(kind).validate_python(text)


@pytest.mark.parametrize("kind", TYPES)
@pytest.mark.parametrize("text", ACCEPTED)
def test_accepted_as_is(kind: object, text: str) -> None:
    assert TypeAdapter(kind).validate_python(text) == text
