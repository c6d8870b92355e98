"""For teams downstream: read an export as a stream, from its event or from a target's latest.json."""

from downstream.reader import (
    ChecksumMismatch,
    iter_records,
    latest_manifest,
    manifest_for_event,
    open_export,
)

__all__ = ["ChecksumMismatch", "iter_records", "latest_manifest", "manifest_for_event", "open_export"]
