"""`specops run --local`: the bundled example trains, gates and publishes for real (kfp.local)."""

from __future__ import annotations

import contextlib
import hashlib
import http.server
import io
import json
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import pandas as pd
import pytest
import yaml

from compiler.api import CompileOptions, compile_specs
from compiler.run import LocalOutcome, RunOptions, RunResult, execute_local, run_pipeline

REPO = Path(__file__).resolve().parents[1]
SPECS = REPO / "specs"
CHURN = SPECS / "churn-classifier.yaml"


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", "from compiler.cli import main; main()", *args],
        capture_output=True, text=True, cwd=REPO, timeout=600,
    )  # fmt: skip


def _variant(folder: Path, change: Any) -> Path:
    """A copy of the churn spec (with its data) changed by `change(spec_dict)`."""
    spec = yaml.safe_load(CHURN.read_text(encoding="utf-8"))
    change(spec)
    (folder / "data").mkdir(parents=True)
    (folder / "data" / "churn.csv").write_bytes((SPECS / "data" / "churn.csv").read_bytes())
    path = folder / "churn-variant.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def churn_run(tmp_path_factory: pytest.TempPathFactory) -> RunResult:
    out = tmp_path_factory.mktemp("run")
    return run_pipeline(RunOptions(CHURN, out_dir=out, echo=io.StringIO()))


def test_churn_trains_passes_its_gates_and_publishes(churn_run: RunResult) -> None:
    assert churn_run.ok, (churn_run.failed_task, churn_run.failures, churn_run.diagnostics)
    assert churn_run.out_dir is not None
    published = churn_run.out_dir / "models" / "v12"
    assert churn_run.published == str(published)
    files = sorted(p.name for p in published.iterdir())
    assert files == ["explanation.json", "metadata.json", "model.joblib", "reference.json"]


def test_published_metadata_makes_the_model_reproducible(churn_run: RunResult) -> None:
    assert churn_run.published is not None
    metadata = json.loads(Path(churn_run.published, "metadata.json").read_text(encoding="utf-8"))
    assert metadata["spec"] == "churn-classifier"
    assert metadata["spec_sha256"] == hashlib.sha256(CHURN.read_bytes()).hexdigest()
    assert metadata["code_revision"] == "3f9c2a1e7b4d5c6a8e9f0a1b2c3d4e5f6a7b8c9d"
    data_hash = hashlib.sha256((SPECS / "data" / "churn.csv").read_bytes()).hexdigest()
    [source] = metadata["data"]
    assert source["version"] == "2026-11-01" and source["sha256"] == f"sha256:{data_hash}"
    assert source["rows"] == 600
    assert metadata["metrics"]["roc_auc"] >= 0.7 and metadata["metrics"]["accuracy"] >= 0.6
    assert metadata["model"]["params"]["n_estimators"] == 150  # an int, as the spec says


def test_published_model_predicts(churn_run: RunResult) -> None:
    assert churn_run.published is not None
    model = joblib.load(Path(churn_run.published, "model.joblib"))
    rows = pd.read_csv(SPECS / "data" / "churn.csv").head(5)
    assert set(model.predict(rows[list(model.feature_names_in_)])) <= {0, 1}


def test_run_writes_the_compiled_pipeline_it_ran(churn_run: RunResult) -> None:
    assert churn_run.out_dir is not None
    assert (churn_run.out_dir / "pipeline.py").is_file()
    assert (churn_run.out_dir / "pipeline.yaml").read_text(encoding="utf-8").count(
        "sdkVersion"
    ) == 1


def _impossible_gate(spec: dict[str, Any]) -> None:
    spec["validation"]["metrics"][0]["min"] = 0.999


def test_an_impossible_gate_fails_before_publishing(tmp_path: Path) -> None:
    spec = _variant(tmp_path / "spec", _impossible_gate)
    out = tmp_path / "run"
    done = _cli("run", str(spec), "--local", "--out-dir", str(out))
    assert done.returncode == 1, done.stderr[-2000:]
    assert "gate roc_auc" in done.stdout and "below the minimum 0.999" in done.stdout
    assert "nothing was published" in done.stdout
    assert not (out / "models").exists()
    # Redirected, kfp's task logs carry no colour; their first line says what runs, and where.
    assert "\x1b[" not in done.stderr + done.stdout
    header = next(line for line in done.stderr.splitlines() if line.startswith("specops run:"))
    assert str(spec.name) in header and "kfp.local" in header and str(out) in header
    assert done.stderr.index(header) < done.stderr.index("validate-data")


def _broken_rows(folder: Path) -> None:
    """Data that breaks one rule per column, and too few rows."""
    rows = pd.read_csv(SPECS / "data" / "churn.csv").head(100).astype(object)
    rows.loc[0, "tenure_months"] = -5  # min
    rows.loc[1, "tenure_months"] = 500  # max
    rows.loc[2, "monthly_charges"] = "lots"  # type
    rows.loc[3, "plan"] = None  # nullable, null_fraction
    rows.loc[4, "plan"] = "gold"  # allowed
    rows.loc[5, "customer_id"] = rows.loc[6, "customer_id"]  # unique
    rows = rows.drop(columns=["support_tickets"])  # missing column
    rows.to_csv(folder / "data" / "churn.csv", index=False)


def test_failing_data_checks_name_column_and_rule(tmp_path: Path) -> None:
    spec = _variant(tmp_path / "spec", lambda s: None)
    _broken_rows(tmp_path / "spec")
    result = run_pipeline(RunOptions(spec, out_dir=tmp_path / "run", echo=io.StringIO()))
    assert not result.ok and result.failed_task == "validate-data"
    expected = [
        ("'tenure_months'", "min 0"),
        ("'tenure_months'", "max 120"),
        ("'monthly_charges'", "type float"),
        ("'plan'", "nullable is false"),
        ("'plan'", "allowed"),
        ("'plan'", "null_fraction"),
        ("'customer_id'", "unique"),
        ("'support_tickets'", "missing"),
        ("min_rows", "100 row(s)"),
        ("row_count", "100 row(s)"),
    ]
    for column, rule in expected:
        assert any(column in f and rule in f for f in result.failures), (column, rule)
    assert result.published is None


def test_custom_framework_says_it_cannot_run_locally() -> None:
    done = _cli("run", "specs/vision-defects.yaml", "--local")
    assert done.returncode == 1
    assert "container" in done.stderr and "Kubeflow cluster" in done.stderr
    assert "Traceback" not in done.stderr


def test_run_needs_local() -> None:
    done = _cli("run", "specs/churn-classifier.yaml")
    assert done.returncode == 2 and "--local" in done.stderr


def test_an_invalid_spec_is_reported_not_run(tmp_path: Path) -> None:
    spec = _variant(tmp_path / "spec", lambda s: s["data"].update(target="nope"))
    done = _cli("run", str(spec), "--local", "--out-dir", str(tmp_path / "run"))
    assert done.returncode == 1 and "CHK001" in done.stderr
    assert not (tmp_path / "run").exists()


@pytest.fixture(scope="module")
def churn_compiled(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The churn spec's Kubeflow and serving output (the drift pipeline and its alert rule)."""
    out = tmp_path_factory.mktemp("compiled")
    options = CompileOptions(paths=[CHURN], out_dir=out, targets=["kubeflow", "serving"])
    assert compile_specs(options).ok
    return out


@pytest.fixture(scope="module")
def monitoring_ir(churn_compiled: Path) -> str:
    path = churn_compiled / "kubeflow" / "churn-classifier" / "monitoring.yaml"
    return path.read_text(encoding="utf-8")


def _monitor(
    ir: str, run: RunResult, current: str, root: Path, pushgateway: str = "", log: Any = None
) -> LocalOutcome:
    assert run.published is not None
    arguments = {
        "data_root": str(SPECS),
        "current_uri": current,
        "reference_uri": str(Path(run.published, "reference.json")),
        "pushgateway_url": pushgateway,
    }
    return execute_local(ir, arguments, root, log if log is not None else io.StringIO())


def _drifted(folder: Path) -> str:
    rows = pd.read_csv(SPECS / "data" / "churn.csv")
    rows["monthly_charges"] *= 1.8
    rows["plan"] = "enterprise"
    rows.to_csv(folder / "recent.csv", index=False)
    return f"file://{folder / 'recent.csv'}"


@contextlib.contextmanager
def _pushgateway(status: int = 200) -> Iterator[tuple[str, list[dict[str, str]]]]:
    """A stand-in Pushgateway on 127.0.0.1 that records what is pushed and answers `status`.

    Bounded: it keeps at most 4 requests of at most 64 KiB each and stops by itself after the
    fourth request or 5 minutes, whichever comes first (or when the block ends).
    """
    pushes: list[dict[str, str]] = []
    stop = threading.Event()

    class Recorder(http.server.BaseHTTPRequestHandler):
        def do_PUT(self) -> None:
            self._record()

        def do_POST(self) -> None:
            self._record()

        def _record(self) -> None:
            length = min(int(self.headers.get("Content-Length") or 0), 65536)
            body = self.rfile.read(length).decode("utf-8", errors="replace")
            pushes.append({"method": self.command, "path": self.path, "body": body,
                           "content_type": self.headers.get("Content-Type", "")})  # fmt: skip
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:  # keep test output quiet
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Recorder)
    server.timeout = 0.2
    deadline = time.monotonic() + 300

    def serve() -> None:
        while len(pushes) < 4 and not stop.is_set() and time.monotonic() < deadline:
            server.handle_request()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", pushes
    finally:
        stop.set()
        thread.join()
        server.server_close()


@pytest.fixture
def _no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    """urllib in the drift step honours *_proxy variables: reach 127.0.0.1 directly."""
    for name in ("no_proxy", "NO_PROXY"):
        monkeypatch.setenv(name, "127.0.0.1,localhost")


def _gauges(body: str) -> dict[str, list[tuple[dict[str, str], float]]]:
    """The pushed body read by the Prometheus client's text-format parser (strict)."""
    from prometheus_client.parser import text_string_to_metric_families

    families = list(text_string_to_metric_families(body))
    assert all(family.type == "gauge" for family in families)
    return {f.name: [(s.labels, s.value) for s in f.samples] for f in families}


DRIFT_GROUP = {"job": "specops-drift", "model": "churn-classifier", "environment": "prod"}
DRIFT_PATH = "/metrics/job/specops-drift/model/churn-classifier/environment/prod"


def test_monitoring_passes_on_data_like_the_training_data(
    monitoring_ir: str, churn_run: RunResult, tmp_path: Path
) -> None:
    log = io.StringIO()
    outcome = _monitor(monitoring_ir, churn_run, "data/churn.csv", tmp_path, log=log)
    assert outcome.failed_task is None, outcome.failures
    assert 0 <= outcome.output < 0.2
    assert "drift scores not pushed: no Pushgateway" in log.getvalue()


def test_monitoring_fails_on_drifted_data(
    monitoring_ir: str, churn_run: RunResult, tmp_path: Path
) -> None:
    outcome = _monitor(monitoring_ir, churn_run, _drifted(tmp_path), tmp_path)
    assert outcome.failed_task == "detect-drift"
    [failure] = outcome.failures
    assert "psi threshold 0.2" in failure and "monthly_charges" in failure and "plan" in failure


@pytest.fixture(scope="module")
def pushed(
    monitoring_ir: str, churn_run: RunResult, tmp_path_factory: pytest.TempPathFactory
) -> tuple[LocalOutcome, list[dict[str, str]]]:
    """A monitoring run on data like the training data, pushing to a recording Pushgateway."""
    with pytest.MonkeyPatch.context() as patch, _pushgateway() as (url, pushes):
        for name in ("no_proxy", "NO_PROXY"):
            patch.setenv(name, "127.0.0.1,localhost")
        root = tmp_path_factory.mktemp("monitor")
        outcome = _monitor(monitoring_ir, churn_run, "data/churn.csv", root, pushgateway=url)
    return outcome, pushes


def test_monitoring_pushes_score_and_threshold_in_exposition_format(
    pushed: tuple[LocalOutcome, list[dict[str, str]]],
) -> None:
    outcome, pushes = pushed
    assert outcome.failed_task is None, outcome.failures
    [push] = pushes
    assert (push["method"], push["path"]) == ("PUT", DRIFT_PATH)
    assert push["content_type"].startswith("text/plain; version=0.0.4")
    gauges = _gauges(push["body"])
    assert set(gauges) == {
        "specops_drift_score", "specops_drift_threshold", "specops_drift_column_score"
    }  # fmt: skip
    [(labels, score)] = gauges["specops_drift_score"]
    assert labels == {} and score == pytest.approx(outcome.output)
    assert gauges["specops_drift_threshold"] == [({}, 0.2)]
    columns = {labels["column"]: value for labels, value in gauges["specops_drift_column_score"]}
    assert set(columns) == {"tenure_months", "monthly_charges", "plan", "support_tickets"}
    assert max(columns.values()) == pytest.approx(score)


def test_the_drift_alert_selects_exactly_the_pushed_gauges(
    pushed: tuple[LocalOutcome, list[dict[str, str]]], churn_compiled: Path
) -> None:
    import promql_parser

    [push] = pushed[1]
    words = push["path"].removeprefix("/metrics/").split("/")
    grouping = dict(zip(words[::2], words[1::2], strict=True))
    assert grouping == DRIFT_GROUP
    # What Prometheus stores when it scrapes the Pushgateway with honor_labels: true.
    series = [(name, {**labels, **grouping}) for name, samples in _gauges(push["body"]).items()
              for labels, _ in samples]  # fmt: skip
    path = churn_compiled / "deploy" / "prod" / "churn-classifier" / "prometheusrule.yaml"
    rules = yaml.safe_load(path.read_text(encoding="utf-8"))["spec"]["groups"][0]["rules"]
    [rule] = [r for r in rules if r["alert"] == "ModelDriftDetected"]
    expr = promql_parser.parse(rule["expr"])
    assert isinstance(expr, promql_parser.BinaryExpr) and str(expr.op) == ">"
    assert expr.modifier is not None and expr.modifier.matching is not None
    assert sorted(expr.modifier.matching.labels) == sorted(grouping)
    lhs, rhs = expr.lhs, expr.rhs
    assert isinstance(lhs, promql_parser.VectorSelector)
    assert isinstance(rhs, promql_parser.VectorSelector)
    selectors = [lhs, rhs]
    assert [s.name for s in selectors] == ["specops_drift_score", "specops_drift_threshold"]
    for selector in selectors:
        matchers = selector.matchers.matchers
        assert all(str(m.op) == str(promql_parser.MatchOp.Equal) for m in matchers)
        wanted = {m.name: m.value for m in matchers}
        assert wanted == grouping  # the same label names as the group, and nothing else
        selected = [labels for name, labels in series
                    if name == selector.name and wanted.items() <= labels.items()]  # fmt: skip
        assert selected == [grouping]
    assert rule["labels"]["model"] == grouping["model"]
    assert rule["labels"]["environment"] == grouping["environment"]


@pytest.mark.usefixtures("_no_proxy")
def test_a_failed_push_never_hides_drift(
    monitoring_ir: str, churn_run: RunResult, tmp_path: Path
) -> None:
    with _pushgateway(status=500) as (url, pushes):
        outcome = _monitor(monitoring_ir, churn_run, _drifted(tmp_path), tmp_path, pushgateway=url)
    assert outcome.failed_task == "detect-drift"
    drift, push_failure = outcome.failures  # the drift verdict first, then the push
    assert "psi threshold 0.2" in drift and "plan" in drift
    assert "could not push the drift scores" in push_failure and "500" in push_failure
    [push] = pushes  # pushed before the threshold check failed the run
    [(_, score)] = _gauges(push["body"])["specops_drift_score"]
    assert score > 0.2


def _xgboost(spec: dict[str, Any]) -> None:
    params = {"n_estimators": 40, "max_depth": 3, "random_state": 1}
    spec["model"].update(framework="xgboost", estimator="xgboost.XGBClassifier", params=params)
    del spec["validation"]["latency"]  # it would time this machine's load, not the booster


def _lightgbm_regression(spec: dict[str, Any]) -> None:
    # verbose is not an LGBMRegressor constructor parameter (only a **kwargs booster parameter)
    params = {"n_estimators": 40, "random_state": 1}
    spec["model"].update(
        framework="lightgbm", task="regression", estimator="lightgbm.LGBMRegressor", params=params
    )
    spec["data"].update(target="monthly_charges", split={"test_fraction": 0.25, "seed": 1})
    spec["validation"].update(metrics=[{"name": "rmse", "max": 1000.0}], data_checks=[])
    del spec["validation"]["latency"]


# What each KServe server's load() picks from its model folder (kserve/python/xgbserver and
# lgbserver): every file with these endings, and it refuses to start on more than one.
KSERVE_MODEL_FILES = {"xgboost": (".bst", ".json", ".ubj"), "lightgbm": (".bst",)}


def _served_file(spec: Path, run: RunResult, framework: str, out: Path) -> Path:
    """The file KServe loads: the one model file of the folder the InferenceService names."""
    options = CompileOptions(paths=[spec], out_dir=out, targets=["serving"])
    assert compile_specs(options).ok
    path = out / "deploy" / "staging" / "churn-classifier" / "inferenceservice.yaml"
    model = yaml.safe_load(path.read_text(encoding="utf-8"))["spec"]["predictor"]["model"]
    assert model["modelFormat"] == {"name": framework}
    # The run publishes what deploy.model_uri would hold below <run>/models instead.
    model_root = yaml.safe_load(spec.read_text(encoding="utf-8"))["deploy"]["model_uri"]
    assert run.out_dir is not None and model["storageUri"].startswith(model_root + "/")
    folder: Path = run.out_dir / "models" / model["storageUri"].removeprefix(model_root + "/")
    endings = KSERVE_MODEL_FILES[framework]
    found = [p for p in folder.iterdir() if p.is_file() and p.name.endswith(endings)]
    assert len(found) == 1, found
    return found[0]


def _instances(rows: pd.DataFrame, metadata: dict[str, Any]) -> list[list[Any]]:
    """A KServe v1 request's instances, as the README's input contract says clients build them:
    the features in metadata order, each category as its code (null when it has none)."""
    features, codes = metadata["model"]["features"], metadata["model"]["categories"]
    instances = [
        [codes[name].get(row[name]) if name in codes else row[name] for name in features]
        for row in rows.to_dict("records")
    ]
    return list(json.loads(json.dumps(instances)))  # what the server receives


def _xgboost_served(path: Path, instances: list[list[Any]]) -> Any:
    import xgboost

    booster = xgboost.Booster(model_file=str(path))  # as xgbserver loads it
    return booster.predict(xgboost.DMatrix(np.array(instances)))  # as xgbserver predicts


def _lightgbm_served(path: Path, instances: list[list[Any]]) -> Any:
    import lightgbm

    return lightgbm.Booster(model_file=str(path)).predict(np.array(instances))  # as lgbserver does


def _xgboost_own(pipeline: Any, rows: pd.DataFrame) -> Any:
    return pipeline.predict_proba(rows)[:, 1]  # binary:logistic: the booster's probability


def _xgboost_categorical(path: Path, features: list[str], column: str) -> bool:
    import xgboost

    booster = xgboost.Booster(model_file=str(path))
    assert booster.feature_names is None  # xgbserver's DMatrix has none: names would be refused
    types: list[str] = booster.feature_types or []
    return types[features.index(column)] == "c"


def _lightgbm_categorical(path: Path, features: list[str], column: str) -> bool:
    import lightgbm

    booster = lightgbm.Booster(model_file=str(path))
    assert booster.feature_name() == features  # lgbserver names a DataFrame's columns so

    def splits(node: dict[str, Any]) -> Iterator[tuple[int, str]]:
        if "split_feature" in node:
            yield node["split_feature"], node["decision_type"]
            yield from splits(node["left_child"])
            yield from splits(node["right_child"])

    trees = booster.dump_model()["tree_info"]
    found = {split for tree in trees for split in splits(tree["tree_structure"])}
    return (features.index(column), "==") in found  # a split on a set of categories


@pytest.mark.filterwarnings("ignore:.*Unknown file format")  # KServe's name for UBJSON boosters
@pytest.mark.parametrize(
    ("change", "framework", "served", "own", "categorical", "features"),
    [
        (_xgboost, "xgboost", _xgboost_served, _xgboost_own, _xgboost_categorical,
         ["tenure_months", "monthly_charges", "plan", "support_tickets"]),
        (_lightgbm_regression, "lightgbm", _lightgbm_served, lambda p, rows: p.predict(rows),
         _lightgbm_categorical, ["tenure_months", "plan", "support_tickets", "churned"]),
    ],
)  # fmt: skip
def test_the_booster_kserve_loads_takes_raw_rows_and_predicts_like_the_pipeline(
    change: Any,
    framework: str,
    served: Any,
    own: Any,
    categorical: Any,
    features: list[str],
    tmp_path: Path,
) -> None:
    spec = _variant(tmp_path / "spec", change)
    run = run_pipeline(RunOptions(spec, out_dir=tmp_path / "run", echo=io.StringIO()))
    assert run.ok, (run.failed_task, run.failures)
    assert run.published is not None
    metadata = json.loads(Path(run.published, "metadata.json").read_text(encoding="utf-8"))
    assert metadata["model"]["features"] == features  # schema order
    # Codes follow the column's `allowed` list, so they do not depend on the training rows.
    assert metadata["model"]["categories"] == {"plan": {"basic": 0, "pro": 1, "enterprise": 2}}
    booster = _served_file(spec, run, framework, tmp_path / "compiled")
    assert f"{booster.parent.name}/{booster.name}" in metadata["files"]
    assert categorical(booster, features, "plan")  # codes the booster splits on as categories
    rows = pd.read_csv(SPECS / "data" / "churn.csv").head(60)
    rows.loc[rows.index[-5:], "plan"] = "platinum"  # a category the model never saw
    pipeline = joblib.load(Path(run.published, "model.joblib"))
    expected = own(pipeline, rows[features])
    actual = served(booster, _instances(rows, metadata))
    np.testing.assert_allclose(actual, expected, rtol=1e-5, atol=1e-6)


def test_sources_in_two_formats_are_joined_on_their_shared_column(tmp_path: Path) -> None:
    def two_sources(spec: dict[str, Any]) -> None:
        spec["data"]["sources"] = [
            {"name": "accounts", "uri": "data/accounts.csv", "format": "csv", "version": "1"},
            {"name": "tickets", "uri": "data/tickets.jsonl", "format": "jsonl", "version": "2"},
        ]

    spec = _variant(tmp_path / "spec", two_sources)
    rows = pd.read_csv(SPECS / "data" / "churn.csv")
    data = tmp_path / "spec" / "data"
    rows.drop(columns=["support_tickets"]).to_csv(data / "accounts.csv", index=False)
    tickets = rows[["customer_id", "support_tickets"]]
    tickets.to_json(data / "tickets.jsonl", orient="records", lines=True)
    result = run_pipeline(RunOptions(spec, out_dir=tmp_path / "run", echo=io.StringIO()))
    assert result.ok, (result.failed_task, result.failures)
    assert result.published is not None
    metadata = json.loads(Path(result.published, "metadata.json").read_text(encoding="utf-8"))
    assert [(d["name"], d["version"], d["rows"]) for d in metadata["data"]] == [
        ("accounts", "1", 600),
        ("tickets", "2", 600),
    ]
    assert "support_tickets" in metadata["model"]["features"]


DEMAND = SPECS / "demand-forecast.yaml"


def test_demand_forecast_runs_locally_on_exactly_the_bytes_it_pins(tmp_path: Path) -> None:
    """Every built-in example that is not `custom` runs with `specops run --local`."""
    result = run_pipeline(RunOptions(DEMAND, out_dir=tmp_path, echo=io.StringIO()))
    assert result.ok, (result.failed_task, result.failures, result.diagnostics)
    assert result.published == str(tmp_path / "models" / "v41")
    metadata = json.loads(Path(result.published, "metadata.json").read_text(encoding="utf-8"))
    read = {record["name"]: record for record in metadata["data"]}
    for name in ("sales", "promotions"):
        data = (SPECS / "data" / "demand" / f"{name}.csv").read_bytes()
        assert read[name]["sha256"] == "sha256:" + hashlib.sha256(data).hexdigest()


def test_the_demand_data_is_what_its_generator_writes(tmp_path: Path) -> None:
    generator = SPECS / "data" / "demand" / "generate.py"
    copy = tmp_path / "generate.py"
    copy.write_bytes(generator.read_bytes())
    subprocess.run([sys.executable, str(copy)], check=True, timeout=120)
    for name in ("sales.csv", "promotions.csv"):
        assert (tmp_path / name).read_bytes() == (generator.parent / name).read_bytes(), name
