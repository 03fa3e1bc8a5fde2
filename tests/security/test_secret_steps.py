"""Attack class: a credential reaching a step the spec did not give it to (or missing the step
that reads the bucket). Each case is a `used_by` declaration and the exact set of steps whose
compiled KFP PlatformSpec carries the variable; compiled with kfp, read per executor."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from compiler.api import CompileOptions, compile_specs, validate
from tests.conftest import REPO

BASE = REPO / "specs" / "demand-forecast.yaml"
INGEST = {"exec-ingest-source", "exec-ingest-source-2"}
TRAINING = {
    "exec-train-model",
    "exec-evaluate-regressor",
    "exec-check-metric",
    "exec-check-metric-2",
    "exec-check-latency",
}
# (env var, used_by as written or None for omitted, pipeline executors, monitoring executors)
CASES: list[tuple[str, list[str] | None, set[str], set[str]]] = [
    ("AWS_ACCESS_KEY_ID", None, INGEST | TRAINING | {"exec-publish-model"},
     {"exec-ingest-source", "exec-detect-drift"}),
    ("DATA_TOKEN", ["data"], INGEST, {"exec-ingest-source"}),
    ("STORE_TOKEN", ["storage"], {"exec-publish-model"}, {"exec-detect-drift"}),
    ("WANDB_API_KEY", ["training"], TRAINING, set()),
    ("BOTH", ["storage", "training"], TRAINING | {"exec-publish-model"}, {"exec-detect-drift"}),
]  # fmt: skip


def _spec(tmp: Path) -> Path:
    data = yaml.safe_load(BASE.read_text(encoding="utf-8"))
    secrets = []
    for env, used_by, _, _ in CASES:
        entry: dict[str, Any] = {"env": env, "secret": env.lower().replace("_", "-"), "key": "k"}
        if used_by is not None:
            entry["used_by"] = used_by
        secrets.append(entry)
    data["model"]["secrets"] = secrets
    for source in data["data"]["sources"]:  # remote copies: no local data needed
        source.pop("sha256", None)
        source["uri"] = f"gs://acme-warehouse/{source['name']}.csv"
        source["format"], source["version"] = "csv", "v1"
    path = tmp / "demand-forecast.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def platform_specs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, set[str]]]:
    """kubeflow file -> executor -> the env vars its PlatformSpec fills from Secrets."""
    tmp = tmp_path_factory.mktemp("secret-steps")
    spec = _spec(tmp)
    result = compile_specs(CompileOptions(paths=[spec], out_dir=tmp / "out", targets=["kubeflow"]))
    assert result.ok, [f"{d.code} {d.location}: {d.message}" for d in result.diagnostics]
    found: dict[str, dict[str, set[str]]] = {}
    for name in ("pipeline", "monitoring"):
        ir = tmp / "out" / "kubeflow" / "demand-forecast" / f"{name}.yaml"
        docs = [d for d in yaml.safe_load_all(ir.read_text(encoding="utf-8")) if d]
        all_executors = docs[0]["deploymentSpec"]["executors"]
        platform = docs[1]["platforms"]["kubernetes"]["deploymentSpec"]["executors"]
        found[name] = {
            executor: {
                pair["envVar"]
                for entry in platform.get(executor, {}).get("secretAsEnv", [])
                for pair in entry["keyToEnv"]
            }
            for executor in all_executors
        }
    return found


@pytest.mark.parametrize(("env", "used_by", "pipeline", "monitoring"), CASES)
def test_a_secret_reaches_exactly_the_steps_of_its_uses(
    platform_specs: dict[str, dict[str, set[str]]],
    env: str,
    used_by: list[str] | None,
    pipeline: set[str],
    monitoring: set[str],
) -> None:
    for name, expected in (("pipeline", pipeline), ("monitoring", monitoring)):
        executors = platform_specs[name]
        assert expected <= set(executors), (name, sorted(executors))
        assert {e for e, envs in executors.items() if env in envs} == expected, (name, used_by)


@pytest.mark.parametrize(
    ("used_by", "code", "message", "where"),
    [
        ([], "SPEC106", "List should have at least 1 item after validation, not 0", ("used_by",)),
        (["data", "data"], "SPEC105", "used_by lists data twice", ("used_by",)),
        (["serving"], "SPEC104", "'serving': must be 'data', 'storage' or 'training'",
         ("used_by", 0)),
    ],
)  # fmt: skip
def test_a_malformed_used_by_is_a_located_error(
    tmp_path: Path, used_by: list[str], code: str, message: str, where: tuple[str | int, ...]
) -> None:
    data = yaml.safe_load(BASE.read_text(encoding="utf-8"))
    data["model"]["secrets"] = [{"env": "X", "secret": "x", "key": "k", "used_by": used_by}]
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    problems = [d for d in validate([path]).diagnostics if d.severity.value == "error"]
    assert [(d.code, d.message) for d in problems] == [(code, message)]
    assert problems[0].location.json_path == ("model", "secrets", 0, *where)
    assert problems[0].location.line > 0
