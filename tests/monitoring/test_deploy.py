"""The files of deploy/: the alert rules pass `promtool check rules` and their unit tests (`promtool test
rules`), and every metric the rules and the Grafana dashboard name is exported by /metrics of a service that
records (with a store holding reviewed and auto-routed tickets, so the live series exist)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from tests.api.conftest import ADMIN_KEY

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
ALERTS = DEPLOY / "prometheus" / "alerts.yml"
DASHBOARD = DEPLOY / "grafana" / "triage.json"
IN_CI = os.environ.get("CI", "").strip().lower() in ("true", "1", "yes")
KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "and", "or", "unless", "bool", "offset",
            "inf", "nan"}  # fmt: skip
FROM_PROMETHEUS = {"up"}  # series Prometheus makes itself


def promtool() -> str:
    found = shutil.which("promtool")
    if found is None:
        if IN_CI:
            pytest.fail("promtool is not installed (Debian package prometheus: `make tools`); CI=true must run it")
        pytest.skip("promtool is not installed (Debian package prometheus: `make tools`)")
    return found


@pytest.mark.parametrize("command", [["check", "rules", "alerts.yml"], ["test", "rules", "alerts_test.yml"]])
def test_promtool_accepts_the_rules_and_their_tests(command: list[str]) -> None:
    done = subprocess.run([promtool(), *command], cwd=ALERTS.parent, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SUCCESS" in done.stdout


def metric_names(expr: str) -> set[str]:
    """The metric names a PromQL expression selects: identifiers that are not functions, keywords, labels of
    a matcher or a grouping, or durations."""
    expr = re.sub(r'"(?:\\.|[^"\\])*"', '""', expr)
    expr = re.sub(r"\{[^}]*\}|\[[^\]]*\]", " ", expr)
    expr = re.sub(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", expr)
    names = set()
    for match in re.finditer(r"(?<![\w.$])[a-zA-Z_:][a-zA-Z0-9_:]*", expr):
        if expr[match.end() :].lstrip().startswith("(") or match.group(0) in KEYWORDS:
            continue
        names.add(match.group(0))
    return names


def test_metric_names_are_read_from_expressions() -> None:
    expr = (
        'histogram_quantile(0.95, sum by (le, route) (rate(triage_request_duration_seconds_bucket{route=~"/v1"}[5m])))'
        " > on (route) group_left max without (instance) (foo_total offset 1h) and bool bar"
    )
    assert metric_names(expr) == {"triage_request_duration_seconds_bucket", "foo_total", "bar"}


def alert_expressions() -> list[str]:
    rules = yaml.safe_load(ALERTS.read_text())
    return [rule["expr"] for group in rules["groups"] for rule in group["rules"]]


def dashboard_expressions() -> list[str]:
    dashboard = json.loads(DASHBOARD.read_text())
    panels = [p for p in dashboard["panels"] if p["type"] != "row"]
    assert panels and all(p.get("targets") for p in panels), "every panel queries something"
    expressions = [t["expr"] for p in panels for t in p["targets"]]
    for variable in dashboard["templating"]["list"]:
        query = variable.get("query")
        if isinstance(query, dict):
            found = re.fullmatch(r"label_values\((\w+),\s*\w+\)", query["query"])
            assert found, query
            expressions.append(found.group(1))
    return expressions


def exported(client: TestClient) -> set[str]:
    answer = client.get("/metrics")
    assert answer.status_code == 200
    return {s.name for family in text_string_to_metric_families(answer.text) for s in family.samples}


def test_every_metric_of_the_alerts_and_the_dashboard_is_exported(service: TestClient) -> None:
    # the service's own series appear once used: triage tickets (auto-routed and deferred), reload the model
    service.app.state.live_quality.refresh()  # type: ignore[attr-defined]
    tickets = [{"subject": "VPN drops every hour", "body": "since the update"}, {"subject": "x", "body": "?"}]
    assert service.post("/v1/triage/batch", json={"tickets": tickets}).status_code == 200
    assert service.post("/v1/admin/reload", headers={"X-API-Key": ADMIN_KEY}).status_code == 200
    names = exported(service)
    alerts = set().union(*map(metric_names, alert_expressions()))
    dashboard = set().union(*map(metric_names, dashboard_expressions()))
    assert {"triage_live_precision_upper", "triage_head_precision_target", "triage_store_up"} <= alerts
    assert {"triage_live_precision", "triage_request_duration_seconds_bucket", "triage_review_queue_size"} <= dashboard
    missing = sorted((alerts | dashboard) - names - FROM_PROMETHEUS)
    assert not missing, f"named in deploy/ but not exported by /metrics: {missing}"
