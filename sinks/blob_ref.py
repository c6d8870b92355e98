"""A committed blob's identity, in a module of its own that imports no storage SDK.

The writer returns it, a manifest and an event record it, and the orchestration's contracts carry it; the
orchestrators import this module (not the writer, which imports the storage SDK) to type those contracts.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class BlobRef(BaseModel):
    """A committed blob's identity: what the writer returns and what a manifest and an event record."""

    model_config = ConfigDict(frozen=True)

    container: str
    name: str
    url: str
    size: int
    sha256: str
    content_type: str
