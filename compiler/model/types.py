"""Constrained scalar types of the spec: each value is parsed and checked, not just typed as str.

Patterns are anchored with ^...$ and run by pydantic-core's Rust regex engine, where `$` matches
only at the very end (a trailing newline fails). Every string also goes through `_printable`, so
no control character, line break or `${{` reaches a template through any field.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Annotated
from urllib.parse import urlsplit

from pydantic import AfterValidator, Field, StringConstraints, WithJsonSchema

from compiler.model.names import (
    AUTHORITY_RULES,
    INT64_MAX,
    INT64_MIN,
    not_keyword,
    python_safe_name,
)

# Bidirectional embeddings, overrides and isolates are refused as well: they make the text a
# reviewer sees in a pull request differ from what the tools read ("Trojan Source"), and no
# identifier, URI or one-line description needs them (RTL text renders without them).
_FORBIDDEN_CHARS = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\ufeff\u202a-\u202e\u2066-\u2069]")
# kfp 2.17 turns any `{{channel:task=…;name=…;type=…;}}` inside any string it is given into a
# reference to a pipeline input (pipeline_channel.extract_pipeline_channels_from_string), and the
# KFP backend substitutes `{{$…}}` runtime placeholders in container commands. Neither has an
# escape, so a literal value can only be guaranteed by refusing both openings.
_KFP_PLACEHOLDER = re.compile(r"\{\{\s*(channel:|\$)")


def _printable(value: str) -> str:
    if _FORBIDDEN_CHARS.search(value):
        raise ValueError("must be a single line of printable characters")
    if "${{" in value:
        raise ValueError("must not contain '${{' (it would be evaluated by CI workflow engines)")
    if _KFP_PLACEHOLDER.search(value):
        raise ValueError(
            "must not contain '{{channel:' or '{{$' (Kubeflow Pipelines would read a placeholder)"
        )
    return value


SafeStr = Annotated[
    str, StringConstraints(min_length=1, max_length=512), AfterValidator(_printable)
]
ShortText = Annotated[str, StringConstraints(max_length=256), AfterValidator(_printable)]
FreeText = Annotated[str, StringConstraints(max_length=2000), AfterValidator(_printable)]

DNS_LABEL = r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$"
DnsLabel = Annotated[str, StringConstraints(pattern=DNS_LABEL, max_length=63)]


# Every integer the IR carries is an int64 (protobuf, JSON consumers): a larger one would be
# rounded or refused far from the spec.
Int64 = Annotated[int, Field(ge=INT64_MIN, le=INT64_MAX)]
Identifier = Annotated[
    str,
    StringConstraints(pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,63}$"),
    AfterValidator(not_keyword),
]

PipelineName = Annotated[DnsLabel, AfterValidator(python_safe_name)]
EnvVarName = Annotated[str, StringConstraints(pattern=r"^[A-Z_][A-Z0-9_]{0,127}$")]
DottedPath = Annotated[
    str, StringConstraints(pattern=r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)+$")
]
Email = Annotated[
    str,
    StringConstraints(
        pattern=r"^[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}$",
        max_length=254,
    ),
]
Version = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._+-]{0,127}$")]
Sha256 = Annotated[str, StringConstraints(pattern=r"^sha256:[a-f0-9]{64}$")]
GitRevision = Annotated[str, StringConstraints(pattern=r"^[a-f0-9]{40}$")]
AcceleratorType = Annotated[
    str, StringConstraints(pattern=r"^[a-z0-9]([-a-z0-9.]{0,61}[a-z0-9])?$")
]
Duration = Annotated[str, StringConstraints(pattern=r"^[1-9][0-9]{0,5}(s|m|h)$")]
LabelKey = Annotated[
    str,
    StringConstraints(
        pattern=r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?"
        r"[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$",
        max_length=253,
    ),
]
LabelValue = Annotated[
    str, StringConstraints(pattern=r"^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$")
]
Fraction = Annotated[float, Field(gt=0, lt=1)]
Percent = Annotated[int, Field(ge=1, le=99)]


# --- Kubernetes quantities -------------------------------------------------------------------

_QUANTITY = re.compile(r"^([0-9]+(\.[0-9]+)?|\.[0-9]+)(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$")
_SUFFIX = {
    "": Decimal(1), "m": Decimal("0.001"),
    "k": Decimal(10) ** 3, "M": Decimal(10) ** 6, "G": Decimal(10) ** 9,
    "T": Decimal(10) ** 12, "P": Decimal(10) ** 15, "E": Decimal(10) ** 18,
    "Ki": Decimal(2) ** 10, "Mi": Decimal(2) ** 20, "Gi": Decimal(2) ** 30,
    "Ti": Decimal(2) ** 40, "Pi": Decimal(2) ** 50, "Ei": Decimal(2) ** 60,
}  # fmt: skip


def parse_quantity(text: str) -> Decimal:
    """A Kubernetes resource quantity as a number: `500m` -> 0.5, `16Gi` -> 17179869184."""
    match = _QUANTITY.fullmatch(text)
    if match is None:
        raise ValueError("not a Kubernetes quantity (e.g. 500m, 2, 16Gi)")
    try:
        number = Decimal(match.group(1))
    except InvalidOperation as exc:  # pragma: no cover - the regex admits only decimals
        raise ValueError(f"{text!r} is not a number") from exc
    return number * _SUFFIX[match.group(3) or ""]


def _positive_quantity(text: str) -> str:
    if parse_quantity(text) <= 0:
        raise ValueError("must be greater than zero")
    return text


Quantity = Annotated[
    str,
    AfterValidator(_positive_quantity),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": _QUANTITY.pattern,
            "maxLength": 32,
            "description": "Kubernetes quantity, e.g. 500m, 2, 16Gi",
        }
    ),
]


# --- cron ------------------------------------------------------------------------------------

_CRON_FIELDS: tuple[tuple[str, int, int, dict[str, int]], ...] = (
    ("minute", 0, 59, {}),
    ("hour", 0, 23, {}),
    ("day of month", 1, 31, {}),
    (
        "month",
        1,
        12,
        {
            m: i + 1
            for i, m in enumerate(
                ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
            )
        },
    ),
    (
        "day of week",  # 0-6 only: Kubeflow's scheduler has no 7 for Sunday; write 0
        0,
        6,
        {d: i for i, d in enumerate(["sun", "mon", "tue", "wed", "thu", "fri", "sat"])},
    ),
)


def _cron_value(text: str, low: int, high: int, names: dict[str, int], field: str) -> int:
    value = names.get(text.lower()) if names else None
    if value is None:
        if not text.isdigit():
            raise ValueError(f"{field}: {text!r} is not a number")
        value = int(text)
    if not low <= value <= high:
        raise ValueError(f"{field}: {value} is outside {low}-{high}")
    return value


def _check_cron_part(part: str, low: int, high: int, names: dict[str, int], field: str) -> None:
    base, _, step = part.partition("/")
    if step and (not step.isdigit() or int(step) == 0):
        raise ValueError(f"{field}: step {step!r} must be a positive number")
    if base == "*":
        return
    start, _, end = base.partition("-")
    first = _cron_value(start, low, high, names, field)
    if end and _cron_value(end, low, high, names, field) < first:
        raise ValueError(f"{field}: range {base!r} runs backwards")


def check_cron(text: str) -> str:
    """A standard five-field cron expression (minute hour day-of-month month day-of-week)."""
    fields = text.split()
    if len(fields) != 5 or " ".join(fields) != text:
        raise ValueError("must be five fields separated by single spaces, e.g. '0 3 * * 1'")
    for raw, (field, low, high, names) in zip(fields, _CRON_FIELDS, strict=True):
        for part in raw.split(","):
            _check_cron_part(part, low, high, names, field)
    return text


Cron = Annotated[
    str,
    AfterValidator(check_cron),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": r"^\S+ \S+ \S+ \S+ \S+$",
            "maxLength": 100,
            "description": "five-field cron: minute hour day-of-month month day-of-week",
        }
    ),
]


# --- container images ------------------------------------------------------------------------

_IMAGE = re.compile(
    r"^(?P<name>(?:(?P<registry>[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?"
    r"(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*(?::[0-9]+)?)/)?"
    r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*)"
    r"(?::(?P<tag>[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}))?"
    r"(?:@(?P<digest>sha256:[a-f0-9]{64}))?$"
)


def check_image(text: str) -> str:
    """An OCI image reference that names a tag or a digest (never an implicit `latest`)."""
    match = _IMAGE.fullmatch(text)
    if match is None or len(text) > 255:
        raise ValueError("not an image reference like registry/repo:tag or repo@sha256:<digest>")
    if not match.group("tag") and not match.group("digest"):
        raise ValueError("must pin a tag or a digest (an implicit ':latest' is not reproducible)")
    return text


def image_is_pinned_by_digest(text: str) -> bool:
    match = _IMAGE.fullmatch(text)
    return bool(match and match.group("digest"))


def image_registry(text: str) -> str:
    """The registry host of an image reference (`docker.io` when none is named)."""
    match = _IMAGE.fullmatch(text)
    registry = match.group("registry") if match else None
    if registry and ("." in registry or ":" in registry or registry == "localhost"):
        return registry
    return "docker.io"


ImageRef = Annotated[
    str,
    AfterValidator(check_image),
    WithJsonSchema(
        {
            "type": "string",
            "maxLength": 255,
            "pattern": re.sub(r"\?P<\w+>", "?:", _IMAGE.pattern),
            "description": "image reference pinned by tag or sha256 digest",
        }
    ),
]


# --- URIs ------------------------------------------------------------------------------------

_HOST = re.compile(
    r"^[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*$"
)
_RELATIVE_PATH = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.\-/]*$")


def _check_uri(text: str, schemes: frozenset[str], allow_relative: bool) -> str:
    _printable(text)
    if " " in text or "\\" in text:
        raise ValueError("must not contain spaces or backslashes")
    if "://" not in text:
        if allow_relative and _RELATIVE_PATH.fullmatch(text) and ".." not in text.split("/"):
            return text
        allowed = ", ".join(sorted(f"{s}://" for s in schemes))
        hint = " or a relative path inside the spec's folder" if allow_relative else ""
        raise ValueError(f"must be a URI ({allowed}){hint}")
    parts = urlsplit(text)
    if parts.scheme not in schemes:
        raise ValueError(f"scheme {parts.scheme!r} is not one of {', '.join(sorted(schemes))}")
    if parts.password is not None or parts.username is not None:
        raise ValueError("must not carry credentials; reference a secret by name instead")
    if parts.query or parts.fragment:
        raise ValueError("must not have a query string or fragment")
    if parts.scheme in AUTHORITY_RULES:
        AUTHORITY_RULES[parts.scheme](parts.netloc)
    if parts.scheme in {"http", "https"} and not _HOST.fullmatch(parts.hostname or ""):
        raise ValueError("must name a host")
    if parts.scheme == "file" and (parts.netloc or not parts.path.startswith("/")):
        raise ValueError("file URIs must be absolute: file:///path")
    if ".." in parts.path.split("/"):
        raise ValueError("must not contain '..' path segments")
    return text


_DATA_SCHEMES = frozenset({"gs", "s3", "https", "http", "file"})
_STORAGE_SCHEMES = frozenset({"gs", "s3", "https", "pvc", "oci", "file"})
_REPO_SCHEMES = frozenset({"https"})
# Where a batch run writes predictions: object storage, or a folder its pod mounts.
_BATCH_OUTPUT_SCHEMES = frozenset({"gs", "s3", "file"})


def _data_uri(text: str) -> str:
    return _check_uri(text, _DATA_SCHEMES, allow_relative=True)


def _storage_uri(text: str) -> str:
    return _check_uri(text, _STORAGE_SCHEMES, allow_relative=False)


def _batch_output_uri(text: str) -> str:
    return _check_uri(text, _BATCH_OUTPUT_SCHEMES, allow_relative=False)


def _repo_uri(text: str) -> str:
    return _check_uri(text, _REPO_SCHEMES, allow_relative=False)


def _uri_schema(schemes: frozenset[str], relative: bool) -> WithJsonSchema:
    alternatives = "|".join(sorted(schemes))
    pattern = f"^({alternatives})://[^\\s]+$"
    if relative:
        pattern = f"{pattern}|{_RELATIVE_PATH.pattern}"
    return WithJsonSchema({"type": "string", "maxLength": 1024, "pattern": pattern})


DataUri = Annotated[
    str,
    StringConstraints(max_length=1024),
    AfterValidator(_data_uri),
    _uri_schema(_DATA_SCHEMES, relative=True),
]
StorageUri = Annotated[
    str,
    StringConstraints(max_length=1024),
    AfterValidator(_storage_uri),
    _uri_schema(_STORAGE_SCHEMES, relative=False),
]
BatchOutputUri = Annotated[
    str,
    StringConstraints(max_length=1024),
    AfterValidator(_batch_output_uri),
    _uri_schema(_BATCH_OUTPUT_SCHEMES, relative=False),
]
RepoUri = Annotated[
    str,
    StringConstraints(max_length=1024),
    AfterValidator(_repo_uri),
    _uri_schema(_REPO_SCHEMES, relative=False),
]


# --- platform settings -----------------------------------------------------------------------
# Types of the settings a platform.yaml may override (compiler.plan.Defaults declares each
# field with one of these; compiler.platform.defaults derives the platform's schema from them).


def _web_uri(text: str) -> str:
    return _check_uri(text, frozenset({"https", "http"}), allow_relative=False)


def _repo_path(text: str) -> str:
    if ".." in text.split("/"):
        raise ValueError("must not contain '..' path segments")
    return text


WebUri = Annotated[
    str,
    StringConstraints(max_length=1024),
    AfterValidator(_web_uri),
    _uri_schema(frozenset({"https", "http"}), relative=False),
]
GitRef = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,99}$")]
SecretName = Annotated[str, StringConstraints(pattern=r"^[A-Z_][A-Z0-9_]{0,127}$")]
# A CI environment or runner label (GitHub and GitLab allow capitals, dots and underscores).
CiName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][-A-Za-z0-9_.]{0,99}$")]
# A path inside a repository, relative, optionally with {spec}/{env}/{team} placeholders.
RepoPath = Annotated[
    str,
    StringConstraints(pattern=r"^([-A-Za-z0-9_.{}]+(/[-A-Za-z0-9_.{}]+)*)?$", max_length=512),
    AfterValidator(_repo_path),
]
# A path filter of GitHub Actions / GitLab CI (`!` excludes, `*`, `**`, `?`, `[]` match).
RepoGlob = Annotated[str, StringConstraints(pattern=r"^!?[-A-Za-z0-9_.*?/{},\[\]]{1,255}$")]
PackageName = Annotated[
    str, StringConstraints(pattern=r"^[A-Za-z0-9]([A-Za-z0-9._-]{0,98}[A-Za-z0-9])?$")
]
# A pip requirement by name and version specifiers (no URLs, no environment markers).
Requirement = Annotated[
    str,
    StringConstraints(
        pattern=r"^[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?(\[[-A-Za-z0-9._,]+\])?"
        r"((==|~=|>=|<=|!=|<|>)[A-Za-z0-9.*+!_-]+(,(==|~=|>=|<=|!=|<|>)[A-Za-z0-9.*+!_-]+)*)?$",
        max_length=256,
    ),
]
# What CI pip-installs to get specops: a Requirement, or `name @ git+https://host/path@rev`
# (a VCS URL pinned to a revision, no credentials: the host part may not hold `@`).
InstallRequirement = Annotated[
    str,
    StringConstraints(
        pattern=r"^([A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?(\[[-A-Za-z0-9._,]+\])?"
        r"((==|~=|>=|<=|!=|<|>)[A-Za-z0-9.*+!_-]+(,(==|~=|>=|<=|!=|<|>)[A-Za-z0-9.*+!_-]+)*)?"
        r"|[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])? @ git\+https://[A-Za-z0-9.-]+(:[0-9]+)?"
        r"/[-A-Za-z0-9._~/]+@[A-Za-z0-9][-A-Za-z0-9._/]{0,99})$",
        max_length=512,
    ),
]
# owner/name[/path] of a GitHub Action.
ActionRepo = Annotated[
    str,
    StringConstraints(
        pattern=r"^[A-Za-z0-9][-A-Za-z0-9_.]*/[A-Za-z0-9][-A-Za-z0-9_.]*(/[-A-Za-z0-9_.]+)*$",
        max_length=256,
    ),
]
