"""promtool unit tests for one generated PrometheusRule, built from its spec rather than read from
the rule: the series Knative's queue-proxy and the monitoring pipeline's drift step publish, once
abnormal and once normal. Each alert fires once its `for` has passed and not before, prints the
value that fired it as a person reads it, and normal traffic fires nothing, even with other
models failing beside it in the same namespace."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

MINUTES = 40  # samples per series, one a minute


@dataclass
class Case:
    """The series that make one alert fire and the ones that must not, with the value it shows."""

    bad: list[dict[str, str]]
    normal: list[dict[str, str]]
    value: str  # how the description prints the value that fired it
    template: str  # the Go template in the description that prints it
    wait: int  # minutes the condition must hold before the alert fires (its `for`)
    labels: dict[str, str] = field(default_factory=dict)  # from the series, beside the rule's


@dataclass(frozen=True)
class Target:
    model: str
    env: str
    namespace: str
    is_last: bool


def _series(name: str, labels: dict[str, str], start: float, step: float) -> dict[str, str]:
    text = ", ".join(f'{key}="{value}"' for key, value in labels.items())
    return {"series": f"{name}{{{text}}}", "values": f"{start:g}+{step:g}x{MINUTES}"}


def _buckets(namespace: str, service: str, limit: float, slow: bool) -> list[dict[str, str]]:
    """Request latencies in ms: all in (limit/2, 4*limit] when slow, else all at most limit/2."""
    edges = [f"{limit / 2:g}", f"{limit * 4:g}", "+Inf"]
    per_minute = [0 if slow else 60, 60, 60]
    labels = {"namespace_name": namespace, "service_name": service}
    return [
        _series("revision_app_request_latencies_bucket", {**labels, "le": le}, 0, count)
        for le, count in zip(edges, per_minute, strict=True)
    ]


def _latency(t: Target, alerts: dict[str, Any], _spec: dict[str, Any]) -> Case:
    limit = float(alerts["latency_p95_ms"])
    service = f"{t.model}-predictor"
    return Case(
        bad=_buckets(t.namespace, service, limit, slow=True),
        normal=_buckets(t.namespace, service, limit, slow=False)
        + _buckets(t.namespace, "other-model-predictor", limit, slow=True)
        + _buckets("other-namespace", service, limit, slow=True),
        # histogram_quantile interpolates inside the bucket: limit/2 + 0.95 * 3.5 * limit
        value="%.0f" % (limit / 2 + 0.95 * 3.5 * limit),
        template='{{ printf "%.0f" $value }}',
        wait=10,  # "has been above … for 10 minutes"
    )


def _requests(namespace: str, service: str, failed: int, total: int) -> list[dict[str, str]]:
    labels = {"namespace_name": namespace, "service_name": service}
    return [
        _series("revision_app_request_count", {**labels, "response_code_class": code}, 0, count)
        for code, count in (("5xx", failed), ("2xx", total - failed))
    ]


def _errors(t: Target, alerts: dict[str, Any], _spec: dict[str, Any]) -> Case:
    rate, total = float(alerts["error_rate"]), 100_000
    failing = round(total * (1 + rate) / 2)  # half way between the limit and every request
    service = f"{t.model}-predictor"
    return Case(
        bad=_requests(t.namespace, service, failing, total),
        normal=_requests(t.namespace, service, round(total * rate / 2), total)
        + _requests(t.namespace, "other-model-predictor", total, total)
        + _requests("other-namespace", service, total, total),
        value="%.4g%%" % (100 * failing / total),  # Prometheus' humanizePercentage
        template="{{ $value | humanizePercentage }}",
        wait=5,
    )


def _gauges(model: str, env: str, score: float, threshold: float) -> list[dict[str, str]]:
    group = {"job": "specops-drift", "model": model, "environment": env}
    return [
        _series("specops_drift_score", group, score, 0),
        _series("specops_drift_threshold", group, threshold, 0),
    ]


def _drift(t: Target, _alerts: dict[str, Any], spec: dict[str, Any]) -> Case:
    threshold = float(spec["monitoring"]["drift"]["threshold"])
    return Case(
        bad=_gauges(t.model, t.env, 2 * threshold, threshold),
        normal=_gauges(t.model, t.env, threshold / 2, threshold)
        + _gauges("other-model", t.env, 10 * threshold, threshold),
        value="%.4g" % (2 * threshold),
        template='{{ printf "%.4g" $value }}',
        wait=0,  # on the monitoring run that measured it
        labels={"job": "specops-drift"},
    )


CASES: dict[str, Callable[[Target, dict[str, Any], dict[str, Any]], Case]] = {
    "ModelLatencyP95High": _latency,
    "ModelErrorRateHigh": _errors,
    "ModelDriftDetected": _drift,
}


def target(spec: dict[str, Any], env: str) -> Target:
    names = [e["name"] for e in spec["deploy"]["environments"]]
    entry = spec["deploy"]["environments"][names.index(env)]
    return Target(spec["metadata"]["name"], env, entry["namespace"], env == names[-1])


def rule_labels(spec: dict[str, Any], t: Target) -> dict[str, str]:
    """The labels every alert of the spec carries: who is paged, for what, and how urgently."""
    return {
        "severity": "critical" if t.is_last else "warning",
        "team": spec["metadata"]["team"],
        "model": t.model,
        "environment": t.env,
        "namespace": t.namespace,
    }


def literal(text: str) -> str:
    """What Prometheus prints for annotation text whose `{{` are written as `{{ "{{" }}`."""
    return text.replace('{{ "{{" }}', "{{")


def _expected(rule: dict[str, Any], case: Case, labels: dict[str, str]) -> dict[str, Any]:
    annotations = {key: literal(str(text)) for key, text in rule["annotations"].items()}
    shown = {key: text.replace(case.template, case.value) for key, text in annotations.items()}
    return {"exp_labels": {**labels, **case.labels}, "exp_annotations": shown}


def unit_tests(
    name: str, rules_file: str, rules: list[dict[str, Any]], spec: dict[str, Any], t: Target
) -> dict[str, Any]:
    """A promtool test file for the `rules` of one rules file."""
    labels = rule_labels(spec, t)
    alerts = spec["monitoring"]["alerts"]
    bad: list[dict[str, str]] = []
    normal: list[dict[str, str]] = []
    firing: list[dict[str, Any]] = []
    quiet: list[dict[str, Any]] = []
    for rule in rules:
        assert rule["alert"] in CASES, f"no unit test generator for alert {rule['alert']}"
        case = CASES[rule["alert"]](t, alerts, spec)
        bad += case.bad
        normal += case.normal
        wait = case.wait
        if wait:  # not a minute before its `for` has passed (the rate has data from 1m on)
            firing.append({"eval_time": f"{wait}m", "alertname": rule["alert"], "exp_alerts": []})
        firing.append(
            {
                "eval_time": f"{wait + 2}m",
                "alertname": rule["alert"],
                "exp_alerts": [_expected(rule, case, labels)],
            }
        )
        quiet += [
            {"eval_time": f"{minute}m", "alertname": rule["alert"], "exp_alerts": []}
            for minute in (wait + 2, MINUTES - 1)
        ]
    return {
        "rule_files": [rules_file],
        "evaluation_interval": "1m",
        "tests": [
            {
                "name": f"{name}: abnormal",
                "interval": "1m",
                "input_series": bad,
                "alert_rule_test": firing,
            },
            {
                "name": f"{name}: normal",
                "interval": "1m",
                "input_series": normal,
                "alert_rule_test": quiet,
            },
        ],
    }
