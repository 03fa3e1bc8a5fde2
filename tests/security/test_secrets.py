"""Attack class: a credential committed in a spec or platform.yaml (SEC001).

The corpus is data: each case is a credential, where it is written, and the exact diagnostic it
must produce. Every value is made up here, from a seeded generator, in the issuer's format.
"""

from __future__ import annotations

import base64
import json
import random
import string
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from compiler.api import validate
from compiler.diagnostics import Diagnostic
from compiler.platform import load_platform

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
  schema: {columns: [{name: label, type: int}]}
  target: label
model:
  framework: sklearn
  task: classification
  estimator: sklearn.linear_model.LogisticRegression
  params:
    C: 1.0
deploy:
  model_uri: gs://acme-models/leak
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
        AWS_SECRET[:4] + "…",
    ),
    Leak(
        "aws-secret-key-assigned",
        f"aws_secret_access_key={AWS_SECRET}",
        "param",
        "Secret Keyword",
        AWS_SECRET[:4] + "…",
        secret=AWS_SECRET,
    ),
    Leak("github-classic", "ghp_" + rand(36), "param-key", "GitHub Token"),
    Leak(
        "github-fine-grained",
        f"github_pat_{rand(22)}_{rand(59)}",
        "param",
        "GitHub Fine-grained Token",
        "gith…",
    ),
    Leak("gitlab", "glpat-" + rand(20), "label", "GitLab Token"),
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
    Leak("platform-github", "ghp_" + rand(36), "platform-label", "GitHub Token"),
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
    if path.name == "platform.yaml":
        return load_platform(path)[1]
    return validate([path]).diagnostics


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
    assert refused == [(line, column, json_path, expected_message(leak))]
    assert all(Path(d.location.file).name == path.name for d in found)
    assert sorted(d.code for d in found if d.code != "SEC001") == sorted(leak.also)


@pytest.mark.parametrize("leak", LEAKS, ids=lambda leak: leak.name)
def test_no_diagnostic_echoes_the_credential(leak: Leak, tmp_path: Path) -> None:
    path, _ = write_case(tmp_path, leak)
    for diagnostic in diagnostics_of(path):
        shown = f"{diagnostic.message}\n{diagnostic.hint or ''}"
        assert leak.hidden not in shown
        assert leak.hidden[4:] not in shown  # not even past a prefix
