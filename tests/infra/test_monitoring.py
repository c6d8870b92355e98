"""The alerts, the action group and the workbook, read on the parsed Bicep and held to what the code records.

With azure-monitor-opentelemetry on a workspace-based Application Insights, OpenTelemetry metrics land in the
workspace table `AppMetrics` (`Name`, `Sum`, `Min`, `Max`, `ItemCount`, `Properties` holding the attributes,
`TimeGenerated`). Every query must read that table, metric names the code defines (`telemetry.instruments`),
and only attributes the code sets on that metric (`ATTRIBUTES`, which tests/telemetry and tests/sinks check
against what real exports and freshness checks record).
"""

from __future__ import annotations

import json
import re

import pytest

from telemetry.instruments import ATTRIBUTES, METRIC_NAMES
from tests.infra.bicep import (
    MAIN,
    MODULES,
    Node,
    accessor,
    at,
    decorators,
    module_params,
    params,
    resolve,
    resource,
    variable,
)

MONITORING = MODULES / "monitoring.bicep"
APP_METRICS_COLUMNS = frozenset({"TimeGenerated", "Name", "Sum", "Min", "Max", "ItemCount", "Properties"})
QUERIES = ("failedExportsQuery", "staleTargetsQuery", "perTargetQuery")


def _query(name: str) -> str:
    text = variable(MONITORING, name)
    assert isinstance(text, str)
    return text


def metrics_and_properties(query: str) -> tuple[set[str], set[str]]:
    named = set(re.findall(r"Name == '([^']+)'", query))
    for group in re.findall(r"Name in \(([^)]*)\)", query):
        named |= set(re.findall(r"'([^']+)'", group))
    return named, set(re.findall(r"Properties\['([^']+)'\]", query))


@pytest.mark.parametrize("name", QUERIES)
def test_every_query_reads_app_metrics_by_names_and_attributes_the_code_records(name: str) -> None:
    query = _query(name)
    assert query.strip().splitlines()[0] == "AppMetrics"
    metrics, properties = metrics_and_properties(query)
    assert metrics, "a query names the metrics it reads"
    assert metrics <= set(METRIC_NAMES)
    assert properties <= set().union(*(ATTRIBUTES[m] for m in metrics))
    columns = {c for c in re.findall(r"\b([A-Z][A-Za-z]+)\b", query) if c in APP_METRICS_COLUMNS | {"AppMetrics"}}
    assert columns - {"AppMetrics"} <= APP_METRICS_COLUMNS


def test_the_failed_export_alert_reads_failures_by_target_and_kind_and_the_stale_one_target_age_by_state() -> None:
    assert metrics_and_properties(_query("failedExportsQuery")) == ({"export.failures"}, {"target", "kind"})
    assert metrics_and_properties(_query("staleTargetsQuery")) == ({"target.age"}, {"target", "state"})
    assert "'warn', 'error'" in _query("staleTargetsQuery")


@pytest.mark.parametrize(
    ("rule", "query", "column"),
    [("failedExports", "failedExportsQuery", "failures"), ("staleTargets", "staleTargetsQuery", "stale")],
)
def test_each_alert_runs_its_query_on_the_workspace_and_notifies_the_action_group(
    rule: str, query: str, column: str
) -> None:
    body = resource(MONITORING, rule)
    properties = body["properties"]
    [criterion] = at(properties, "criteria", "allOf")
    assert criterion["query"] == query
    assert criterion["metricMeasureColumn"] == column
    assert (criterion["operator"], criterion["threshold"]) == ("GreaterThan", 0)
    assert column in _query(query)
    assert {d["name"] for d in criterion["dimensions"]} <= {"target", "kind", "state"}
    assert properties["scopes"] == [accessor("workspace.id")]
    assert properties["actions"]["actionGroups"] == [accessor("alerts.id")]


def test_the_action_group_has_no_receiver_unless_an_email_or_webhook_is_given() -> None:
    group = resource(MONITORING, "alerts")["properties"]
    for receivers, param in (("emailReceivers", "alertEmail"), ("webhookReceivers", "alertWebhookUrl")):
        condition: Node = group[receivers]
        assert "empty" in json.dumps(condition)
        assert param in json.dumps(condition)
        assert resolve(MONITORING, params(MONITORING)[param]["default"]) == ""
        assert resolve(MAIN, params(MAIN)[param]["default"]) == ""
        assert module_params("monitoring")[param] == param
    assert "secure" in decorators(MAIN, "alertWebhookUrl")
    assert "secure" in decorators(MONITORING, "alertWebhookUrl")


def test_the_workbook_shows_the_per_target_query_over_30_days() -> None:
    book = resource(MONITORING, "workbook")
    assert book["kind"] == "shared"
    content = variable(MONITORING, "workbookContent")
    [kql] = [item for item in content["items"] if item["type"] == 3]
    assert kql["content"]["query"] == "perTargetQuery"
    assert kql["content"]["timeContext"]["durationMs"] == 30 * 86400 * 1000
    query = _query("perTargetQuery")
    for shown in ("last_success", "age", "mean_duration_s", "mean_bytes", "failures"):
        assert shown in query.splitlines()[-2]
