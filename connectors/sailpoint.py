"""SailPoint Identity Security Cloud SP-Config export.

Types are checked against the 25 documented ones before any request, the
failure `message` is carried to the user, and the downloaded JSON is streamed
byte for byte (RULE objects carry JWS signatures; re-serialising breaks them).
"""

from __future__ import annotations

from typing import Any

import httpx
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from connectors.base import ErrorKind, JobState, JobStatus, UpstreamError, job_state
from connectors.envelopes import parse_sailpoint_error
from connectors.export_connector import HttpExportConnector, TokenEndpoint
from connectors.redaction import MAX_STATUS
from connectors.sailpoint_types import SAILPOINT_OBJECT_TYPES
from connectors.timestamps import normalise_timestamp
from connectors.transport import read_json, sent_token
from connectors.upstream_ids import path_segment, upstream_id

STATES = {
    "not_started": JobState.NOT_STARTED,
    "in_progress": JobState.RUNNING,
    "complete": JobState.SUCCEEDED,
    "failed": JobState.FAILED,
    "cancelled": JobState.CANCELLED,
}


def _check_types(values: list[str], field: str) -> list[str]:
    unknown = sorted({v for v in values if v not in SAILPOINT_OBJECT_TYPES})
    if unknown:
        allowed = ", ".join(sorted(SAILPOINT_OBJECT_TYPES))
        raise ValueError(f"{field}: unknown SP-Config type(s) {', '.join(unknown)}; allowed: {allowed}")
    return values


class ObjectOptions(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    included_ids: list[str] = Field(default_factory=list)
    included_names: list[str] = Field(default_factory=list)


class SailPointParams(BaseModel):
    """What to export: the API's own options, in snake_case, checked before any request."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    description: str | None = Field(default=None, max_length=1000)
    include_types: list[str] = Field(default_factory=list)
    exclude_types: list[str] = Field(default_factory=list)
    object_options: dict[str, ObjectOptions] = Field(default_factory=dict)

    @field_validator("include_types", "exclude_types")
    @classmethod
    def _known_types(cls, values: list[str], info: Any) -> list[str]:
        return _check_types(values, info.field_name)

    @model_validator(mode="after")
    def _options_types(self) -> SailPointParams:
        _check_types(list(self.object_options), "object_options")
        return self

    def request_body(self) -> dict[str, Any]:
        body: dict[str, Any] = {}
        if self.description:
            body["description"] = self.description
        if self.include_types:
            body["includeTypes"] = self.include_types
        if self.exclude_types:
            body["excludeTypes"] = self.exclude_types
        if self.object_options:
            body["objectOptions"] = {
                kind: {"includedIds": opts.included_ids, "includedNames": opts.included_names}
                for kind, opts in self.object_options.items()
            }
        return body


class SailPointConnector(HttpExportConnector[SailPointParams]):
    name = "sailpoint"
    parse_error = staticmethod(parse_sailpoint_error)
    gone_statuses = frozenset({404, 410})
    content_suffix = "/download"
    auth_hint = (
        "check the client id and secret (or personal access token), and that the client's scopes cover sp:config:export"
    )
    token_endpoint = TokenEndpoint("/oauth/token", parse_sailpoint_error)  # on the tenant's API host

    def job_url(self, job_id: str) -> str:
        return self.api.url(f"sp-config/export/{path_segment(job_id)}")

    def start_job(self) -> JobStatus:
        response = self.api.request("POST", self.api.url("sp-config/export"), json=self.params.request_body())
        return self._status(response)

    def get_job(self, job_id: str) -> JobStatus:
        return self._status(self.api.request("GET", self.job_url(job_id)))

    def _status(self, response: httpx.Response) -> JobStatus:
        body = read_json(response, "SailPoint")
        if not isinstance(body, dict) or not isinstance(body.get("jobId"), str) or not body["jobId"]:
            raise UpstreamError(ErrorKind.TRANSIENT, "SailPoint answered a job without a jobId")
        job_id = upstream_id(body["jobId"], secret=sent_token(response))
        raw = self.api.text(response, body.get("status"), MAX_STATUS) or "UNKNOWN"
        state = job_state(STATES, raw, upstream="SailPoint", job_id=job_id)
        failed = state in (JobState.FAILED, JobState.CANCELLED)
        return JobStatus(
            job_id=job_id,
            state=state,
            upstream_status=raw,
            retry_after_s=self.api.retry_after(response),
            expires_at=normalise_timestamp(body.get("expiration")),
            failure_reason=self.api.text(response, body.get("message")) if failed else None,
            download_url=self.job_url(job_id) + self.content_suffix if state is JobState.SUCCEEDED else None,
            created_at=normalise_timestamp(body.get("created")),
        )
