"""Attack: the fields batch scoring and the model registry added (batch input and output URIs,
the tracking URI, the registered model name) reach Python source, KFP parameters, CI
variables and the model card. A KFP placeholder, a GitHub expression or a bidi override is
refused at the value; markup in an accepted URI reaches the card as text and the generated
files as the same literal."""

from __future__ import annotations

from typing import Any

import pytest

from tests.security._render import example, model_problems, render
from tests.security.test_markdown import _assert_inert

PLACEHOLDER = "{{channel:task=;name=model_root;type=String;}}"
REFUSED = [PLACEHOLDER, "{{$}}", "${{ github.token }}", "a\u202eb"]
BATCH_INPUT = ("deploy", "environments", 2, "batch", "input", "uri")
BATCH_OUTPUT = ("deploy", "environments", 2, "batch", "output", "uri")
TRACKING = ("registry", "tracking_uri")


def _hostile(input_uri: str, output_uri: str, tracking_uri: str) -> dict[str, Any]:
    data = example("churn-classifier")
    data["deploy"]["environments"].append(
        {
            "name": "nightly",
            "namespace": "ml-nightly",
            "model_version": "v12",
            "serve": False,
            "batch": {
                "schedule": "0 2 * * *",
                "input": {"uri": input_uri, "format": "parquet"},
                "output": {"uri": output_uri},
            },
        }
    )
    data["registry"] = {"kind": "mlflow", "tracking_uri": tracking_uri}
    return data


def _with(path: tuple[str | int, ...], value: str) -> dict[str, Any]:
    uris = {
        BATCH_INPUT: "gs://acme-scoring/in.parquet",
        BATCH_OUTPUT: "gs://acme-scoring/out",
        TRACKING: "https://mlflow.acme.io",
    }
    uris[path] = f"{uris[path]}/{value}"
    return _hostile(uris[BATCH_INPUT], uris[BATCH_OUTPUT], uris[TRACKING])


@pytest.mark.parametrize("value", REFUSED)
@pytest.mark.parametrize("path", [BATCH_INPUT, BATCH_OUTPUT, TRACKING])
def test_a_refused_shape_is_an_error_at_that_value(path: tuple[str | int, ...], value: str) -> None:
    errors = [p for p in model_problems(_with(path, value)) if p.is_error]
    assert errors and {p.location.json_path for p in errors} == {path}


def test_a_registered_model_name_is_a_strict_pattern() -> None:
    data = _hostile(
        "gs://acme-scoring/in.parquet", "gs://acme-scoring/out", "https://mlflow.acme.io"
    )
    data["registry"]["model_name"] = "churn'; import os #"
    errors = [p for p in model_problems(data) if p.is_error]
    assert [p.location.json_path for p in errors] == [("registry", "model_name")]


MARKUP = "[click](https://evil.example/steal)<b>x</b>*y*"


def test_markup_in_accepted_uris_reaches_the_card_as_text() -> None:
    uri = f"gs://acme-scoring/{MARKUP}"
    data = _hostile(f"{uri}.parquet", f"{uri}-out", f"https://mlflow.acme.io/{MARKUP}")
    files = render(data, ["model-card", "kubeflow", "ci"])
    card = files["model-cards/churn-classifier.md"]
    for value in (f"{uri}.parquet (parquet)", f"https://mlflow.acme.io/{MARKUP}"):
        _assert_inert(card, value)
    batch = files["kubeflow/churn-classifier/batch-nightly.py"]
    assert repr(f"{uri}.parquet") in batch and repr(f"{uri}-out") in batch
