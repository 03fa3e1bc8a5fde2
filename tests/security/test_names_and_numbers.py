"""Values that become Python names, bucket or claim names, or IR integers obey their consumer.

Each attack replaces one line of the bundled churn spec; validation must fail with one located
SPEC diagnostic on that line that says why.
"""

from __future__ import annotations

import ast
import builtins
import keyword
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from compiler.api import validate
from compiler.model.names import PIPELINE_NAMES, python_safe_name

BASE = Path("specs/churn-classifier.yaml")

# (old line text, new line text, words the message must hold)
ATTACKS: dict[str, tuple[str, str, str]] = {
    "name class": ("  name: churn-classifier", "  name: class", "Python keyword"),
    "name lambda": ("  name: churn-classifier", "  name: lambda", "Python keyword"),
    "name import": ("  name: churn-classifier", "  name: import", "Python keyword"),
    "name def": ("  name: churn-classifier", "  name: def", "Python keyword"),
    "name match (soft)": ("  name: churn-classifier", "  name: match", "Python keyword"),
    "name str (builtin)": ("  name: churn-classifier", "  name: str", "would shadow"),
    "name print (builtin)": ("  name: churn-classifier", "  name: print", "would shadow"),
    "name json (import)": ("  name: churn-classifier", "  name: json", "would shadow"),
    "name dsl (import)": ("  name: churn-classifier", "  name: dsl", "would shadow"),
    "name ingest-source": ("  name: churn-classifier", "  name: ingest-source", "would shadow"),
    "column None": ("{name: customer_id,", "{name: None,", "Python keyword"),
    "column True": ("{name: customer_id,", "{name: 'True',", "Python keyword"),
    "column class": ("{name: customer_id,", "{name: class,", "Python keyword"),
    "target lambda": ("  target: churned", "  target: lambda", "Python keyword"),
    "param def": ("max_depth: 3,", "def: 3,", "Python keyword"),
    "param beyond int64": ("n_estimators: 150", "n_estimators: 99999999999999999999", "64 bits"),
    "negative param": ("n_estimators: 150", "n_estimators: -9223372036854775809", "64 bits"),
    "param list item": ("max_depth: 3", "max_depth: [1, 99999999999999999999]", "64 bits"),
    "allowed beyond int64": ("allowed: [0, 1]", "allowed: [0, 18446744073709551616]", "64 bits"),
    "seed": ("seed: 42,", "seed: 99999999999999999999,", "less than or equal"),
    "min_rows": ("min_rows: 500", "min_rows: 99999999999999999999", "less than or equal"),
}

BAD_BUCKETS = {
    "s3://ab/x": "S3 bucket",
    "s3://a..b/x": "S3 bucket",
    "s3://192.168.1.1/x": "S3 bucket",
    "s3://xn--bucket/x": "S3 reserves",
    "s3://sthree-bucket/x": "S3 reserves",
    "s3://bucket-s3alias/x": "S3 reserves",
    "s3://under_score/x": "S3 bucket",
    "s3://" + "a" * 64 + "/x": "S3 bucket",
    "s3://Upper/x": "S3 bucket",
    "s3://-dash/x": "S3 bucket",
    "gs://ab/x": "GCS bucket",
    "gs://" + "a" * 64 + "/x": "GCS bucket",
    "gs://" + ".".join(["a" * 63] * 4) + "/x": "GCS bucket",
    "gs://google-data/x": "goog",
    "gs://goog-data/x": "goog",
    "gs://10.0.0.1/x": "IP address",
    "gs://bucket_/x": "GCS bucket",
}
GOOD_BUCKETS = [
    "s3://acme-ml.data/x",
    "s3://abc/x",
    "gs://a_b-c/x",
    "gs://" + ".".join(["a" * 63, "b" * 63, "c" * 63]) + "/x",
]
BAD_CLAIMS = ["Claim", "claim_x", "-claim", "claim-", "a" * 254, "cl..aim", "x.-y"]


def _diagnostics(tmp_path: Path, old: str, new: str) -> list[tuple[str, int, str]]:
    text = BASE.read_text()
    assert old in text, old
    spec = tmp_path / "spec.yaml"
    spec.write_text(text.replace(old, new, 1))
    (tmp_path / "data").symlink_to(Path("specs/data").resolve(), target_is_directory=True)
    result = validate([spec])
    errors = [d for d in result.diagnostics if d.is_error]
    return [(d.code, d.location.line, d.message) for d in errors]


def _line_of(old: str) -> int:
    lines = BASE.read_text().splitlines()
    return next(i for i, line in enumerate(lines, 1) if old in line)


@pytest.mark.parametrize(("old", "new", "why"), ATTACKS.values(), ids=ATTACKS.keys())
def test_a_value_that_breaks_its_consumer_is_a_located_spec_error(
    tmp_path: Path, old: str, new: str, why: str
) -> None:
    found = _diagnostics(tmp_path, old, new)
    assert len(found) == 1, found
    code, line, message = found[0]
    assert code.startswith("SPEC") and line == _line_of(old)
    assert why in message


def _model_uri(tmp_path: Path, uri: str) -> list[tuple[str, int, str]]:
    return _diagnostics(
        tmp_path, "  model_uri: gs://acme-models/churn-classifier", f"  model_uri: {uri}"
    )


@pytest.mark.parametrize(("uri", "why"), BAD_BUCKETS.items(), ids=list(BAD_BUCKETS))
def test_a_bucket_name_the_provider_refuses_is_refused(tmp_path: Path, uri: str, why: str) -> None:
    found = _model_uri(tmp_path, uri)
    assert len(found) == 1 and found[0][0].startswith("SPEC") and why in found[0][2], found


@pytest.mark.parametrize("uri", GOOD_BUCKETS)
def test_a_bucket_name_the_provider_accepts_is_accepted(tmp_path: Path, uri: str) -> None:
    assert _model_uri(tmp_path, uri) == []


@pytest.mark.parametrize("claim", BAD_CLAIMS)
def test_a_pvc_claim_must_be_a_dns_subdomain(tmp_path: Path, claim: str) -> None:
    found = _model_uri(tmp_path, f"pvc://{claim}/models")
    assert len(found) == 1 and "PersistentVolumeClaim name" in found[0][2], found


def test_a_dns_subdomain_claim_is_accepted(tmp_path: Path) -> None:
    assert _model_uri(tmp_path, "pvc://models.team-a/churn") == []


def test_the_reserved_pipeline_names_cover_every_module_level_binding() -> None:
    """Every name the generated pipeline modules bind, except the pipeline function itself."""
    for module in sorted(Path("tests/golden/kubeflow").glob("*/*.py")):
        tree = ast.parse(module.read_text())
        for node in tree.body:
            for name in _bound(node):
                if name != name.lower() or name.startswith(module.parent.name.replace("-", "_")):
                    continue  # constants and classes cannot collide with a lowercase DNS label
                assert name in PIPELINE_NAMES or name in dir(builtins), (module, name)


def _bound(node: ast.stmt) -> list[str]:
    if isinstance(node, ast.Import | ast.ImportFrom):
        return [(a.asname or a.name).split(".")[0] for a in node.names]
    if isinstance(node, ast.FunctionDef | ast.ClassDef):
        return [node.name]
    if isinstance(node, ast.Assign):
        return [t.id for t in node.targets if isinstance(t, ast.Name)]
    return []


@given(st.from_regex(r"[a-z]([-a-z0-9]{0,20}[a-z0-9])?", fullmatch=True))
def test_an_accepted_name_is_a_fresh_python_identifier(name: str) -> None:
    try:
        python_safe_name(name)
    except ValueError:
        return
    ident = name.replace("-", "_")
    assert ident.isidentifier()
    assert not keyword.iskeyword(ident) and not keyword.issoftkeyword(ident)
    assert ident not in dir(builtins) and ident not in PIPELINE_NAMES
