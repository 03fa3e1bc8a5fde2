"""Generate many varied, valid specs for benchmarks (deterministic for a given seed)."""

from __future__ import annotations

import random
from pathlib import Path

import yaml

FRAMEWORKS = [
    ("sklearn", "classification", "sklearn.ensemble.RandomForestClassifier"),
    ("sklearn", "regression", "sklearn.ensemble.RandomForestRegressor"),
    ("xgboost", "classification", "xgboost.XGBClassifier"),
    ("lightgbm", "regression", "lightgbm.LGBMRegressor"),
]
METRICS = {"classification": ["roc_auc", "accuracy", "f1"], "regression": ["rmse", "r2", "mae"]}
TYPES = ["int", "float", "string", "bool", "category"]


def make_spec(index: int, rng: random.Random) -> dict[str, object]:
    framework, task, estimator = rng.choice(FRAMEWORKS)
    name = f"model-{index:04d}"
    columns: list[dict[str, object]] = [
        {"name": f"f{c}", "type": rng.choice(TYPES), "nullable": rng.random() < 0.2}
        for c in range(rng.randint(3, 40))
    ]
    if all(column["type"] == "string" for column in columns):  # a model needs a feature
        columns[0]["type"] = "float"  # (CHK022); no random draw, so other specs stay as they were
    for column in columns:
        if column["type"] in ("int", "float") and rng.random() < 0.5:
            column["min"] = 0
        if column["type"] == "category":
            column["allowed"] = [f"v{i}" for i in range(rng.randint(2, 6))]
    target: dict[str, object] = {"name": "target", "type": "float"}
    if task == "classification":  # labels 0..k-1, which xgboost's classifiers need (CHK027)
        target = {"name": "target", "type": "int", "allowed": [0, 1]}
    columns.append(target)
    envs = [
        {
            "name": env,
            "namespace": f"{name}-{env}",
            "model_version": f"v{rng.randint(1, 99)}",
            "replicas": {"min": 1, "max": rng.randint(1, 10)},
        }
        for env in ["dev", "staging", "prod"][: rng.randint(1, 3)]
    ]
    if len(envs) > 1 and rng.random() < 0.5:
        envs[-1]["canary"] = {"traffic_percent": rng.randint(1, 50)}
        envs[-1]["approval"] = "required"
    gates = [
        {"name": m, ("min" if m not in ("rmse", "mae") else "max"): round(rng.random(), 2)}
        for m in rng.sample(METRICS[task], rng.randint(1, 3))
    ]
    return {
        "apiVersion": "specops/v1",
        "kind": "MLPipeline",
        "metadata": {
            "name": name,
            "team": rng.choice(["growth", "search", "risk"]),
            "owners": [f"team{index}@example.com"],
            "description": f"Benchmark model {index} with unicode ✓ and 'quotes'",
        },
        "data": {
            "sources": [
                {
                    "name": f"src{s}",
                    "uri": f"gs://bench-data/{name}/part{s}.parquet",
                    "format": "parquet",
                    "version": f"2026-11-{s + 1:02d}",
                }
                for s in range(rng.randint(1, 4))
            ],
            "schema": {"columns": columns, "min_rows": 100},
            "target": "target",
            "split": {"test_fraction": 0.2, "seed": index},
        },
        "model": {
            "framework": framework,
            "task": task,
            "estimator": estimator,
            "params": {"n_estimators": rng.randint(10, 500), "random_state": index},
            "resources": {"cpu": str(rng.randint(1, 8)), "memory": f"{rng.randint(1, 32)}Gi"},
            "retries": rng.randint(0, 3),
            "timeout": f"{rng.randint(1, 120)}m",
        },
        "validation": {"metrics": gates, "latency": {"p95_ms": 50, "p99_ms": 100}},
        "deploy": {
            "model_uri": f"gs://bench-models/{name}",
            "argocd": {"repo_url": "https://github.com/acme/ml-gitops.git", "project": "bench"},
            "environments": envs,
        },
        "monitoring": {
            "drift": {"schedule": "0 * * * *", "threshold": 0.2},
            "alerts": {
                "latency_p95_ms": 80,
                "error_rate": 0.01,
                "runbook_url": "https://runbooks.acme.io/ml",
            },
        },
        "schedule": {"retrain": f"{rng.randint(0, 59)} {rng.randint(0, 23)} * * 1"},
    }


def write_specs(directory: Path, count: int, seed: int = 1) -> list[Path]:
    rng = random.Random(seed)
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for index in range(count):
        path = directory / f"model-{index:04d}.yaml"
        text = yaml.safe_dump(make_spec(index, rng), sort_keys=False, allow_unicode=True)
        path.write_text(text, encoding="utf-8")
        paths.append(path)
    return paths
