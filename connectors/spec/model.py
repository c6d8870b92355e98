"""The connector spec grammar: one YAML document per export-job API, read into these models.

Why pydantic models: they are the grammar's one source. The loader validates a document with them, the JSON
Schema editors use (`connectors/specs/schema.json`) is generated from them, and the engine reads them. Every
model forbids unknown keys, so a misspelt key is refused rather than ignored. What the models cannot say (every
template names a field that exists, the origin rules, JMESPath that parses) is checked by `connectors.spec.checks`.

Every field is needed by at least one API of the living export APIs (the seeds Viva Goals and SailPoint SP-Config,
Intune report exports, Power BI ExportTo, Cost Management cost details, Salesforce Bulk API 2.0 query jobs);
`docs/connector-spec.md` names which. Names follow Airbyte's declarative `AsyncRetriever` where they match.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, JsonValue

from kernel.timestamps import CLOCK_SKEW

SPEC_NAME = r"^[a-z][a-z0-9_]{0,62}$"
PARAM_NAME = r"^[a-z][a-z0-9_]{0,62}$"
HTTP_STATUS = Annotated[int, Field(ge=100, le=599)]
Outcome = Literal["not_started", "running", "succeeded", "succeeded_with_warnings", "no_data", "failed", "cancelled"]
Method = Literal["GET", "POST", "PUT", "PATCH", "DELETE"]
JMESPath = Annotated[str, Field(min_length=1, max_length=500, description="a JMESPath expression")]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ParamSpec(_Strict):
    """One parameter of a target: its type and bounds (the validator and the schema are built from this)."""

    type: Literal["string", "integer", "number", "boolean", "list", "map", "object"]
    description: str | None = Field(default=None, max_length=500)
    wire: str | None = Field(default=None, max_length=100, description="the name the API uses; default the name")
    required: bool = False
    default: JsonValue = None
    enum: list[str] | None = Field(default=None, min_length=1, description="allowed values of a string")
    pattern: str | None = Field(default=None, max_length=500, description="a regular expression a string matches")
    min_length: int | None = Field(default=None, ge=0)
    max_length: int | None = Field(default=None, ge=0)
    minimum: float | None = None
    maximum: float | None = None
    items: ParamSpec | None = Field(default=None, description="the type of a list's items")
    keys: list[str] | None = Field(default=None, min_length=1, description="the keys a map may have")
    values: ParamSpec | None = Field(default=None, description="the type of a map's values")
    fields: dict[str, ParamSpec] | None = Field(default=None, description="the members of an object")


class RequestSpec(_Strict):
    """One HTTP request: to a path template under the target's base URL, or to the job reference itself.

    `path` is an RFC 6570 template with simple expansions only (`{params.x}`, `{job.id}`): each value becomes
    one escaped path segment. `query` values are text with placeholders (`{params.x}`, `{params.x|odata}` for an
    OData string literal whose quotes are doubled), each whole value sent escaped as one query value. `body` is
    JSON; a string that is exactly one placeholder is replaced by the value (any JSON type), structurally.
    """

    method: Method = "GET"
    path: str | None = Field(default=None, max_length=2000)
    url: Literal["job_ref"] | None = Field(default=None, description="send to the job reference (a URL)")
    query: dict[str, str] = Field(default_factory=dict)
    body: JsonValue = None
    headers: dict[str, str] = Field(default_factory=dict, description="literal extra headers (never Authorization)")
    omit_empty: bool = Field(default=False, description="leave out body members whose value is empty ('', [], {})")


class JobIdSpec(_Strict):
    """Where a create or poll answer names its job."""

    body: list[JMESPath] = Field(default_factory=list, description="paths in the job entity, tried in order")
    location: Literal["none", "last_segment", "url"] = Field(
        default="none",
        description="the Location header: its last path segment is the id, or the whole URL is the job reference",
    )


class CreateSpec(_Strict):
    request: RequestSpec
    accepted: list[HTTP_STATUS] = Field(default_factory=lambda: [200, 201, 202], min_length=1)
    no_data_status: HTTP_STATUS | None = Field(default=None, description="a status meaning: done, nothing to store")
    job_id: JobIdSpec = Field(default_factory=JobIdSpec)


class AdoptSpec(_Strict):
    """A create refused because a job is running: the running job's id, to adopt it."""

    statuses: list[HTTP_STATUS] = Field(default_factory=lambda: [409], min_length=1)
    job_id: list[JMESPath] = Field(default_factory=list, description="paths in the error body, tried in order")
    location: Literal["none", "last_segment"] = "none"


class FindOwnJobsSpec(_Strict):
    """A list of jobs, filtered to the ones this run may have created (best effort)."""

    request: RequestSpec
    items: JMESPath = Field(description="where the list of jobs is in the answer")
    match: dict[str, str] = Field(
        default_factory=dict, description="item path -> placeholder; compared case-insensitively"
    )
    clock_skew_s: float = Field(default=CLOCK_SKEW.total_seconds(), ge=0, le=3600)


class StateSpec(_Strict):
    """How a job's state reads: the HTTP status first (when it decides alone), else a body value through a table."""

    path: JMESPath | None = None
    values: dict[str, Outcome] = Field(default_factory=dict, description="upstream value (any case) -> outcome")
    http_status: dict[HTTP_STATUS, Outcome] = Field(
        default_factory=dict, description="statuses that decide the state alone"
    )


class RetryAfterSpec(_Strict):
    headers: list[str] = Field(default_factory=lambda: ["Retry-After"], min_length=1)
    statuses: list[HTTP_STATUS] | None = Field(default=None, description="statuses whose hint is read; default all")
    failed_with_retry_after: Literal["fail", "recreate"] = "fail"


class PollSpec(_Strict):
    request: RequestSpec
    id_in_body: bool = Field(default=True, description="a poll answer must name its job")


class JobSpec(_Strict):
    """How a job entity reads, in create and poll answers alike."""

    entity: JMESPath = Field(default="@", description="where the job entity is in an answer")
    created: JMESPath | None = None
    failure_reason: JMESPath | None = None
    failure_reason_when: Literal["failed", "always"] = "failed"


class PartsSpec(_Strict):
    items: JMESPath = Field(description="where the list of parts is")
    url: JMESPath
    name: JMESPath | None = None
    size: JMESPath | None = None


class ExpirySpec(_Strict):
    path: JMESPath | None = None
    sentinels: list[str] = Field(default_factory=list, description="values meaning 'not yet known'")
    sas_se_fallback: bool = Field(default=False, description="read the SAS `se=` of the result URL when no path")


class PaginationSpec(_Strict):
    kind: Literal["none", "header_cursor", "body_next_link"] = "none"
    header: str | None = None
    end_value: str | None = Field(default=None, description="the cursor value on the last page, e.g. 'null'")
    query_param: str | None = None
    next_link: JMESPath | None = None


class RecordsSpec(_Strict):
    format: Literal["csv", "json_array_at_path", "ndjson"]
    path: JMESPath | None = None


class ResultSpec(_Strict):
    """Where a finished job's result is, how long it lives, and how it reads."""

    urls: list[JMESPath] = Field(default_factory=list, description="paths of one URL, tried in order")
    parts: PartsSpec | None = None
    path: str | None = Field(default=None, max_length=2000, description="a fixed path template on the API")
    request: RequestSpec | None = Field(default=None, description="an extra request whose answer holds the URLs")
    expiry: ExpirySpec = Field(default_factory=ExpirySpec)
    gone_statuses: list[HTTP_STATUS] = Field(default_factory=lambda: [404, 410])
    allowed_hosts: list[str] = Field(default_factory=list, description="foreign hosts fetched without the token")
    pagination: PaginationSpec = Field(default_factory=PaginationSpec)
    encoding: Literal["none", "gzip", "zip"] = "none"
    media_type: str | None = None
    suffix: str | None = Field(default=None, pattern=r"^\.[a-z0-9]{1,10}$")
    records: RecordsSpec | None = None


CleanupWhen = Literal["after_store", "on_cancel", "on_deadline"]


class CleanupSpec(_Strict):
    request: RequestSpec
    when: list[CleanupWhen] | Literal["never"] = Field(default_factory=lambda: list[CleanupWhen](["after_store"]))
    states: list[Outcome] | None = Field(default=None, description="only for jobs in these states; default any")


class AuthSpec(_Strict):
    profile: str = Field(description="an auth profile from the closed set in code")
    token_path: str | None = Field(default=None, description="OAuth token endpoint path on the API origin")
    scopes: list[str] = Field(
        default_factory=list,
        max_length=20,
        description="delegated scopes a signed-in user's token needs, when the target names none",
    )


class ErrorsSpec(_Strict):
    envelope: str = Field(description="an error envelope parser from the closed set in code")
    hint: str = Field(description="a credential hint from the closed set in code")


class ApiSpec(_Strict):
    example_base_url: str = Field(description="the API base a target usually names, https")
    display_name: str | None = Field(default=None, max_length=60, description="how messages name the API")
    min_interval_s: float = Field(default=0.0, ge=0, le=3600, description="least time between two calls")
    base_from_token: Literal["none", "instance_url"] = Field(
        default="none",
        description="instance_url: the API origin is the token response's instance_url (the target's base URL is "
        "where the token is asked), checked against instance_hosts before any token is sent there",
    )
    instance_hosts: list[str] = Field(
        default_factory=list, description="host patterns an instance_url must match, e.g. '*.my.salesforce.com'"
    )


class ConnectorSpec(_Strict):
    """One export-job API."""

    name: str = Field(pattern=SPEC_NAME)
    aliases: list[Annotated[str, Field(pattern=SPEC_NAME)]] = Field(
        default_factory=list, description="other names targets may give as `connector` (earlier names)"
    )
    description: str | None = Field(default=None, max_length=2000)
    api: ApiSpec
    auth: AuthSpec
    errors: ErrorsSpec
    params: dict[str, ParamSpec] = Field(default_factory=dict)
    transforms: list[str] = Field(default_factory=list, description="named param transforms from code")
    create: CreateSpec
    adopt_on: AdoptSpec | None = None
    find_own_jobs: FindOwnJobsSpec | None = None
    job: JobSpec = Field(default_factory=JobSpec)
    poll: PollSpec
    state: StateSpec
    retry_after: RetryAfterSpec = Field(default_factory=RetryAfterSpec)
    result: ResultSpec
    cleanup: list[CleanupSpec] = Field(default_factory=list)
