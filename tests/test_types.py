"""Constrained spec values are parsed, not pattern-matched loosely."""

from __future__ import annotations

from decimal import Decimal

import pytest
from pydantic import TypeAdapter, ValidationError

from compiler.filters import to_markdown, to_python, to_shell_word, to_yaml
from compiler.model.types import (
    Cron,
    DataUri,
    DnsLabel,
    ImageRef,
    Quantity,
    SafeStr,
    StorageUri,
    image_is_pinned_by_digest,
    image_registry,
    parse_quantity,
)

DIGEST = "sha256:" + "a" * 64


def _ok(kind: object, value: str) -> None:
    TypeAdapter(kind).validate_python(value)


def _bad(kind: object, value: str) -> None:
    with pytest.raises(ValidationError):
        TypeAdapter(kind).validate_python(value)


@pytest.mark.parametrize(
    ("text", "number"),
    [
        ("500m", Decimal("0.5")),
        ("2", Decimal(2)),
        ("1.5Gi", Decimal(1.5 * 2**30)),
        ("16G", Decimal(16 * 10**9)),
        (".5", Decimal("0.5")),
    ],
)
def test_quantities_parse(text: str, number: Decimal) -> None:
    assert parse_quantity(text) == number


@pytest.mark.parametrize("text", ["", "-1", "2 cores", "4GB", "1e3", "0", "0m", "Gi", "1.Gi"])
def test_bad_quantities(text: str) -> None:
    _bad(Quantity, text)


@pytest.mark.parametrize("text", ["0 3 * * 1", "*/15 0-6 1,15 jan-jun mon-fri", "59 23 31 12 6"])
def test_good_cron(text: str) -> None:
    _ok(Cron, text)


@pytest.mark.parametrize(
    "text",
    [
        "0 3 * *",
        "60 * * * *",
        "* 24 * * *",
        "* * 0 * *",
        "* * * 13 *",
        "* * * * 7",
        "*/0 * * * *",
        "5-1 * * * *",
        "0  3 * * 1",
        "@daily",
        "0 3 * * 1\n",
    ],
)
def test_bad_cron(text: str) -> None:
    _bad(Cron, text)


@pytest.mark.parametrize(
    "text",
    [
        "python:3.11-slim",
        f"ghcr.io/acme/x@{DIGEST}",
        f"registry.acme.io:5000/a/b:1.0@{DIGEST}",
        "localhost/x:dev",
    ],
)
def test_good_images(text: str) -> None:
    _ok(ImageRef, text)


@pytest.mark.parametrize(
    "text",
    ["python", "Python:3", "ghcr.io/acme/x@sha256:abc", "x:", "x:tag with space", "x:1\n", "-x:1"],
)
def test_bad_images(text: str) -> None:
    _bad(ImageRef, text)


def test_image_helpers() -> None:
    assert image_is_pinned_by_digest(f"ghcr.io/acme/x@{DIGEST}")
    assert not image_is_pinned_by_digest("ghcr.io/acme/x:1")
    assert image_registry("ghcr.io/acme/x:1") == "ghcr.io"
    assert image_registry("python:3.11") == "docker.io"
    assert image_registry("acme/x:1") == "docker.io"


@pytest.mark.parametrize(
    "text",
    [
        "gs://acme-data/x.csv",
        "s3://acme.data/x",
        "data/x.csv",
        "https://data.example.com/x.csv",
        "file:///srv/data/x.csv",
    ],
)
def test_good_data_uris(text: str) -> None:
    _ok(DataUri, text)


@pytest.mark.parametrize(
    "text",
    [
        "gs://b/x",
        "https://u:p@h.com/x",
        "ftp://h/x",
        "../x.csv",
        "data/../../etc/passwd",
        "file://relative/x",
        "/abs/path",
        "https://h.com/x?token=1",
        "s3://Bad_Bucket/x",
        "data/x y.csv",
    ],
)
def test_bad_data_uris(text: str) -> None:
    _bad(DataUri, text)


def test_storage_uris_are_absolute() -> None:
    _ok(StorageUri, "pvc://models/churn")
    _bad(StorageUri, "models/churn")


@pytest.mark.parametrize("text", ["a", "churn-model", "a" * 63])
def test_good_dns_labels(text: str) -> None:
    _ok(DnsLabel, text)


@pytest.mark.parametrize("text", ["", "A", "-a", "a-", "a_b", "a" * 64, "a\n", "a.b"])
def test_bad_dns_labels(text: str) -> None:
    _bad(DnsLabel, text)


@pytest.mark.parametrize("text", ["a\nb", "a\x00", "${{ secrets.X }}", "\u2028", "a\x85"])
def test_strings_refuse_control_characters_and_ci_expressions(text: str) -> None:
    _bad(SafeStr, text)


def test_filters_keep_values_inert() -> None:
    assert to_yaml("a: b # c") == '"a: b # c"'
    assert to_yaml("\x85\u2028") == '"\\u0085\\u2028"'
    assert to_yaml({"k": [1, True, None]}) == '{"k": [1, true, null]}'
    assert to_python("'); import os #") == '"\'); import os #"'
    assert to_shell_word("$(curl x|sh)") == "'$(curl x|sh)'"
    assert to_markdown("<b>[x](y)</b>") == "\\<b\\>\\[x\\]\\(y\\)\\</b\\>"


@pytest.mark.parametrize("kind", [Quantity, ImageRef, Cron, DataUri, StorageUri])
def test_trailing_newline_never_passes(kind: object) -> None:
    for value in ["1\n", "python:3.11\n", "0 3 * * 1\n", "gs://acme-data/x\n", "data/x.csv\n"]:
        _bad(kind, value)


def test_allowed_values_refuse_line_breaks() -> None:
    from compiler.model.spec import Column

    with pytest.raises(ValidationError):
        Column.model_validate({"name": "c", "type": "string", "allowed": ["ok", "a\nb"]})
