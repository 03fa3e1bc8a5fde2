"""Attack class: a credential committed in a spec or platform.yaml (SEC001).

The corpus is data: each case is a credential, where it is written, and the exact diagnostic it
must produce. Every value is made up here, from a seeded generator, in the issuer's format.
"""

from __future__ import annotations

import base64
import json
import random
import re
import string
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from unittest.mock import ANY

import pytest
from detect_secrets.plugins.base import RegexBasedDetector
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from compiler.api import validate
from compiler.credentials import (
    _may_exceed,
    detectors,
    find_in_output,
    find_in_text,
    safe_repr,
)
from compiler.diagnostics import Diagnostic
from compiler.platform import load_platform
from tests.conftest import REPO

_RANDOM = random.Random(20261201)
ALNUM = string.ascii_letters + string.digits
B64 = ALNUM + "+/"
HEX = "0123456789abcdef"


def rand(length: int, alphabet: str = ALNUM) -> str:
    return "".join(_RANDOM.choice(alphabet) for _ in range(length))


def b64url(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


SPEC = """\
apiVersion: specops/v1
kind: MLPipeline
metadata:
  name: leak
  team: core
  labels: {tier: gold}
  description: Scores churn.
data:
  sources:
    - name: events
      uri: gs://acme-data/events.csv
      format: csv
      version: v1
  schema: {columns: [{name: label, type: int}, {name: x, type: float}]}
  target: label
model:
  framework: sklearn
  task: classification
  estimator: sklearn.linear_model.LogisticRegression
  params:
    C: 1.0
deploy:
  model_uri: gs://acme-models/leak
  argocd: {repo_url: "https://github.com/acme/ml-gitops.git", project: ml}
  environments: [{name: dev, namespace: dev, model_version: v1}]
"""
PLATFORM = """\
apiVersion: specops/v1
kind: Platform
metadata:
  name: acme
  description: The Acme platform.
defaults:
  labels: {managed-by: specops}
  runbook_base_url: https://runbooks.acme.io/ml
"""
# place -> (the line it replaces, the line with {value}/{key}, what the JSON path ends with)
PLACES = {
    "param": ("    C: 1.0", "    note: {value}", ("model", "params", "note")),
    "param-key": ("    C: 1.0", "    {key}: 1", ("model", "params", "{key}")),
    "param-named-password": (
        "    C: 1.0",
        "    db_password: {value}",
        ("model", "params", "db_password"),
    ),
    "label": (
        "  labels: {tier: gold}",
        "  labels: {tier: {value}}",
        ("metadata", "labels", "tier"),
    ),
    "data-uri": (
        "      uri: gs://acme-data/events.csv",
        "      uri: {value}",
        ("data", "sources", 0, "uri"),
    ),
    "description": (
        "  description: Scores churn.",
        "  description: {value}",
        ("metadata", "description"),
    ),
    "platform-label": (
        "  labels: {managed-by: specops}",
        "  labels: {managed-by: specops, note: {value}}",
        ("defaults", "labels", "note"),
    ),
    "platform-url": (
        "  runbook_base_url: https://runbooks.acme.io/ml",
        "  runbook_base_url: {value}",
        ("defaults", "runbook_base_url"),
    ),
}


@dataclass(frozen=True)
class Leak:
    name: str
    value: str
    place: str
    kind: str  # the detector's name in the message
    shown: str | None = None  # the redacted prefix the message may show
    also: tuple[str, ...] = ()  # codes the model reports at the same place
    secret: str = ""  # what must never be echoed (default: the whole value)
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def hidden(self) -> str:
        return self.secret or self.value


AWS_SECRET = rand(40, B64)
HF = "hf_" + rand(34, string.ascii_letters)
JWT = ".".join(
    [b64url('{"alg":"HS256","typ":"JWT"}'), b64url('{"sub":"svc-train"}'), rand(43, ALNUM)]
)
PRIVATE_KEY = f"-----BEGIN RSA PRIVATE KEY-----\n{rand(64, B64)}\n-----END RSA PRIVATE KEY-----"
AZURE = (
    "DefaultEndpointsProtocol=https;AccountName=acmedata;AccountKey="
    f"{rand(86, B64)}==;EndpointSuffix=core.windows.net"
)
LEAKS = [
    Leak(
        "aws-access-key-id",
        "AKIA" + rand(16, string.ascii_uppercase + string.digits),
        "label",
        "AWS Access Key",
        "AKIA…",
    ),
    Leak(
        "aws-secret-key-alone",
        AWS_SECRET,
        "param",
        "Base64 High Entropy String",
    ),
    Leak(
        "aws-secret-key-assigned",
        f"aws_secret_access_key={AWS_SECRET}",
        "param",
        "Secret Keyword",
        secret=AWS_SECRET,
    ),
    Leak("github-classic", "ghp_" + rand(36), "param-key", "GitHub Token", "ghp_…"),
    Leak(
        "github-fine-grained",
        f"github_pat_{rand(22)}_{rand(59)}",
        "param",
        "GitHub Fine-grained Token",
        "gith…",
    ),
    Leak("gitlab", "glpat-" + rand(20), "label", "GitLab Token", "glpa…"),
    Leak(
        "postgres-uri",
        "postgres://u:p4ss-w0rd@db.internal/prod",
        "data-uri",
        "Basic Auth Credentials",
        also=("SPEC105",),
        secret="p4ss-w0rd",
    ),
    Leak(
        "https-uri",
        "https://u:p4ss-w0rd@data.example.com/x.csv",
        "data-uri",
        "Basic Auth Credentials",
        also=("SPEC105",),
        secret="p4ss-w0rd",
    ),
    Leak(
        "password-assignment",
        "--password=Tr0ub4dor-horse",
        "param",
        "Secret Keyword",
        secret="Tr0ub4dor-horse",
    ),
    Leak(
        "string-under-a-password-key",
        "correct-horse-battery",
        "param-named-password",
        "Secret Keyword",
    ),
    Leak("openai-project", "sk-proj-" + rand(48), "param", "OpenAI Project Key", "sk-p…"),
    Leak("stripe", "sk_live_" + rand(24), "param-key", "Stripe Access Key", "sk_l…"),
    Leak("google", "AIza" + rand(35), "param", "Google API Key", "AIza…"),
    Leak(
        "slack-token",
        f"xoxb-{rand(12, string.digits)}-{rand(13, string.digits)}-"
        f"{rand(24, string.ascii_lowercase + string.digits)}",
        "param",
        "Slack Token",
        "xoxb…",
    ),
    Leak(
        "slack-webhook",
        f"https://hooks.slack.com/services/T{rand(8, string.ascii_uppercase)}"
        f"/B{rand(8, string.ascii_uppercase)}/{rand(24)}",
        "param",
        "Slack Token",
        "http…",
    ),
    Leak(
        "azure-connection-string",
        AZURE,
        "param",
        "Azure Storage Account access key",
        "Acco…",
        secret=AZURE.split("AccountKey=")[1].split(";")[0],
    ),
    Leak("hugging-face", HF, "label", "Hugging Face Token", HF[:4] + "…"),
    Leak("pypi", "pypi-AgEIcHlwaS5vcmc" + rand(80), "param", "PyPI Token", "pypi…"),
    Leak("npm", "npm_" + rand(36), "param-key", "npm Access Token", "npm_…"),
    Leak(
        "private-key",
        PRIVATE_KEY,
        "description",
        "Private Key",
        "BEGI…",
        also=("SPEC105",),
        secret=PRIVATE_KEY.splitlines()[1],
    ),
    Leak("jwt", JWT, "param", "JSON Web Token", JWT[:4] + "…"),
    Leak("platform-github", "ghp_" + rand(36), "platform-label", "GitHub Token", "ghp_…"),
    Leak(
        "platform-uri",
        "https://admin:Tr0ub4dor@runbooks.acme.io/ml",
        "platform-url",
        "Basic Auth Credentials",
        also=("SPEC105",),
        secret="Tr0ub4dor",
    ),
]


def write_case(tmp_path: Path, leak: Leak) -> tuple[Path, tuple[int, int, tuple[object, ...]]]:
    """The spec or platform file with the leak in place, and where the leak is in it."""
    old, new, json_path = PLACES[leak.place]
    as_key = "{key}" in new
    scalar = leak.value if as_key else json.dumps(leak.value)
    line = new.replace("{key}" if as_key else "{value}", scalar)
    platform = leak.place.startswith("platform")
    template = PLATFORM if platform else SPEC
    assert old in template
    text = template.replace(old, line)
    path = tmp_path / ("platform.yaml" if platform else "leak.yaml")
    path.write_text(text, encoding="utf-8")
    where = (
        text.splitlines().index(line) + 1,
        line.index(scalar) + 1,
        tuple(leak.value if item == "{key}" else item for item in json_path),
    )
    return path, where


def diagnostics_of(path: Path) -> list[Diagnostic]:
    """What validating the case finds, less the catalog's refusal of the carrier param names
    (`note`, `db_password`, …: no estimator declares them; tests/security/test_estimators.py
    covers that refusal)."""
    if path.name == "platform.yaml":
        return load_platform(path)[1]
    return [d for d in validate([path]).diagnostics if not _undeclared_param(d)]


def _undeclared_param(diagnostic: Diagnostic) -> bool:
    return diagnostic.code == "CHK006" and "is not a constructor parameter" in diagnostic.message


def expected_message(leak: Leak) -> str:
    where = "platform file" if leak.place.startswith("platform") else "spec"
    shown = f" '{leak.shown}'" if leak.shown else ""
    return f"this looks like a credential written into the {where}: {leak.kind}{shown}"


@pytest.mark.parametrize("leak", LEAKS, ids=lambda leak: leak.name)
def test_a_credential_is_refused_where_it_is_written(leak: Leak, tmp_path: Path) -> None:
    path, (line, column, json_path) = write_case(tmp_path, leak)
    found = diagnostics_of(path)
    refused = [
        (d.location.line, d.location.column, d.location.json_path, d.message)
        for d in found
        if d.code == "SEC001"
    ]
    # a key that is the credential shows redacted in the JSON path too (no diagnostic echoes it)
    shown_path = tuple(
        ANY if isinstance(part, str) and leak.hidden in part else part for part in json_path
    )
    assert refused == [(line, column, shown_path, expected_message(leak))]
    assert all(Path(d.location.file).name == path.name for d in found)
    assert sorted(d.code for d in found if d.code != "SEC001") == sorted(leak.also)


@pytest.mark.parametrize("leak", LEAKS, ids=lambda leak: leak.name)
def test_no_diagnostic_echoes_the_credential(leak: Leak, tmp_path: Path) -> None:
    path, _ = write_case(tmp_path, leak)
    everything = (
        load_platform(path)[1] if path.name == "platform.yaml" else validate([path]).diagnostics
    )
    for diagnostic in everything:
        places = [diagnostic.location, *diagnostic.related]
        shown = "\n".join(
            [diagnostic.message, diagnostic.hint or "", *(p.path_text for p in places)]
        )
        assert leak.hidden not in shown
        assert leak.hidden[4:] not in shown  # not even past a prefix


# --- what must not trip it -------------------------------------------------------------------

DIGEST = "sha256:" + rand(64, HEX)
BENIGN = {
    "sha256-digest-field": ("      version: v1", f"      sha256: {DIGEST}"),
    "sha256-digest-param": ("    C: 1.0", f'    checksum: "{DIGEST}"'),
    "git-revision": ("\ndata:\n", f"\ncode:\n  revision: {rand(40, HEX)}\ndata:\n"),
    "long-version-label": (
        "      version: v1",
        "      version: 2026.11.01-weekly_snapshot-store-v3",
    ),
    # A number is not a credential, whatever its name; a string under such a name would be.
    "password-min-length-param": ("    C: 1.0", "    password_min_length: 8"),
    "prose-about-passwords": (
        "  description: Scores churn.",
        "  description: "
        + json.dumps(
            "Scores login risk. The password: field of each event is never read, "
            "and API keys or secret tokens are out of scope."
        ),
    ),
    "secret-reference": (
        "    C: 1.0",
        "    C: 1.0\n  secrets: [{env: DB_PASSWORD, secret: db-password, key: password}]",
    ),
}


ORDINARY = [
    "gs://acme-ml-data/churn/2026/11/01/customers_snapshot_v3.parquet",
    "s3://acme-warehouse/sales/daily/region=emea/part-0001.parquet",
    "https://github.com/acme/ml-platform-pipelines/tree/main/components/feature_store",
    "registry.acme.io/ml/training-images/sklearn-gpu:2026.11.01-cuda12.4-py3.11",
    f"ghcr.io/acme/train@{DIGEST}",
    "sklearn.ensemble.HistGradientBoostingClassifier",
    "nvidia.com/gpu.product=NVIDIA-A100-SXM4-80GB",
    "team-growth-analytics-churn-prediction-v2",
    "${{ secrets.KFP_HOST }}",
    "password_min_length",
]


@pytest.mark.parametrize("text", ORDINARY)
def test_ordinary_values_are_not_credentials(text: str) -> None:
    assert find_in_text(text) == []


@pytest.mark.parametrize("change", BENIGN.values(), ids=list(BENIGN))
def test_benign_values_validate_cleanly(change: tuple[str, str], tmp_path: Path) -> None:
    old, new = change
    assert old in SPEC
    path = tmp_path / "benign.yaml"
    path.write_text(SPEC.replace(old, new), encoding="utf-8")
    assert diagnostics_of(path) == []


def test_platform_references_and_digests_are_not_credentials(tmp_path: Path) -> None:
    path = tmp_path / "platform.yaml"
    path.write_text(
        PLATFORM
        + f'  images: {{kfp_base: "python:3.11-slim@{DIGEST}"}}\n'
        + "  kfp: {host_secret: KFP_HOST}\n",
        encoding="utf-8",
    )
    assert load_platform(path)[1] == []


BUNDLED_SPECS = [
    REPO / "specs",
    REPO / "tests" / "data" / "valid",
    REPO / "tests" / "platform_fixtures" / "specs",
    *sorted((REPO / "tests" / "platform_fixtures" / "policies").glob("*.yaml")),
]
BUNDLED_PLATFORMS = [
    REPO / "specs" / "platform" / "platform.yaml",
    REPO / "tests" / "platform_fixtures" / "platform.yaml",
]


def test_no_bundled_spec_or_platform_looks_like_a_credential() -> None:
    found = validate(BUNDLED_SPECS).diagnostics
    for platform in BUNDLED_PLATFORMS:
        found += load_platform(platform)[1]
    assert [d for d in found if d.code == "SEC001"] == []
    assert len(validate(BUNDLED_SPECS).specs) > 10  # the scan saw them all


# --- generated output ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    out = tmp_path_factory.mktemp("out")
    result = subprocess.run(
        [sys.executable, "-m", "compiler", "compile", "specs/", "--out", str(out)],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return {
        path.relative_to(out).as_posix(): path.read_text(encoding="utf-8")
        for path in sorted(out.rglob("*"))
        if path.is_file()
    }


def test_no_generated_file_holds_a_credential(generated: dict[str, str]) -> None:
    targets = {name.split("/")[0] for name in generated}
    assert {".github", "argocd", "deploy", "kubeflow", "model-cards"} <= targets
    found = {name: find_in_output(text) for name, text in generated.items()}
    assert {name: hits for name, hits in found.items() if hits} == {}


def test_the_output_scan_would_see_a_credential(generated: dict[str, str]) -> None:
    name, text = next(iter(generated.items()))
    leaked = text + f"\nenv: {{TOKEN: {LEAKS[3].value}}}\n"
    hits = find_in_output(leaked)
    assert {line for line, _ in hits} == {len(leaked.splitlines())}, name
    assert "GitHub Token" in {finding.kind for _, finding in hits}


# --- properties ------------------------------------------------------------------------------

FORMATS = [
    (detector, pattern)
    for detector in detectors().formats
    for pattern in detector.denylist
    if "(?<" not in pattern.pattern  # hypothesis cannot generate from lookbehinds
]


@pytest.mark.parametrize(
    ("detector", "pattern"), FORMATS, ids=lambda x: getattr(x, "secret_type", "")
)
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_the_quick_prefilter_never_hides_what_a_detector_finds(
    detector: RegexBasedDetector, pattern: re.Pattern[str], data: st.DataObject
) -> None:
    text = data.draw(st.from_regex(pattern, fullmatch=True).filter(lambda t: "\n" not in t))
    if any(detector.analyze_string(text)):
        assert any(f.kind == detector.secret_type for f in find_in_text(text))


@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_no_word_skipped_for_its_few_letters_could_pass_an_entropy_limit(
    data: st.DataObject,
) -> None:
    """The entropy scan skips a word of fewer than 2**limit different letters: such a word
    has at most log2(letters) bits, below the limit; a word at or over it is computed."""
    for plugin in detectors().entropy:
        letters = data.draw(st.lists(st.sampled_from(plugin.charset), min_size=1, max_size=64))
        word = "".join(letters)
        if plugin.calculate_shannon_entropy(word) > plugin.entropy_limit:
            assert _may_exceed(len(set(word)), plugin.entropy_limit)


PROSE = "the model scores churn from tenure plan support tickets password secret key token api "
PROSE += "login account rotation weekly field is never read: and, of a an in 30 days."
WORDS = st.sampled_from(PROSE.split(" "))


@settings(max_examples=60, deadline=None)
@given(words=st.lists(WORDS, min_size=1, max_size=40))
def test_ordinary_prose_is_not_a_credential(words: list[str]) -> None:
    assert find_in_text(" ".join(words)) == []


@settings(max_examples=40, deadline=None)
@given(
    token=st.from_regex(r"ghp_[A-Za-z0-9]{36}|hf_[A-Za-z]{34}|npm_[A-Za-z0-9]{36}", fullmatch=True)
)
def test_a_redacted_value_never_holds_the_token(token: str) -> None:
    shown = safe_repr(f"--token {token} --verbose")
    assert token not in shown and token[4:] not in shown
