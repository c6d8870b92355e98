"""The one connector that drives every spec: create, adopt, find its own job, poll, open the result, clean up.

Why one engine: the guarantees (Retry-After, 409 adoption, expiry, bearer only to the API origin, bounded and
redacted upstream text, streamed downloads) are written once, here and below (`ApiClient`, `ResultDownloads`),
and every spec gets them; a spec says only where things are. Security is the engine's, never the spec's: a URL
taken from an upstream answer (a Location job reference, a result link) is followed only when it is on the API
origin (then with the token) or on a host the spec allows (then without), and that is checked on every use.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from fnmatch import fnmatchcase
from typing import Any
from urllib.parse import parse_qs, unquote, urljoin, urlsplit

import httpx
from pydantic import BaseModel

from connectors.base import CleanupWhen, ContentStream, JobState, JobStatus, ResultLayout, ResultPart, job_state
from connectors.credential_interface import TokenProvider
from connectors.http.addresses import loopback_allowed
from connectors.http.api_client import ApiClient, Clock, utcnow
from connectors.http.content_stream import HttpContentStream
from connectors.http.deadline import within
from connectors.http.envelopes import error_body_json
from connectors.http.retry_after import parse_retry_after
from connectors.http.transport import HttpSettings, read_json, sent_token
from connectors.http.upstream_ids import upstream_id, without_credential
from connectors.http.urls import check_download_url, check_server_given, is_loopback, origin_of, same_origin
from connectors.spec import hooks
from connectors.spec.model import ConnectorSpec, Outcome, RequestSpec
from connectors.spec.params import build_model, to_wire
from connectors.spec.paths import first, search
from connectors.spec.results import ResultDownloads, ResultReader
from connectors.spec.templates import TemplateError, Values, fill_body, fill_path, fill_text
from kernel.errors import ErrorKind, UpstreamError
from kernel.redaction import MAX_STATUS, clip, holds_secret
from kernel.results import CleanupOutcome
from kernel.timestamps import normalise_timestamp, parse_timestamp, to_iso

log = logging.getLogger(__name__)

OUTCOMES: Mapping[Outcome, JobState] = {
    "not_started": JobState.NOT_STARTED,
    "running": JobState.RUNNING,
    "succeeded": JobState.SUCCEEDED,
    "succeeded_with_warnings": JobState.SUCCEEDED_WITH_WARNINGS,
    "no_data": JobState.NO_DATA,
    "failed": JobState.FAILED,
    "cancelled": JobState.CANCELLED,
}
STATE_OUTCOME = {state: outcome for outcome, state in OUTCOMES.items()}
LOOKUP_DEADLINE_S = 20.0  # the own-job look-up may delay a create by this much at most
MAX_LOOKUP_REASON = 300  # why the own-job look-up was skipped, as logged


_models: dict[int, tuple[ConnectorSpec, type[BaseModel]]] = {}


def params_model(spec: ConnectorSpec) -> type[BaseModel]:
    """The validator of a spec's params, built once per spec object (specs are loaded once per process)."""
    known = _models.get(id(spec))
    if known is None or known[0] is not spec:
        known = _models[id(spec)] = (spec, build_model(f"{spec.name}_params", spec.params, tuple(spec.transforms)))
    return known[1]


def validate_params(spec: ConnectorSpec, params: Mapping[str, Any]) -> dict[str, Any]:
    """A target's params, checked and normalised (raises pydantic's ValidationError or ValueError)."""
    return params_model(spec).model_validate(dict(params)).model_dump(mode="json", exclude_none=True)


def location_job_id(location: str | None) -> str | None:
    """The job id at the end of a `Location` header's value, which Graph sometimes wraps in quotes; None when
    there is none or the value cannot be parsed."""
    return last_segment((location or "").strip().strip('"').strip() or None)


def location_value(response: httpx.Response) -> str | None:
    """The `Location` header, unquoted (Graph sometimes wraps it in quotes), or None."""
    value = response.headers.get("Location", "").strip().strip('"').strip()
    return value or None


def last_segment(url: str | None) -> str | None:
    """The id at the end of a URL's path, unescaped, or None (also for a URL that cannot be parsed)."""
    if not url:
        return None
    try:
        path = urlsplit(url).path.rstrip("/")
    except ValueError:  # an unparseable Location (`http://[::1/x`) names no job; the body's id stands
        return None
    last = unquote(path.rsplit("/", 1)[-1]) if "/" in path else ""
    return last or None


@dataclass(frozen=True)
class PlannedRequest:
    """A request as it would be sent (without its Authorization header)."""

    method: str
    url: str
    query: dict[str, str]
    body: Any
    headers: dict[str, str]

    def full_url(self) -> str:
        return str(httpx.URL(self.url, params=self.query or None))


class SpecConnector:
    """An `ExportConnector` whose every step is read from a `ConnectorSpec`."""

    def __init__(
        self,
        spec: ConnectorSpec,
        base_url: str,
        params: Mapping[str, Any],
        tokens: TokenProvider,
        *,
        client: httpx.Client | None = None,
        clock: Clock = utcnow,
        settings: HttpSettings | None = None,
        max_export_bytes: int | None = None,
    ) -> None:
        self.spec = spec
        self.name = spec.name
        self.upstream = spec.api.display_name or spec.name  # how messages name the API
        self.clock = clock
        self.min_interval_s = spec.api.min_interval_s
        self.params = validate_params(spec, params)
        self.wire = to_wire(self.params, spec.params)
        self._base_url, self._tokens = base_url, tokens
        self._client, self._settings = client, settings
        self._api: ApiClient | None = None
        self._results: ResultDownloads | None = None
        self.max_export_bytes = max_export_bytes
        self._states = {value.lower(): OUTCOMES[outcome] for value, outcome in spec.state.values.items()}

    # The API client, built at its first use: its origin may come from the token response

    @property
    def api(self) -> ApiClient:
        if self._api is None:
            self._api = ApiClient(
                self._api_base(),
                self._tokens,
                hooks.ENVELOPES[self.spec.errors.envelope],
                client=self._client,
                settings=self._settings,
                clock=self.clock,
                auth_hint=hooks.HINTS[self.spec.errors.hint],
            )
        return self._api

    @property
    def results(self) -> ResultDownloads:
        if self._results is None:
            self._results = ResultDownloads(self.api, frozenset(self.spec.result.gone_statuses), self.max_export_bytes)
        return self._results

    def _api_base(self) -> str:
        """The target's base URL, or (`api.base_from_token: instance_url`) the origin the token response names,
        checked before any token is sent there: https (loopback only while loopback upstreams are allowed) and
        on a host the spec's `instance_hosts` allow. A credential that names no instance (a ready bearer token)
        keeps the target's base URL, which then is the instance."""
        if self.spec.api.base_from_token == "none" or not hasattr(self._tokens, "instance_url"):  # noqa: S105
            return self._base_url
        self._tokens.get_token()
        instance = getattr(self._tokens, "instance_url", None)
        if not isinstance(instance, str) or not instance.strip():
            return self._base_url
        return self.checked_instance(instance)

    def checked_instance(self, instance: str) -> str:
        """The origin of a token response's `instance_url` we may send the token to; else PERMANENT."""
        url = check_download_url(instance)
        origin = origin_of(url)
        host = origin.host
        if is_loopback(host):
            allowed = loopback_allowed()  # as for every server-given location: the simulator, in development
        else:
            allowed = origin.scheme == "https" and any(
                fnmatchcase(host, pattern) for pattern in self.spec.api.instance_hosts
            )
        if not allowed:
            raise UpstreamError(
                ErrorKind.PERMANENT,
                f"{self.upstream}: the token response names the instance {host}, a host this connector's spec does "
                "not allow; no token was sent there",
            )
        return origin.url()

    # Requests

    def _values(self, job_id: str | None = None, job_ref: str | None = None) -> Values:
        return Values(self.wire, job_id=job_id, job_ref=job_ref)

    def plan(self, request: RequestSpec, job_id: str | None = None, job_ref: str | None = None) -> PlannedRequest:
        """The request `request` stands for, filled from the params and the job; nothing is sent."""
        values = self._values(job_id, job_ref)
        try:
            url = (
                self._ref_url(values.job_ref)
                if request.url == "job_ref"
                else self.api.url(fill_path(request.path or "", values))
            )
            query = {key: fill_text(value, values) for key, value in request.query.items()}
            body = fill_body(request.body, values, omit_empty=request.omit_empty) if request.body is not None else None
        except TemplateError as exc:
            raise UpstreamError(ErrorKind.PERMANENT, f"{self.upstream}: cannot build the request: {exc}") from None
        return PlannedRequest(request.method, url, query, body, dict(request.headers))

    def _send(
        self,
        request: RequestSpec,
        values: Values,
        on_error: Callable[[httpx.Response], UpstreamError] | None = None,
    ) -> httpx.Response:
        planned = self.plan(request, values.job_id, values.job_ref)
        kwargs: dict[str, Any] = {}
        if planned.query:
            kwargs["params"] = planned.query
        if planned.body is not None:
            kwargs["json"] = planned.body
        if planned.headers:
            kwargs["headers"] = planned.headers
        return self.api.request(planned.method, planned.url, on_error=on_error, **kwargs)

    def _ref_url(self, ref: str | None) -> str:
        """The job reference as a URL we may send the token to: https (or loopback) on the API origin only."""
        if not ref:
            raise UpstreamError(ErrorKind.PERMANENT, f"{self.upstream}: this job has no reference URL to poll")
        url = check_download_url(ref)
        if not same_origin(url, self.api.base_url):
            raise UpstreamError(
                ErrorKind.PERMANENT,
                f"{self.upstream}: the job reference is not on the API origin; the token never leaves it",
            )
        return url

    def _body(self, response: httpx.Response) -> Any:
        return read_json(response, self.upstream) if response.content.strip() else None

    def _retry_after(self, response: httpx.Response) -> float | None:
        rule = self.spec.retry_after
        if rule.statuses is not None and response.status_code not in rule.statuses:
            return None
        for header in rule.headers:
            if header in response.headers:
                return parse_retry_after(response.headers[header], self.clock())
        return None

    # Create, adopt, find

    def start_job(self) -> JobStatus:
        create = self.spec.create
        response = self._send(create.request, self._values(), on_error=self._create_error)
        if create.no_data_status is not None and response.status_code == create.no_data_status:
            stamp = to_iso(self.clock()).replace("-", "").replace(":", "").split(".")[0]
            return JobStatus(
                job_id=f"no-data-{stamp}", state=JobState.NO_DATA, upstream_status=f"HTTP {response.status_code}"
            )
        if response.status_code not in create.accepted:
            raise UpstreamError(
                ErrorKind.PERMANENT,
                f"{self.upstream}: create answered HTTP {response.status_code}, not one of {create.accepted}",
                status_code=response.status_code,
            )
        body = self._body(response) if create.job_id.body else None
        entity = search(self.spec.job.entity, body) if body is not None else None
        job_id, job_ref = self._created_job(response, entity)
        return self._status(response, entity, job_id, job_ref)

    def _created_job(self, response: httpx.Response, entity: Any) -> tuple[str, str | None]:
        rule = self.spec.create.job_id
        from_body = first(rule.body, entity) if rule.body else None
        location = location_value(response) if rule.location != "none" else None
        job_ref, sent = None, sent_token(response)
        if rule.location == "url" and location is not None:
            job_ref = without_credential(self._ref_url(self._joined(location)), "job location", sent)
        located = last_segment(job_ref or location)
        if from_body is not None and located is not None and str(from_body) != located:
            log.warning("%s create: Location names another job than the body; using the body's id", self.upstream)
        found = from_body if from_body is not None else located
        if found is None:
            raise UpstreamError(ErrorKind.TRANSIENT, f"{self.upstream} answered a job without an id")
        return upstream_id(found, secret=sent), job_ref

    def _joined(self, url: str) -> str:
        """A server-given URL made absolute against the API; one that cannot be parsed is a permanent error."""
        try:
            return urljoin(self.api.base_url + "/", url.strip())
        except ValueError:
            raise UpstreamError(ErrorKind.PERMANENT, f"{self.upstream} answered a URL that cannot be parsed") from None

    def _create_error(self, response: httpx.Response) -> UpstreamError:
        error = self.api.classify(response)
        adopt = self.spec.adopt_on
        if adopt is None or response.status_code not in adopt.statuses:
            return error
        sent = sent_token(response)
        found = first(adopt.job_id, error_body_json(response.content)) if adopt.job_id else None
        if isinstance(found, str) and holds_secret(found, sent):
            found = None  # dropped as the error envelope drops it: a body field is not an id to refuse loudly
        if found is None and adopt.location == "last_segment":
            found = last_segment(location_value(response))
        error.kind = ErrorKind.CONFLICT
        error.existing_job_id = upstream_id(found, secret=sent) if found is not None else None
        if error.existing_job_id is None:  # a conflict we cannot adopt: say so rather than loop
            error.kind = ErrorKind.PERMANENT
            error.message += " (no running job id was given to adopt)"
        return error

    def find_own_jobs(self, not_before: datetime, now: datetime | None = None) -> list[JobStatus]:
        """Live jobs of these params created since `not_before` (when our create was first decided; within the
        clock skew), newest first.

        Best effort: the list call gets `LOOKUP_DEADLINE_S`, not a whole call's deadline; a refused or unreadable
        list is logged and reads as no job, so it never stops a create; an item that cannot be read (an unusable
        id, location or status) is skipped and counted in one warning.
        """
        rule = self.spec.find_own_jobs
        if rule is None:
            return []
        now = now or datetime.now(UTC)
        skew = timedelta(seconds=rule.clock_skew_s)
        try:
            with within(LOOKUP_DEADLINE_S):
                response = self._send(rule.request, self._values())
            items = search(rule.items, self._body(response))
        except UpstreamError as error:
            reason = clip(str(error), MAX_LOOKUP_REASON)
            log.warning("%s: the look-up of this run's own jobs failed (%s); creating as usual", self.name, reason)
            return []
        found: list[tuple[datetime, JobStatus]] = []
        unreadable: list[str] = []
        for item in items if isinstance(items, list) else []:
            if not self._matches(item, rule.match):
                continue
            try:
                job = self._listed_job(response, item)
            except UpstreamError as error:
                unreadable.append(error.message)
                continue
            created, expires = parse_timestamp(job.created_at), parse_timestamp(job.expires_at)
            if created is None or not not_before - skew <= created <= now + skew:
                continue
            if job.state not in (JobState.FAILED, JobState.CANCELLED) and (expires is None or expires > now):
                found.append((created, job))
        if unreadable:
            log.warning(
                "%s job list: skipped %d job(s) of these params that cannot be read (first: %s)",
                self.upstream,
                len(unreadable),
                clip(unreadable[0], 200),
            )
        return [job for _, job in sorted(found, key=lambda pair: pair[0], reverse=True)]

    def _listed_job(self, response: httpx.Response, item: Any) -> JobStatus:
        entity = search(self.spec.job.entity, item)
        job_id = first(self.spec.create.job_id.body, entity)
        if job_id is None:
            raise UpstreamError(ErrorKind.TRANSIENT, f"{self.upstream} listed a job without an id")
        return self._status(response, entity, upstream_id(job_id, secret=sent_token(response)), None, retry_after=False)

    def _matches(self, item: Any, match: Mapping[str, str]) -> bool:
        values = self._values()
        for path, placeholder in match.items():
            expected = values.get(placeholder.strip()[1:-1])
            actual = search(path, item)
            if not isinstance(actual, str | int) or str(actual).strip().lower() != str(expected).strip().lower():
                return False
        return True

    # Poll

    def get_job(self, job_id: str, job_ref: str | None = None) -> JobStatus:
        return self.read_job(self._send(self.spec.poll.request, self._values(job_id, job_ref)), job_id, job_ref)

    def read_job(self, response: httpx.Response, job_id: str, job_ref: str | None = None) -> JobStatus:
        """The job status a poll answer describes (`job_id` is the job polled), or a classified error."""
        body = self._body(response)
        entity = search(self.spec.job.entity, body) if body is not None else None
        if self.spec.poll.id_in_body and response.status_code not in self.spec.state.http_status:
            found = first(self.spec.create.job_id.body, entity)
            if found is None:
                raise UpstreamError(ErrorKind.TRANSIENT, f"{self.upstream} answered a job without an id")
            job_id = upstream_id(found, secret=sent_token(response))
        return self._status(response, entity, job_id, job_ref)

    def check_job(self, job: JobStatus) -> JobStatus:
        return self.get_job(job.job_id, job.job_ref)

    def _state(self, response: httpx.Response, entity: Any, job_id: str) -> tuple[JobState, str]:
        decided = self.spec.state.http_status.get(response.status_code)
        if decided is not None:
            return OUTCOMES[decided], f"HTTP {response.status_code}"
        raw = self.api.text(
            response, search(self.spec.state.path, entity) if self.spec.state.path else None, MAX_STATUS
        )
        raw = raw or "unknown"
        return job_state(self._states, raw, upstream=self.upstream, job_id=job_id), raw

    def _status(
        self, response: httpx.Response, entity: Any, job_id: str, job_ref: str | None, *, retry_after: bool = True
    ) -> JobStatus:
        """Every upstream string bounded where it enters: the id checked, texts redacted and cut, URLs checked."""
        job = self.spec.job
        state, raw = self._state(response, entity, job_id)
        wait = self._retry_after(response) if retry_after else None
        failed = state in (JobState.FAILED, JobState.CANCELLED)
        reason = None
        if job.failure_reason is not None and (failed or job.failure_reason_when == "always"):
            reason = self.api.text(response, search(job.failure_reason, entity))
        if (
            state is JobState.FAILED
            and wait is not None
            and self.spec.retry_after.failed_with_retry_after == "recreate"
        ):
            reason = f"the service was busy; create the export again after {wait:.0f} s" + (
                f": {reason}" if reason else ""
            )
        parts = (
            self._parts(response, entity, job_id)
            if state in (JobState.SUCCEEDED, JobState.SUCCEEDED_WITH_WARNINGS)
            else ()
        )
        return JobStatus(
            job_id=job_id,
            state=state,
            upstream_status=raw,
            retry_after_s=wait,
            expires_at=self._expiry(entity, parts),
            failure_reason=reason,
            download_url=parts[0].url if len(parts) == 1 else None,
            created_at=normalise_timestamp(search(job.created, entity)) if job.created else None,
            job_ref=job_ref,
            parts=parts if len(parts) > 1 else (),
        )

    # Result

    def _parts(self, response: httpx.Response, entity: Any, job_id: str) -> tuple[ResultPart, ...]:
        """The result's parts as the finished job's answer names them; () when an extra request says."""
        result = self.spec.result
        if result.request is not None:
            return ()
        found = self._parts_in(response, entity)
        if found:
            return found
        if result.path is not None:
            return (ResultPart(self.plan(RequestSpec(path=result.path), job_id).url),)
        return ()

    def _parts_in(self, response: httpx.Response, data: Any) -> tuple[ResultPart, ...]:
        result = self.spec.result
        if result.parts is not None:
            items = search(result.parts.items, data)
            parts = []
            for item in items if isinstance(items, list) else []:
                url = search(result.parts.url, item)
                if not isinstance(url, str) or not url:
                    continue
                name = search(result.parts.name, item) if result.parts.name else None
                size = search(result.parts.size, item) if result.parts.size else None
                parts.append(
                    ResultPart(
                        self._result_url(response, url),
                        self.api.text(response, name, 200),
                        size if isinstance(size, int) and not isinstance(size, bool) and size >= 0 else None,
                    )
                )
            return tuple(parts)
        url = first(result.urls, data)
        return (ResultPart(self._result_url(response, url)),) if isinstance(url, str) and url else ()

    def _result_url(self, response: httpx.Response, url: str) -> str:
        """A result URL from an answer: checked, and refused when it holds the credential that answer's request
        carried (it would be kept in manifests, histories and events)."""
        return without_credential(self.checked_result_url(url), "download location", sent_token(response))

    def checked_result_url(self, url: str) -> str:
        """A result URL we may fetch: on the API origin, or on a host the spec allows (fetched without the token)."""
        checked = check_download_url(self._joined(url))
        if same_origin(checked, self.api.base_url):
            return checked
        checked = check_server_given(checked)  # this machine only with its switch; private, metadata never
        host = origin_of(checked).host
        allowed = any(fnmatchcase(host, pattern) for pattern in self.spec.result.allowed_hosts)
        if not allowed and not is_loopback(host):
            raise UpstreamError(
                ErrorKind.PERMANENT,
                f"{self.upstream}: the result is on {host}, a host this connector's spec does not allow",
            )
        return checked

    def _expiry(self, entity: Any, parts: tuple[ResultPart, ...]) -> str | None:
        rule = self.spec.result.expiry
        value = search(rule.path, entity) if rule.path else None
        if isinstance(value, str) and value.strip() in rule.sentinels:
            value = None
        if value is None and rule.sas_se_fallback and parts:
            value = parse_qs(urlsplit(parts[0].url).query).get("se", [None])[0]
        return normalise_timestamp(value)

    def result_parts(self, job: JobStatus) -> list[ResultPart]:
        if job.parts:
            return list(job.parts)
        if job.download_url:
            return [ResultPart(job.download_url)]
        result = self.spec.result
        if result.request is not None:
            response = self._send(result.request, self._values(job.job_id, job.job_ref))
            found = self._parts_in(response, self._body(response))
            if not found:
                raise UpstreamError(ErrorKind.TRANSIENT, f"{self.upstream} answered no result location")
            return list(found)
        if result.path is not None:
            return [ResultPart(self.plan(RequestSpec(path=result.path), job.job_id, job.job_ref).url)]
        raise UpstreamError(ErrorKind.TRANSIENT, f"{self.upstream}: the finished job names no result")

    @contextmanager
    def open_part(self, job: JobStatus, part: ResultPart) -> Iterator[HttpContentStream]:
        with self.results.open(job, self.checked_result_url(part.url)) as stream:
            yield stream

    def iter_result(self, job: JobStatus) -> Iterator[tuple[ResultPart, ContentStream]]:
        """Every part of the result in order (files, pages, zip members), each open only until the next is asked."""
        yield from ResultReader(self, self.max_export_bytes).iter_parts(job)

    def result_layout(self, job: JobStatus) -> ResultLayout:
        """Parts when the spec's result is pages, zip members or a list of files (even a list of one), else one
        file; the records as the spec says."""
        result = self.spec.result
        multi = (
            result.pagination.kind != "none"
            or result.encoding == "zip"
            or result.parts is not None
            or len(job.parts) > 1
        )
        records = result.records
        return ResultLayout(
            multi_part=multi,
            records=records.format if records else None,
            records_path=records.path if records else None,
        )

    @contextmanager
    def open_content(self, job: JobStatus) -> Iterator[HttpContentStream]:
        """The first (for the seeds: the only) part of the result."""
        with self.open_part(job, self.result_parts(job)[0]) as stream:
            yield stream

    # Cleanup

    def cleanup(self, job: JobStatus, when: CleanupWhen) -> CleanupOutcome:
        """Every cleanup request of the spec for `when` and the job's state, each retried once; never raises."""
        sent, errors = False, []
        outcome = STATE_OUTCOME.get(job.state)
        for rule in self.spec.cleanup:
            if (
                rule.when == "never"
                or when not in rule.when
                or (rule.states is not None and outcome not in rule.states)
            ):
                continue
            sent = True
            for attempt in (1, 2):
                try:
                    self._send(rule.request, self._values(job.job_id, job.job_ref))
                    break
                except UpstreamError as error:
                    if attempt == 2:
                        log.warning("%s: cleanup of job %s failed: %s", self.name, job.job_id, error)
                        errors.append(str(error))
        return CleanupOutcome(sent=sent, error="; ".join(errors) or None)
