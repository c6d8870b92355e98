"""What a spec must satisfy beyond its grammar, each failure one located message.

Why: the models say what each key may hold; these checks say how keys agree with each other and with the code.
Every template names a field that exists (a declared param, or the job where there is one); every name of code
(auth profile, envelope, hint, transform) is in its closed set; every JMESPath parses; and the origin rules
hold: a path is relative to the target's base URL (so a token can only go to the API origin), a token endpoint
is a path on that origin, a foreign host (fetched without the token) is a host pattern, never a URL or an IP.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from connectors.spec import hooks
from connectors.spec.model import ConnectorSpec, ParamSpec, RequestSpec
from connectors.spec.paths import PathError, compiled
from connectors.spec.templates import TemplateError, body_names, path_names, text_names

Problem = tuple[str, str]  # (key path, what was expected)
HOST_PATTERN = re.compile(r"^(\*\.)?(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
HEADER_NAME = re.compile(r"^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,100}$")
FORBIDDEN_HEADERS = frozenset({"authorization", "cookie", "host", "proxy-authorization", "content-length"})
PARAM_NAME = re.compile(r"^[a-z][a-z0-9_]{0,62}$")


MSAL_RESERVED = frozenset({"openid", "profile", "offline_access"})  # MSAL requests these itself


def problems(spec: ConnectorSpec) -> Iterator[Problem]:
    """Every problem of `spec`, in document order; none means it may run."""
    yield from _named_code(spec)
    yield from _params(spec.params, "params")
    yield from _requests(spec)
    yield from _paths(spec)
    yield from _rules(spec)


def _named_code(spec: ConnectorSpec) -> Iterator[Problem]:
    tables: list[tuple[str, str, Any]] = [
        ("auth.profile", spec.auth.profile, hooks.AUTH_PROFILES),
        ("errors.envelope", spec.errors.envelope, hooks.ENVELOPES),
        ("errors.hint", spec.errors.hint, hooks.HINTS),
    ]
    tables += [(f"transforms.{i}", name, hooks.TRANSFORMS) for i, name in enumerate(spec.transforms)]
    for where, name, table in tables:
        if name not in table:
            yield where, f"one of {', '.join(sorted(table))} (names of code), got {name!r}"
    profile = hooks.AUTH_PROFILES.get(spec.auth.profile)
    token_path = spec.auth.token_path
    if token_path is not None:
        if "://" in token_path or not token_path.startswith("/") or token_path.startswith("//"):
            expected = "a path on the API origin starting with '/' (a token never leaves it)"
            yield "auth.token_path", f"{expected}, got {token_path!r}"
        elif profile is not None and not profile.token_path_allowed:
            yield "auth.token_path", f"auth profile {spec.auth.profile!r} takes no token path"
    for index, scope in enumerate(spec.auth.scopes):
        if not scope or any(char.isspace() for char in scope) or scope.lower() in MSAL_RESERVED:
            yield f"auth.scopes.{index}", f"a scope name without spaces, not one MSAL adds itself, got {scope!r}"
    if spec.auth.scopes and profile is not None and "msal_token_cache" not in profile.kinds:
        yield "auth.scopes", f"no scopes: auth profile {spec.auth.profile!r} takes no signed-in user's token"
    if spec.api.base_from_token != "none" and not spec.api.instance_hosts:  # noqa: S105 (a mode, not a secret)
        yield "api.instance_hosts", "the host patterns an instance_url must match (base_from_token needs them)"
    for index, pattern in enumerate(spec.api.instance_hosts):
        if not pattern.startswith("*.") or pattern.count("*") != 1 or "/" in pattern or ":" in pattern:
            yield f"api.instance_hosts.{index}", f"a host pattern like '*.my.example.com', got {pattern!r}"
    base = spec.api.example_base_url
    if not base.startswith("https://") or "?" in base or "#" in base or "@" in base:
        yield "api.example_base_url", f"an https URL without query, fragment or credentials, got {base!r}"


def _params(params: dict[str, ParamSpec], where: str) -> Iterator[Problem]:
    for name, spec in params.items():
        here = f"{where}.{name}"
        if not PARAM_NAME.match(name):
            yield here, "a parameter name of lowercase letters, digits and '_', starting with a letter"
        needs = {"list": "items", "map": "values", "object": "fields"}.get(spec.type)
        if needs is not None and getattr(spec, needs) is None:
            yield here, f"a {spec.type} parameter needs {needs!r}"
        if spec.enum is not None and spec.type != "string":
            yield f"{here}.enum", "enum applies to string parameters only"
        if spec.keys is not None and spec.type != "map":
            yield f"{here}.keys", "keys apply to map parameters only"
        if spec.pattern is not None:
            try:
                re.compile(spec.pattern)
            except re.error as exc:
                yield f"{here}.pattern", f"a regular expression that compiles ({exc})"
        if spec.required and spec.default is not None:
            yield f"{here}.default", "a required parameter has no default"
        if spec.items is not None:
            yield from _params({"items": spec.items}, here)
        if spec.values is not None:
            yield from _params({"values": spec.values}, here)
        if spec.fields is not None:
            yield from _params(spec.fields, f"{here}.fields")


def _all_requests(spec: ConnectorSpec) -> Iterator[tuple[str, RequestSpec, bool]]:
    """(key path, request, whether a job exists when it is sent)."""
    yield "create.request", spec.create.request, False
    if spec.find_own_jobs is not None:
        yield "find_own_jobs.request", spec.find_own_jobs.request, False
    yield "poll.request", spec.poll.request, True
    if spec.result.request is not None:
        yield "result.request", spec.result.request, True
    for index, cleanup in enumerate(spec.cleanup):
        yield f"cleanup.{index}.request", cleanup.request, True


def _check_name(name: str, spec: ConnectorSpec, has_job: bool, url_ref: bool) -> str | None:
    if name.startswith("params."):
        param = name.removeprefix("params.")
        return None if param in spec.params else f"{{{name}}} names no declared parameter"
    if not has_job:
        return f"{{{name}}}: there is no job yet when this request is sent"
    if name == "job.ref" and not url_ref:
        return "{job.ref} needs a job reference that is a URL (create.job_id.location: url)"
    return None


def _requests(spec: ConnectorSpec) -> Iterator[Problem]:
    url_ref = spec.create.job_id.location == "url"
    for where, request, has_job in _all_requests(spec):
        if (request.path is None) == (request.url is None):
            yield where, "exactly one of path (a template under base_url) or url: job_ref"
            continue
        if request.url is not None and not (has_job and url_ref):
            yield f"{where}.url", "url: job_ref needs a job reference that is a URL (create.job_id.location: url)"
        found: list[tuple[str, list[str]]] = []
        try:
            if request.path is not None:
                found.append((f"{where}.path", path_names(request.path)))
            for key, value in request.query.items():
                found.append((f"{where}.query.{key}", text_names(value)))
            found.append((f"{where}.body", list(body_names(request.body))))
        except TemplateError as exc:
            yield where, str(exc)
            continue
        for key_path, names in found:
            for name in names:
                if name == "job.ref" and key_path.endswith(".path"):
                    yield key_path, "{job.ref} is a URL, never a path segment; use url: job_ref"
                    continue
                problem = _check_name(name, spec, has_job, url_ref)
                if problem is not None:
                    yield key_path, problem
        for header in request.headers:
            if not HEADER_NAME.match(header) or header.lower() in FORBIDDEN_HEADERS:
                yield f"{where}.headers.{header}", "a plain header name other than Authorization, Cookie or Host"
        if request.method == "GET" and request.body is not None:
            yield f"{where}.body", "a GET request has no body"
    if spec.result.path is not None:
        try:
            for name in path_names(spec.result.path):
                problem = _check_name(name, spec, True, url_ref)
                if problem is not None or name == "job.ref":
                    yield "result.path", problem or "{job.ref} is a URL, never a path segment"
        except TemplateError as exc:
            yield "result.path", str(exc)
    if spec.find_own_jobs is not None:
        for key, value in spec.find_own_jobs.match.items():
            names = text_names(value) if "{" in value else []
            if len(names) != 1 or value.strip() != "{" + names[0] + "}":
                yield f"find_own_jobs.match.{key}", "exactly one placeholder such as {params.x}"
            elif (problem := _check_name(names[0], spec, False, url_ref)) is not None:
                yield f"find_own_jobs.match.{key}", problem


def _expressions(spec: ConnectorSpec) -> Iterator[tuple[str, str]]:
    yield from ((f"create.job_id.body.{i}", e) for i, e in enumerate(spec.create.job_id.body))
    if spec.adopt_on is not None:
        yield from ((f"adopt_on.job_id.{i}", e) for i, e in enumerate(spec.adopt_on.job_id))
    if spec.find_own_jobs is not None:
        yield "find_own_jobs.items", spec.find_own_jobs.items
        yield from ((f"find_own_jobs.match.{k}", k) for k in spec.find_own_jobs.match)
    job = spec.job
    yield from (
        (f"job.{key}", value)
        for key, value in (("entity", job.entity), ("created", job.created), ("failure_reason", job.failure_reason))
        if value is not None
    )
    if spec.state.path is not None:
        yield "state.path", spec.state.path
    result = spec.result
    yield from ((f"result.urls.{i}", e) for i, e in enumerate(result.urls))
    if result.parts is not None:
        for key in ("items", "url", "name", "size"):
            value = getattr(result.parts, key)
            if value is not None:
                yield f"result.parts.{key}", value
    if result.expiry.path is not None:
        yield "result.expiry.path", result.expiry.path
    if result.pagination.next_link is not None:
        yield "result.pagination.next_link", result.pagination.next_link
    if result.records is not None and result.records.path is not None:
        yield "result.records.path", result.records.path


def _paths(spec: ConnectorSpec) -> Iterator[Problem]:
    for where, expression in _expressions(spec):
        try:
            compiled(expression)
        except PathError as exc:
            yield where, f"a JMESPath expression that parses ({exc})"


def _rules(spec: ConnectorSpec) -> Iterator[Problem]:
    create, state, result = spec.create, spec.state, spec.result
    if not create.job_id.body and create.job_id.location == "none":
        yield "create.job_id", "where the job is: body paths, the Location header, or both"
    if create.no_data_status is not None and create.no_data_status in create.accepted:
        yield "create.no_data_status", "a status apart from the accepted ones"
    no_data = [] if create.no_data_status is None else [create.no_data_status]
    if any(not 200 <= status < 300 for status in [*create.accepted, *no_data]):
        yield "create.accepted", "2xx statuses only (an error status is classified, never accepted)"
    if spec.adopt_on is not None:
        if not spec.adopt_on.job_id and spec.adopt_on.location == "none":
            yield "adopt_on", "where the running job's id is: error body paths, the Location header, or both"
        if set(spec.adopt_on.statuses) & set(create.accepted):
            yield "adopt_on.statuses", "statuses apart from create.accepted"
    if state.path is None and not state.http_status:
        yield "state", "a body path with a value table, or an http_status table"
    if state.path is not None and not state.values:
        yield "state.values", "a table of the upstream's values for state.path"
    lowered = [value.lower() for value in state.values]
    if len(set(lowered)) != len(lowered):
        yield "state.values", "values that differ in more than letter case (they are matched in any case)"
    if not ("succeeded" in state.values.values() or "succeeded" in state.http_status.values()):
        yield "state", "at least one value or status meaning succeeded"
    if not (result.urls or result.parts or result.path):
        yield "result", "where the result is: urls, parts or a fixed path"
    if result.request is not None and not (result.urls or result.parts):
        yield "result.request", "urls or parts to read in the extra request's answer"
    for index, pattern in enumerate(result.allowed_hosts):
        if not HOST_PATTERN.match(pattern):
            expected = "a DNS host or '*.' + a DNS suffix (no scheme, port or IP)"
            yield f"result.allowed_hosts.{index}", f"{expected}, got {pattern!r}"
    paging = result.pagination
    if paging.kind == "header_cursor" and not (paging.header and paging.query_param):
        yield "result.pagination", "header_cursor needs header and query_param"
    if paging.kind == "body_next_link" and not paging.next_link:
        yield "result.pagination", "body_next_link needs next_link"
    if paging.kind != "none" and result.parts is not None:
        yield "result.pagination", "pages or a list of parts, not both"
    if result.records is not None and result.records.format == "json_array_at_path" and not result.records.path:
        yield "result.records.path", "json_array_at_path needs the path of the array"
    if result.media_type is not None and not re.fullmatch(r"[a-z]+/[a-z0-9.+-]+", result.media_type):
        yield "result.media_type", f"a media type such as text/csv, got {result.media_type!r}"
    for index, cleanup in enumerate(spec.cleanup):
        if cleanup.when != "never" and not cleanup.when:
            yield f"cleanup.{index}.when", "after_store, on_cancel, on_deadline, or never"
