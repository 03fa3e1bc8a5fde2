"""Find credentials in strings with detect-secrets' detectors, set up once per process.

Three kinds of evidence, each from detect-secrets:
- a known credential format (every `RegexBasedDetector` it ships, plus `extra_detectors` for
  formats it lacks), anywhere in a key or value;
- a secret-sounding name (`KeywordDetector`'s denylist: password, secret, api_key, ...): a
  mapping key so named whose value is a string, or `password=...` written inside a value;
- a long random-looking word (`Base64HighEntropyString`, `HexHighEntropyString` and their
  limits), unless it is a digest: `sha256:<hex>` anywhere, or a hex value at a path the model
  types as a revision or sha256.

Only `analyze_string` is called, never `analyze_line`: the latter reads detect-secrets' global
settings and may try to verify a secret over the network.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from detect_secrets.core.plugins.util import get_mapping_from_secret_type_to_class
from detect_secrets.filters import heuristic
from detect_secrets.plugins.base import RegexBasedDetector
from detect_secrets.plugins.high_entropy_strings import (
    Base64HighEntropyString,
    HexHighEntropyString,
    HighEntropyStringsPlugin,
)
from detect_secrets.plugins.ip_public import IPPublicDetector
from detect_secrets.plugins.keyword import (
    DENYLIST_REGEX,
    FOLLOWED_BY_COLON_QUOTES_REQUIRED_REGEX,
    FOLLOWED_BY_EQUAL_SIGNS_REGEX,
    KeywordDetector,
)

from compiler.diagnostics import Diagnostic, JsonPath, Location, error
from compiler.extra_detectors import EXTRA_DETECTORS
from compiler.typed_paths import role_at

if TYPE_CHECKING:
    from compiler.loader import LoadedSpec

DIGEST = "digest"  # a role of typed paths: the model fixes the value to a hash's shape
REFERENCE = "reference"  # a role of typed paths: the value names a secret, it is not one
MIN_ENTROPY_LENGTH = 20  # shorter random words are too often ids, hashes or tags
_NOT_CREDENTIALS = (IPPublicDetector,)  # an address is not a secret
_DIGEST_TEXT = re.compile(r"sha256:[a-f0-9]{64}")
_HEX = re.compile(r"[a-f0-9]+")
_USERINFO = re.compile(r"://[^/@\s]+@")
_PREFIX = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{3}")
_HEX_KIND = HexHighEntropyString.secret_type
_OPAQUE = frozenset({KeywordDetector.secret_type, Base64HighEntropyString.secret_type, _HEX_KIND})
_SECRET_NAME = re.compile(r"[A-Z_][A-Z0-9_]*")  # the shape of model.types.SecretName
_KEY_NAME = re.compile(DENYLIST_REGEX, re.IGNORECASE)
# Inside a value only `name = secret` and `name: "secret"` count (`name: words` is prose); the
# numbers are the regexes' secret groups, as in detect-secrets' QUOTES_REQUIRED table.
_ASSIGNMENTS = {FOLLOWED_BY_EQUAL_SIGNS_REGEX: 5, FOLLOWED_BY_COLON_QUOTES_REQUIRED_REGEX: 5}


@dataclass(frozen=True, slots=True)
class Finding:
    kind: str  # detect-secrets' secret_type, e.g. "GitHub Token"
    secret: str

    @property
    def redacted(self) -> str:
        """A format's prefix is the issuer's (`ghp_`); a password's or random word's is not."""
        return "…" if self.kind in _OPAQUE else redact(self.secret)


@dataclass(frozen=True, slots=True)
class Located:
    path: JsonPath
    in_key: bool  # the mapping key at `path` holds it, not the value
    finding: Finding


def redact(secret: str) -> str:
    """At most a 4-character prefix of a long secret (`ghp_…`): enough to recognise, not to
    use; none when the prefix is not a token's own (`://u…` would show a user name)."""
    return f"{secret[:4]}…" if len(secret) >= 16 and _PREFIX.match(secret) else "…"


def safe_repr(value: str) -> str:
    """`repr(value)` with every credential in it cut to a redacted prefix."""
    found = find_in_text(value)
    shown = value
    for finding in found:
        # a URI's user info keeps its delimiters: `https://…@host/x`
        stand_in = "://…@" if _USERINFO.fullmatch(finding.secret) else finding.redacted
        shown = shown.replace(finding.secret, stand_in)
    if any("…" not in f.secret for f in find_in_text(shown)):  # a plugin reported part of one
        shown = found[0].redacted
    return repr(shown)


class _Detectors:
    """detect-secrets' plugins, built once: constructing and compiling them is the slow part."""

    def __init__(self) -> None:
        classes: list[type[Any]] = list(get_mapping_from_secret_type_to_class().values())
        regex = [c for c in classes if issubclass(c, RegexBasedDetector)]
        chosen = [c for c in regex if not issubclass(c, _NOT_CREDENTIALS)]
        self.formats: list[RegexBasedDetector] = [c() for c in [*chosen, *EXTRA_DETECTORS]]
        # A plugin that reports only what its denylist patterns match is asked only about a
        # string that one of them matches somewhere: a search is much cheaper than its scan.
        screened = [i for i, d in enumerate(self.formats) if _finds_denylist_matches_only(d)]
        self.screened = frozenset(screened)
        self.screens = [(regex, i) for i in screened for regex in self.formats[i].denylist]
        self.keyword = KeywordDetector()
        self.entropy: list[HighEntropyStringsPlugin] = [
            Base64HighEntropyString(),
            HexHighEntropyString(),
        ]
        self.charsets = [frozenset(plugin.charset) for plugin in self.entropy]
        # Words of the base64 alphabet; detect-secrets only looks inside quotes, which YAML
        # values do not have. `=` is padding at a word's end and a backslash is not base64, so
        # `name=VALUE` and escaped newlines split words instead of making a random-looking one.
        self.words = re.compile(f"[A-Za-z0-9+/_-]{{{MIN_ENTROPY_LENGTH},}}={{0,2}}")


def _finds_denylist_matches_only(detector: RegexBasedDetector) -> bool:
    """True for a plugin that keeps `RegexBasedDetector.analyze_string`: every secret it
    reports is (a group of) a match of one of its denylist patterns."""
    return type(detector).analyze_string is RegexBasedDetector.analyze_string


@functools.cache
def detectors() -> _Detectors:
    return _Detectors()


# Every detector's match contains one of these (a long word, a URL's `://`, a JWT's `eyJ`, a
# Slack `xox`, or a keyword's stem): a string without any is skipped. Unicode `\w`, since the
# plugins' `\d` matches any digit. tests/security checks it against every plugin's patterns.
_MAYBE = re.compile(r"[\w+/=-]{11,}|(?i:://|eyJ|xox|putty|key|pass|pwd|secret|token|contras)")


def find_in_text(text: str, *, hex_is_digest: bool = False) -> list[Finding]:
    """Every credential in one string (`hex_is_digest`: hex words are hashes, not secrets)."""
    found = list(_find(text))
    if hex_is_digest:
        found = [f for f in found if not (f.kind == _HEX_KIND and _HEX.fullmatch(f.secret))]
    return found


@functools.lru_cache(maxsize=65536)  # specs repeat most keys and many values
def _find(text: str) -> tuple[Finding, ...]:
    if not _MAYBE.search(text):
        return ()
    return tuple(dict.fromkeys([*_formats(text), *_assignments(text), *_high_entropy(text)]))


def find_in_output(text: str) -> list[tuple[int, Finding]]:
    """(line number, finding) for each credential in a generated file. Hex words are hashes
    there: outputs record spec, template and action-pin digests by design."""
    return [
        (number, finding)
        for number, line in enumerate(text.splitlines(), 1)
        for finding in find_in_text(line, hex_is_digest=True)
    ]


def find_in_pair(key: str, value: Any) -> list[Finding]:
    """A string value under a secret-sounding key (`password: hunter2`, `db_api_key: x`)."""
    if not isinstance(value, str) or not _names_secret(key):
        return []
    secret = value.strip()
    if _is_placeholder(secret):
        return []
    return [Finding(detectors().keyword.secret_type, secret)]


@functools.lru_cache(maxsize=4096)
def _names_secret(key: str) -> bool:
    return _KEY_NAME.search(key) is not None


def scan_tree(data: Any, roles: Mapping[JsonPath, str]) -> list[Located]:
    """Every credential in the keys and string values of loaded YAML data.

    `roles` (from `compiler.typed_paths`) marks paths the model types as digests, whose hex
    values are not high-entropy secrets, and as references, whose values are names.
    """
    scan = _TreeScan(roles)
    if isinstance(data, str):
        scan.record((), False, data, _findings(data, None))
    else:
        scan.branch(data, ())
    return list(dict.fromkeys(scan.found))


class _TreeScan:
    """Depth first, a mapping's keys before its values and the last value or item first (the
    order the findings, and so the diagnostics, have always had); a JSON path is made only for
    a finding or a branch."""

    def __init__(self, roles: Mapping[JsonPath, str]) -> None:
        self.roles = roles
        self.found: list[Located] = []

    def branch(self, node: Any, path: JsonPath) -> None:
        if isinstance(node, dict):
            for key in node:
                if findings := _find(str(key)):
                    self.record((*path, key), True, str(key), findings)
            for key, value in reversed(node.items()):
                if isinstance(value, str):  # most values: checked here, without another call
                    if findings := _findings(value, str(key)):
                        self.record((*path, key), False, value, findings)
                elif isinstance(value, dict | list):
                    self.branch(value, (*path, key))
        elif isinstance(node, list):
            for index in range(len(node) - 1, -1, -1):
                item = node[index]
                if isinstance(item, str):
                    if findings := _find(item):
                        self.record((*path, index), False, item, findings)
                elif isinstance(item, dict | list):
                    self.branch(item, (*path, index))

    def record(
        self, path: JsonPath, in_key: bool, text: str, findings: tuple[Finding, ...]
    ) -> None:
        if findings:
            self.found.extend(_keep(path, in_key, text, findings, role_at(self.roles, path)))


def _findings(text: str, parent_key: str | None) -> tuple[Finding, ...]:
    """What a string holds, and if it is a value under a secret-sounding key, the value."""
    findings = _find(text)
    if parent_key is not None and _names_secret(parent_key):
        findings = (*findings, *find_in_pair(parent_key, text))
    return findings


def _keep(
    path: JsonPath, in_key: bool, text: str, findings: tuple[Finding, ...], role: str | None
) -> Iterator[Located]:
    """The findings the model's type for `path` does not explain away."""
    if role == DIGEST and not in_key:
        findings = tuple(find_in_text(text, hex_is_digest=True))
    elif role == REFERENCE and not in_key:
        findings = _find(text)  # a name under `secret:` is not a password
    return (Located(path, in_key, f) for f in findings)


def _formats(text: str) -> list[Finding]:
    found = []
    plugins = detectors()
    matched = {index for pattern, index in plugins.screens if pattern.search(text)}
    for index, detector in enumerate(plugins.formats):
        if index in plugins.screened and index not in matched:
            continue  # its scan could only find what its patterns match
        secrets = [s for s in detector.analyze_string(text) if s]  # the plugin's own checks
        if secrets:
            found += [Finding(detector.secret_type, m) for m in _whole(detector, text, secrets)]
    return found


def _whole(detector: RegexBasedDetector, text: str, secrets: list[str]) -> list[str]:
    """The whole matches that hold `secrets`: some plugins report only a group of their match
    (GitHub's `ghp`), which is too little to redact."""
    matches = [
        match.group(0).strip()
        for regex in detector.denylist
        for match in regex.finditer(text)
        if any(secret in match.group(0) for secret in secrets)
    ]
    return matches or secrets


def _assignments(text: str) -> list[Finding]:
    if not _KEY_NAME.search(text):
        return []
    keyword = detectors().keyword
    return [
        Finding(keyword.secret_type, secret)
        for secret in keyword.analyze_string(text, _ASSIGNMENTS)
        if not _is_placeholder(secret)
    ]


def _high_entropy(text: str) -> list[Finding]:
    found = []
    plugins = detectors()
    for word in plugins.words.findall(_DIGEST_TEXT.sub(" ", text)):
        letters = set(word)
        for plugin, charset in zip(plugins.entropy, plugins.charsets, strict=True):
            if not letters <= charset or not _may_exceed(len(letters), plugin.entropy_limit):
                continue
            if plugin.calculate_shannon_entropy(word) > plugin.entropy_limit:
                found.append(Finding(plugin.secret_type, word))
                break
    return found


def _may_exceed(distinct: int, limit: float) -> bool:
    """Whether a word of `distinct` different characters can have an entropy above `limit`:
    it has at most log2(distinct) bits, which is below the limit for fewer than 2**limit (a
    word of 22 different letters, say, never reaches base64's 4.5). Equal is computed: the
    float sum may round just above."""
    return distinct >= 2**limit


def _is_placeholder(secret: str) -> bool:
    """detect-secrets' own filters (`${VAR}`, `{{ x }}`, `<x>`, `$VAR`, `****`, `ABCDEF`) and
    the name of a CI secret or environment variable (`KFP_TOKEN`), which refers to a secret."""
    return (
        not secret
        or _SECRET_NAME.fullmatch(secret) is not None
        or heuristic.is_templated_secret(secret)
        or heuristic.is_prefixed_with_dollar_sign(secret)
        or heuristic.is_not_alphanumeric_string(secret)
        or heuristic.is_sequential_string(secret)
    )


def secret_diagnostics(
    loaded: LoadedSpec, roles: Mapping[JsonPath, str], where: str, hint: str
) -> list[Diagnostic]:
    """SEC001 at each key or value of a loaded file that holds a credential, one per place.

    The message names the kind of credential and at most a redacted prefix, never the value.
    """
    return located_diagnostics(loaded, scan_tree(loaded.data, roles), where, hint)


def located_diagnostics(
    loaded: LoadedSpec, found: Iterable[Located], where: str, hint: str
) -> list[Diagnostic]:
    first: dict[tuple[JsonPath, bool], Finding] = {}
    for item in found:
        first.setdefault((item.path, item.in_key), item.finding)
    return [
        error(
            "SEC001",
            f"this looks like a credential written into the {where}: {_describe(finding)}",
            loaded.locate(path, key=in_key),
            hint,
        )
        for (path, in_key), finding in first.items()
    ]


def _describe(finding: Finding) -> str:
    shown = finding.redacted
    return finding.kind if shown == "…" else f"{finding.kind} '{shown}'"


def scrub(diagnostics: list[Diagnostic], found: Iterable[Located]) -> list[Diagnostic]:
    """The diagnostics with each found credential cut to its redacted form wherever a stage
    echoed it (a key in a JSON path, a parameter name, a value quoted in a hint): one place
    that keeps every diagnostic of every rule free of the credentials SEC001 found."""
    stand_ins = {item.finding.secret: item.finding.redacted for item in found}
    if not stand_ins:
        return diagnostics
    longest_first = sorted(stand_ins.items(), key=lambda pair: -len(pair[0]))

    def clean(text: str) -> str:
        for secret, shown in longest_first:
            text = text.replace(secret, shown)
        return text

    def place(where: Location) -> Location:
        path = tuple(clean(part) if isinstance(part, str) else part for part in where.json_path)
        return replace(where, json_path=path)

    return [
        replace(
            d,
            message=clean(d.message),
            hint=clean(d.hint) if d.hint else d.hint,
            location=place(d.location),
            related=tuple(place(r) for r in d.related),
        )
        for d in diagnostics
    ]
