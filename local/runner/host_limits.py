"""The limits and settings of the Durable host on the Azure Storage backend, so the runner fails where Azure would.

Each value comes from the public source it names (read, not copied):

- Timers: `AzureStorageDurabilityProvider.cs` sets `MaximumDelayTime` = 6 days and
  `LongRunningTimerIntervalLength` = 3 days; `OrchestrationTriggerAttributeBindingProvider.cs` sends them to
  the SDK as `maximumShortTimerDuration` / `longRunningTimerIntervalDuration`, .NET `TimeSpan` values, which
  Json.NET writes in the constant format "d.hh:mm:ss" that the SDK's `parse_timespan_attrib` reads. Under
  schema V3 the shim does not validate timer length (`ThrowIfInvalidTimerLengthForStorageProvider` only runs
  below V3): the SDK splits longer timers itself (`LongTimerTask`), and the host's `CreateTimer` would split
  a longer one into 3-day timers. The runner refuses such a timer loudly rather than model that second split.
- Custom status: `DurableOrchestrationContext.SetCustomStatus` serialises with a 16 KB cap measured as UTF-16
  (`MessagePayloadDataConverter.Serialize`: whole KB of `Encoding.Unicode` bytes, truncated, must not exceed
  16), and throws an ArgumentException that fails the orchestration.
- Retries: `RetryOptionsConverter.cs` reads `firstRetryIntervalInMilliseconds` and `maxNumberOfAttempts`
  (required), and optionally `backoffCoefficient` (default 1), `maxRetryIntervalInMilliseconds` (default 6 days,
  the extension's `RetryOptions`) and `retryTimeoutInMilliseconds` (default none). The Python SDK sends only the
  first two. `DurableOrchestrationContext.CallDurableTaskFunctionAsync` rejects a first or max interval beyond
  the 6-day delay limit, and DurableTask.Core's `RetryOptions` a first interval that is not positive.
- Message sizes are NOT limits here: DurableTask.AzureStorage `MessageManager` compresses a queue message whose
  UTF-8 JSON exceeds 45 KB (`MaxStorageQueuePayloadSizeInBytes`) into a blob of the `<hub>-largemessages`
  container and queues a reference; `AzureTableTrackingStore` moves a history/instance property over 60 KB of
  UTF-16 (`MaxTablePropertySizeInBytes`) to a blob the same way. Large activity inputs/outputs therefore cost
  a blob round trip but do not fail, and the runner does not fail them either.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

MAX_DELAY = timedelta(days=6)  # `MaximumDelayTime` (also `maximumShortTimerDuration` for the SDK)
LONG_TIMER_INTERVAL = timedelta(days=3)  # `LongRunningTimerIntervalLength`
MAX_DELAY_TEXT = "6.00:00:00"  # TimeSpan.ToString("c")
LONG_TIMER_INTERVAL_TEXT = "3.00:00:00"
DEFAULT_HTTP_ASYNC_SLEEP_MS = 30_000  # HttpOptions.DefaultAsyncRequestSleepTimeMilliseconds
MAX_CUSTOM_STATUS_KB = 16
DELAY_LIMIT_MESSAGE = "The Azure Storage provider supports a maximum of 6 days for time-based delays"


class HostFault(Exception):
    """The host's replay throws here (an invalid action, a limit); the message is the host's."""


def custom_status_kb(status: Any) -> int:
    """Whole KB of the compact JSON as UTF-16, truncated, as the extension measures it."""
    text = json.dumps(status, separators=(",", ":"), ensure_ascii=False)
    return int(len(text.encode("utf-16-le")) / 1024.0)


def check_custom_status(status: Any) -> None:
    if status is None:
        return
    size = custom_status_kb(status)
    if size > MAX_CUSTOM_STATUS_KB:
        raise HostFault(
            f"The UTF-16 size of the JSON-serialized payload must not exceed {MAX_CUSTOM_STATUS_KB} KB. "
            f"The current payload size is {size:,} KB."
        )


def check_timer(delay: timedelta) -> None:
    if delay > MAX_DELAY:
        raise HostFault(
            f"a single timer of {delay} exceeds the 6-day limit; under schema V3 the SDK splits such timers and "
            "the host would split this one itself into 3-day timers, which the local runner does not model"
        )


@dataclass(frozen=True)
class RetryPolicy:
    """DurableTask.Core `RetryOptions` as the extension builds it from an action's `retryOptions`."""

    first_interval: timedelta
    max_attempts: int
    backoff: float = 1.0
    max_interval: timedelta = MAX_DELAY
    timeout: timedelta | None = None

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RetryPolicy:
        for required in ("firstRetryIntervalInMilliseconds", "maxNumberOfAttempts"):
            if required not in data:
                raise HostFault(f"Invalid JSON. Must contain field {required}")
        first = timedelta(milliseconds=int(data["firstRetryIntervalInMilliseconds"]))
        if first <= timedelta(0):
            raise HostFault("Invalid interval. Specify a TimeSpan value greater then TimeSpan.Zero.")
        policy = cls(
            first_interval=first,
            max_attempts=int(data["maxNumberOfAttempts"]),
            backoff=float(data.get("backoffCoefficient", 1.0)),
            max_interval=_millis(data.get("maxRetryIntervalInMilliseconds")) or MAX_DELAY,
            timeout=_millis(data.get("retryTimeoutInMilliseconds")),
        )
        if policy.first_interval > MAX_DELAY or policy.max_interval > MAX_DELAY:
            raise HostFault(DELAY_LIMIT_MESSAGE)
        return policy

    def next_delay(self, attempt: int, first_attempt: datetime, now: datetime) -> timedelta | None:
        """`ComputeNextDelay`: None (no retry, the task fails) once the retry timeout has passed."""
        if self.timeout is not None and now >= first_attempt + self.timeout:
            return None
        millis = self.first_interval / timedelta(milliseconds=1) * math.pow(self.backoff, attempt)
        capped = min(millis, self.max_interval / timedelta(milliseconds=1))
        return timedelta(milliseconds=capped) if capped > 0 else None


def _millis(value: Any) -> timedelta | None:
    return None if value is None else timedelta(milliseconds=int(value))
