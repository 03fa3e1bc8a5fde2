"""Rules for names that leave the spec for somewhere with rules of its own: Python
identifiers in generated code, int64 fields of the KFP IR, bucket and claim names.

Kept apart from `types`, which composes them into the spec's constrained types.
"""

from __future__ import annotations

import builtins
import keyword
import re
from collections.abc import Callable

from pydantic import BeforeValidator


def not_keyword(text: str) -> str:
    # A hard keyword (`class`, `None`, `lambda`) is never a Python name: a template that binds
    # it fails. Soft keywords and builtins stay allowed: `type`, `id` and `max` are common
    # column names and only ever reach generated code as string data.
    if keyword.iskeyword(text):
        raise ValueError(f"{text!r} is a Python keyword and cannot name a column or parameter")
    return text


# Every integer the IR carries is an int64 (protobuf, JSON consumers): a larger one would be
# rounded or refused far from the spec.
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1


def _int64_guard(value: object) -> object:
    # In a union with float, strict pydantic would take 10**20 as a float: refuse it (or a list
    # holding it) before the union is tried, so the one error says why.
    for item in value if isinstance(value, list) else [value]:
        if type(item) is int and not INT64_MIN <= item <= INT64_MAX:
            raise ValueError(f"integer {item} does not fit in 64 bits (at most {INT64_MAX})")
    return value


FITS_INT64 = BeforeValidator(_int64_guard)


def at_most(limit: int) -> BeforeValidator:
    """Refuses a longer list before a union is tried (pydantic would report every branch)."""

    def check(value: object) -> object:
        if isinstance(value, list) and len(value) > limit:
            raise ValueError(f"a list may have at most {limit} items, not {len(value)}")
        return value

    return BeforeValidator(check)


# Module-level names the generated pipeline.py and monitoring.py bind (imports, components,
# settings); a pipeline function with one of these names would replace it. Lowercase only:
# the function's name comes from a DNS label. tests/security pin this against the goldens.
PIPELINE_NAMES = frozenset(
    {
        "json", "dsl", "kubernetes", "typing", "kfp",
        "combine_tables", "detect_drift", "evaluate_classifier", "evaluate_regressor",
        "explain_model", "check_metric", "check_reported_metric", "ingest_source",
        "check_latency", "profile_data", "publish_model", "split_data", "train_model",
        "train_custom", "validate_data", "score_batch", "write_predictions", "batch_scoring",
        "compare_with_champion", "register_model", "registered_champion",
    }
)  # fmt: skip


_BUILTINS = frozenset(dir(builtins))


def python_safe_name(text: str) -> str:
    # `metadata.name` becomes `def <name>(...)` at module level of pipeline.py: besides
    # keywords, it must not shadow a builtin the module uses (`str`, `int`), a soft keyword or
    # a name the module binds itself.
    name = text.replace("-", "_")
    # A leading digit is refused by check CHK017 (KServe needs a letter too), with the checks.
    if keyword.iskeyword(name) or keyword.issoftkeyword(name):
        raise ValueError(f"{text!r} is a Python keyword; the pipeline function is named after it")
    if name in _BUILTINS or name in PIPELINE_NAMES:
        raise ValueError(
            f"{text!r} would shadow the Python name {name!r} in the generated pipeline.py"
        )
    return text


_S3_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_GCS_BUCKET = re.compile(r"^[a-z0-9][a-z0-9._-]{1,220}[a-z0-9]$")
_IPV4 = re.compile(r"^\d{1,3}(\.\d{1,3}){3}$")
_DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
# https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html
_S3_RESERVED_PREFIXES = ("xn--", "sthree-", "amzn-s3-demo-")
_S3_RESERVED_SUFFIXES = ("-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3")


def _s3_bucket(name: str) -> None:
    if not _S3_BUCKET.fullmatch(name) or ".." in name or _IPV4.fullmatch(name):
        raise ValueError(
            f"{name!r} is not an S3 bucket name: 3-63 lowercase letters, digits, '.' and '-', "
            "a letter or digit at both ends, no '..', not an IP address"
        )
    if name.startswith(_S3_RESERVED_PREFIXES) or name.endswith(_S3_RESERVED_SUFFIXES):
        raise ValueError(f"{name!r} uses a prefix or suffix S3 reserves")


def _gcs_bucket(name: str) -> None:
    # https://cloud.google.com/storage/docs/buckets#naming
    limit = 222 if "." in name else 63
    parts_ok = all(0 < len(p) <= 63 for p in name.split("."))
    if len(name) > limit or not _GCS_BUCKET.fullmatch(name) or not parts_ok:
        raise ValueError(
            f"{name!r} is not a GCS bucket name: 3-63 lowercase letters, digits, '-', '_' and "
            "'.' (up to 222 with dots, 63 between dots), a letter or digit at both ends"
        )
    if _IPV4.fullmatch(name) or name.startswith("goog") or "google" in name:
        raise ValueError(f"{name!r} is not allowed as a GCS bucket name (IP address or 'goog')")


def _pvc_claim(name: str) -> None:
    if len(name) > 253 or not _DNS_SUBDOMAIN.fullmatch(name):
        raise ValueError(
            f"{name!r} is not a PersistentVolumeClaim name: a DNS-1123 subdomain "
            "(lowercase letters, digits, '-' and '.', at most 253 characters)"
        )


AUTHORITY_RULES: dict[str, Callable[[str], None]] = {
    "s3": _s3_bucket,
    "gs": _gcs_bucket,
    "pvc": _pvc_claim,
}
