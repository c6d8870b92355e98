"""The OpenTelemetry SDK's in-memory exporters, installed once per test process as the global providers.

The app only ever uses the OpenTelemetry API; a test that reads what was recorded installs these (a process can
set the global providers once, so every test shares them and reads only what its own run produced: filter by
target name or instance id, or compare before and after).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from typing import Any

from opentelemetry import metrics, trace
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import HistogramDataPoint, InMemoryMetricReader, NumberDataPoint
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter


@dataclass(frozen=True)
class Recorded:
    spans: InMemorySpanExporter
    metrics: InMemoryMetricReader

    def finished_spans(self) -> list[ReadableSpan]:
        return list(self.spans.get_finished_spans())

    def points(self, name: str | None = None) -> Iterator[tuple[str, dict[str, Any], float]]:
        """(metric name, attributes, value) of every data point: a counter's sum, a histogram's sum."""
        data = self.metrics.get_metrics_data()
        for resource in data.resource_metrics if data else ():
            for scope in resource.scope_metrics:
                for metric in scope.metrics:
                    if name is not None and metric.name != name:
                        continue
                    for point in metric.data.data_points:
                        if isinstance(point, HistogramDataPoint):
                            yield metric.name, dict(point.attributes or {}), float(point.sum)
                        elif isinstance(point, NumberDataPoint):
                            yield metric.name, dict(point.attributes or {}), float(point.value)

    def count(self, name: str, **attributes: str) -> int:
        """How many values a histogram took, or a counter's sum, over points whose attributes include these."""
        data = self.metrics.get_metrics_data()
        total = 0
        for resource in data.resource_metrics if data else ():
            for scope in resource.scope_metrics:
                for metric in scope.metrics:
                    if metric.name != name:
                        continue
                    for point in metric.data.data_points:
                        if not attributes.items() <= dict(point.attributes or {}).items():
                            continue
                        if isinstance(point, HistogramDataPoint):
                            total += point.count
                        elif isinstance(point, NumberDataPoint):
                            total += int(point.value)
        return total


@cache
def recorded() -> Recorded:
    """The process's in-memory span exporter and metric reader (installed on first call)."""
    spans = InMemorySpanExporter()
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(spans))
    trace.set_tracer_provider(tracer_provider)
    reader = InMemoryMetricReader()
    metrics.set_meter_provider(MeterProvider(metric_readers=[reader]))
    return Recorded(spans, reader)


STANDARD_RECORD_KEYS = frozenset(logging.LogRecord("x", 0, "x", 0, "x", None, None).__dict__) | {"message", "asctime"}


def log_attributes(record: logging.LogRecord) -> dict[str, Any]:
    """What the OpenTelemetry logging handler exports as a record's attributes: everything not standard."""
    return {key: value for key, value in record.__dict__.items() if key not in STANDARD_RECORD_KEYS}
