"""Microsoft Graph (beta) Viva Goals export jobs.

Faithful to every shape the reference pages show: the job bare or wrapped in
`{"value": ...}`, timestamps with hyphens in the time part, a quoted `Location`,
`innerError` or `innererror`. A 409 carries the running job's id so it is
adopted instead of failing. Job ids are opaque: always path-escaped.
"""

from __future__ import annotations

import logging
import re
import uuid
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import httpx
from pydantic import BaseModel, ConfigDict, model_validator

from connectors.base import ErrorKind, JobState, JobStatus, UpstreamError, job_state
from connectors.deadline import within
from connectors.envelopes import parse_graph_error
from connectors.export_connector import HttpExportConnector, TokenEndpoint
from connectors.redaction import MAX_STATUS, clip
from connectors.timestamps import CLOCK_SKEW, normalise_timestamp, parse_timestamp
from connectors.transport import read_json, sent_token
from connectors.upstream_ids import path_segment, upstream_id, without_credential
from connectors.urls import check_download_url

log = logging.getLogger(__name__)

COLLECTION = "employeeExperience/goals/exportJobs"
STATES = {
    "notstarted": JobState.NOT_STARTED,
    "running": JobState.RUNNING,
    "succeeded": JobState.SUCCEEDED,
    "failed": JobState.FAILED,
}
EXPECTED = (
    "expected goals_organization_id and explorer_view_id as GUIDs, or explorer_view_url like "
    "https://goals.microsoft.com/org_uuid/<GUID>/objective-explorer?viewId=<GUID>"
)
_ORG_IN_PATH = re.compile(r"/org_uuid/([^/]+)/")
LOOKUP_DEADLINE_S = 20.0  # the own-job look-up may delay a create by this much at most


def _guid(value: object) -> str | None:
    if not isinstance(value, str):
        return None
    try:
        return str(uuid.UUID(value.strip()))
    except ValueError:
        return None


def parse_explorer_view_url(url: str) -> tuple[str, str]:
    """(goalsOrganizationId, explorerViewId) from a Viva Goals Explorer view URL."""
    parts = urlsplit(url.strip())
    match = _ORG_IN_PATH.search(parts.path + "/")
    view = parse_qs(parts.query).get("viewId", [None])[-1]
    org_id, view_id = _guid(unquote(match.group(1)) if match else None), _guid(view)
    if parts.scheme != "https" or not parts.hostname or org_id is None or view_id is None:
        raise ValueError(f"not an Explorer view URL: {EXPECTED}")
    return org_id, view_id


class VivaGoalsParams(BaseModel):
    """Which Explorer view to export: two GUIDs, or the view's URL pasted from the browser."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    goals_organization_id: str | None = None
    explorer_view_id: str | None = None
    explorer_view_url: str | None = None

    @model_validator(mode="after")
    def _normalise(self) -> VivaGoalsParams:
        if self.explorer_view_url is not None:
            org, view = parse_explorer_view_url(self.explorer_view_url)
            if self.goals_organization_id or self.explorer_view_id:
                raise ValueError(f"give either the two GUIDs or explorer_view_url, not both: {EXPECTED}")
        else:
            org, view = _guid(self.goals_organization_id), _guid(self.explorer_view_id)  # type: ignore[assignment]
            if org is None or view is None:
                raise ValueError(EXPECTED)
        object.__setattr__(self, "goals_organization_id", org)
        object.__setattr__(self, "explorer_view_id", view)
        object.__setattr__(self, "explorer_view_url", None)
        return self


def location_job_id(location: str | None) -> str | None:
    """The job id at the end of a `Location` header, which Graph sometimes wraps in quotes."""
    if not location:
        return None
    try:
        path = urlsplit(location.strip().strip('"')).path.rstrip("/")
    except ValueError:  # an unparseable Location (`http://[::1/x`) names no job; the body's id stands
        return None
    last = unquote(path.rsplit("/", 1)[-1]) if "/" in path else ""
    return last or None


def _entity(body: Any, sent: str | None) -> dict[str, Any]:
    """The job in a Graph answer; `sent` is the token its request carried, which the id must not hold."""
    if isinstance(body, dict) and isinstance(body.get("value"), dict):
        body = body["value"]
    if not isinstance(body, dict) or not isinstance(body.get("id"), str) or not body["id"]:
        raise UpstreamError(ErrorKind.TRANSIENT, "Graph answered a job without an id")
    upstream_id(body["id"], secret=sent)
    return body


class VivaGoalsConnector(HttpExportConnector[VivaGoalsParams]):
    name = "viva_goals"
    parse_error = staticmethod(parse_graph_error)
    # The content of a job that is not (or no longer) available is undocumented: all three mean "gone".
    gone_statuses = frozenset({404, 409, 410})
    content_suffix = "/content"
    auth_hint = (
        "Viva Goals exports need a delegated (signed-in user) token with Goals-Export.ReadWrite.All to create "
        "and Goals-Export.Read.All to read; app-only tokens are not accepted"
    )
    token_endpoint = TokenEndpoint(None, parse_graph_error)  # Graph's tokens come from Microsoft Entra ID

    def job_url(self, job_id: str) -> str:
        return self.api.url(f"{COLLECTION}/{path_segment(job_id)}")

    def start_job(self) -> JobStatus:
        body = {
            "goalsOrganizationId": self.params.goals_organization_id,
            "explorerViewId": self.params.explorer_view_id,
        }
        response = self.api.request("POST", self.api.url(COLLECTION), json=body, on_error=self._create_error)
        job = self._status(response)
        if job.job_id != (location_job_id(response.headers.get("Location")) or job.job_id):
            log.warning("Viva Goals create: Location names another job than the body; using the body's id")
        return job

    def _create_error(self, response: httpx.Response) -> UpstreamError:
        error = self.api.classify(response)
        if error.kind is ErrorKind.CONFLICT:
            located = location_job_id(response.headers.get("Location"))
            sent = sent_token(response)
            error.existing_job_id = error.existing_job_id or (upstream_id(located, secret=sent) if located else None)
            if not error.existing_job_id:  # a 409 we cannot adopt: say so rather than loop
                error.kind = ErrorKind.PERMANENT
                error.message += " (no running job id was given to adopt)"
        return error

    def get_job(self, job_id: str) -> JobStatus:
        return self._status(self.api.request("GET", self.job_url(job_id)))

    def _status(self, response: httpx.Response) -> JobStatus:
        entity = _entity(read_json(response, "Graph"), sent_token(response))
        return self._from_entity(entity, response, self.api.retry_after(response))

    def _from_entity(self, entity: dict[str, Any], response: httpx.Response, retry_after_s: float | None) -> JobStatus:
        """Every upstream string bounded where it enters: the id checked, texts redacted and cut, the URL checked."""
        raw = self.api.text(response, entity.get("status"), MAX_STATUS) or "unknown"
        state = job_state(STATES, raw, upstream="Viva Goals", job_id=entity["id"])
        location = entity.get("resourceLocation")
        if isinstance(location, str) and location:
            location = without_credential(check_download_url(location), "download location", sent_token(response))
        return JobStatus(
            job_id=entity["id"],
            state=state,
            upstream_status=raw,
            retry_after_s=retry_after_s,
            expires_at=normalise_timestamp(entity.get("expirationDateTime")),
            failure_reason=self.api.text(response, entity.get("statusDetail")),
            download_url=location if isinstance(location, str) and location else None,
            created_at=normalise_timestamp(entity.get("createdDateTime")),
        )

    def find_own_jobs(self, not_before: datetime, now: datetime | None = None) -> list[JobStatus]:
        """Jobs of this organization and view created since `not_before` (when our create was first decided,
        less the clock skew bound), live, newest first.

        A job created before cannot be one of ours, so it is never adopted by this look-up (a 409 on create may
        still name it: then the upstream, not this guess, decides).

        Graph has no client token on create, so after a crash between its accepting the POST and our recording
        the answer, this look-up (the list's only filter is the organization) is how a resume finds that job.
        It is an optimisation: the list call gets `LOOKUP_DEADLINE_S`, not a whole call's deadline, and a job
        in it that cannot be read (an unusable id, location or status) is skipped and counted in one warning.
        """
        now = now or datetime.now(UTC)
        query = {"$filter": f"goalsOrganizationId eq '{self.params.goals_organization_id}'"}
        with within(LOOKUP_DEADLINE_S):
            response = self.api.request("GET", self.api.url(COLLECTION), params=query)
        body = read_json(response, "Graph")
        items = body.get("value") if isinstance(body, dict) else None
        found: list[tuple[datetime, JobStatus]] = []
        unreadable: list[str] = []
        for item in items if isinstance(items, list) else []:
            if not isinstance(item, dict) or _guid(item.get("explorerViewId")) != self.params.explorer_view_id:
                continue
            try:
                job = self._from_entity(_entity(item, sent_token(response)), response, None)
            except UpstreamError as error:
                unreadable.append(error.message)
                continue
            created, expires = parse_timestamp(job.created_at), parse_timestamp(job.expires_at)
            if created is None or not not_before - CLOCK_SKEW <= created <= now + CLOCK_SKEW:
                continue
            if job.state is not JobState.FAILED and (expires is None or expires > now):
                found.append((created, job))
        if unreadable:
            log.warning(
                "Viva Goals job list: skipped %d job(s) of this view that cannot be read (first: %s)",
                len(unreadable),
                clip(unreadable[0], 200),
            )
        return [job for _, job in sorted(found, key=lambda pair: pair[0], reverse=True)]
