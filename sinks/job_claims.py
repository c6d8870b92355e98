"""Which upstream job each running export of a target polls, so that a look-up never adopts another run's job.

Why: before creating a job, a Viva Goals export lists the view's jobs to find one an earlier attempt of its own
created but never recorded (a crash between the upstream accepting the POST and the history recording it).
Graph's list says nothing about who created a job, so without more a second run of the same target adopted the
first run's job. Each instance therefore records the job it polls in `<target>/claims/<hash of instance id>.json`
when its create activity creates or adopts one (overwriting what it polled before, so a job it gave up on is
released), and clears it when its export is stored or its run ends. A look-up skips every job another instance
claims; its own claim never hides a job from it, so a resumed run still finds its own job.

What it does not cover: a crash after the upstream accepted the create and before the claim was written leaves
that job unclaimed for a moment, and a claim of an instance that died and never resumed stays until cleared by
hand; both only make a look-up create a new job rather than adopt, never adopt a wrong one.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from azure.core.exceptions import AzureError, HttpResponseError, ResourceNotFoundError
from azure.storage.blob import ContainerClient, ContentSettings

from sinks.blob_names import claim_blob_name, claims_prefix

log = logging.getLogger(__name__)
JSON = ContentSettings(content_type="application/json")
MAX_CLAIMS = 100  # a target has a handful of runs at once; more claim blobs than this are not read
MAX_CLAIM_BYTES = 4096


def write_claim(container: ContainerClient, target: str, instance_id: str, job_id: str) -> None:
    """Record that `instance_id` polls `job_id` (replacing the job it polled before)."""
    body = json.dumps({"instance_id": instance_id, "job_id": job_id}).encode()
    container.upload_blob(claim_blob_name(target, instance_id), body, overwrite=True, content_settings=JSON)


def claimed_by_others(container: ContainerClient, target: str, instance_id: str | None) -> set[str]:
    """The job ids other instances of `target` claim (an unreadable claim counts for nothing)."""
    claimed: set[str] = set()
    for index, item in enumerate(container.list_blobs(name_starts_with=claims_prefix(target))):
        if index >= MAX_CLAIMS:
            log.warning("target %s: more than %d job claims; the rest were not read", target, MAX_CLAIMS)
            break
        claim = _read(container, item.name)
        if claim is not None and claim.get("instance_id") != instance_id and isinstance(claim.get("job_id"), str):
            claimed.add(claim["job_id"])
    return claimed


def _read(container: ContainerClient, name: str) -> dict[str, Any] | None:
    try:
        data = container.download_blob(name, offset=0, length=MAX_CLAIM_BYTES).readall()
        claim = json.loads(data)
    except ResourceNotFoundError:  # released between the listing and the read
        return None
    except ValueError:  # not ours, or cut at the limit
        return None
    except HttpResponseError as error:
        if error.status_code == 416:  # empty: no range to read
            return None
        raise
    return claim if isinstance(claim, dict) else None


def release_claim(container: ContainerClient, target: str, instance_id: str) -> None:
    """Clear `instance_id`'s claim; best effort (a claim left behind only makes a look-up create, not adopt)."""
    try:
        container.delete_blob(claim_blob_name(target, instance_id))
    except ResourceNotFoundError:
        pass
    except (AzureError, ValueError) as error:
        log.warning("target %s: the job claim could not be cleared: %s", target, type(error).__name__)
