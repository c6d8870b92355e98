"""Filling a spec's requests from params and the job: escaped, structural, never evaluated.

Why not string formatting: a value from a target or an upstream (an id with `/`, `?` or `..`, a name with a
quote) must never change the shape of a request. So:

- a `path` is an RFC 6570 template (`uritemplate`) with simple expansions only: each value becomes exactly one
  percent-escaped path segment (and `.`/`..` are escaped too, so no value can climb the path); `{/name*}`, RFC
  6570's path-segment expansion, makes a list (or a string split at '/') several segments, each one escaped;
- a `query` value is text with placeholders; the whole value is sent as one query value (httpx escapes it), and
  `{params.x|odata}` inserts an OData string literal, quotes around it and inner quotes doubled (Graph's `$filter`);
- a JSON `body` is filled structurally: a string that is exactly one placeholder is replaced by the value, whatever
  its JSON type, and a member whose value is absent is left out. A placeholder inside other text is refused when
  the spec is loaded, so nothing is ever spliced into a string that is then parsed.

Names a template may use: `params.<name>` (the target's validated params, under their wire names inside objects),
`job.id` (the upstream's job id) and `job.ref` (the job reference, a URL, only where a URL is expected).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from uritemplate import URITemplate

from connectors.http.upstream_ids import path_segment

PLACEHOLDER = re.compile(r"\{([^{}]*)\}")
NAME = re.compile(r"^(params\.[a-z][a-z0-9_]{0,62}|job\.id|job\.ref)(\|odata)?$")
ABSENT = object()


class TemplateError(ValueError):
    """A template that is not allowed (a bad expression, a splice, an operator other than simple expansion)."""


@dataclass(frozen=True)
class Values:
    """What a template is filled from."""

    params: Mapping[str, Any]
    job_id: str | None = None
    job_ref: str | None = None

    def get(self, name: str) -> Any:
        if name == "job.id":
            return self.job_id if self.job_id is not None else ABSENT
        if name == "job.ref":
            return self.job_ref if self.job_ref is not None else ABSENT
        value = self.params.get(name.removeprefix("params."), ABSENT)
        return ABSENT if value is None else value


def _parse_name(text: str) -> tuple[str, bool]:
    match = NAME.fullmatch(text.strip())
    if match is None:
        raise TemplateError(f"{{{text}}} is not a placeholder; expected {{params.<name>}}, {{job.id}} or {{job.ref}}")
    return match.group(1), match.group(2) is not None


def path_names(template: str) -> list[str]:
    """The names a path template uses; TemplateError when it is not simple expansions of allowed names."""
    if template.count("{") != template.count("}"):
        raise TemplateError("unbalanced braces")
    if "://" in template or template.startswith("//"):
        raise TemplateError("a path is relative to the target's base_url; it cannot name a scheme or a host")
    names = []
    for variable in URITemplate(template).variables:
        segments = variable.operator.value == "/"
        allowed = f"{{{variable.original}}}: only {{name}} (one segment) or {{/name*}} (several segments) is allowed"
        if variable.operator.value not in ("", "/") or len(variable.variables) != 1:
            raise TemplateError(allowed)
        name, spec = variable.variables[0]
        if spec.get("prefix") or bool(spec.get("explode")) != segments:
            raise TemplateError(allowed)
        resolved, odata = _parse_name(name)
        if odata:
            raise TemplateError(f"{{{variable.original}}}: |odata is for query values only")
        names.append(resolved)
    return names


def text_names(template: str) -> list[str]:
    """The names a query value template uses."""
    if template.count("{") != template.count("}"):
        raise TemplateError("unbalanced braces")
    return [_parse_name(found)[0] for found in PLACEHOLDER.findall(template)]


def body_names(body: Any) -> Iterator[str]:
    """The names a body template uses; TemplateError for a placeholder inside other text."""
    for leaf in _strings(body):
        match = PLACEHOLDER.fullmatch(leaf)
        if match is not None:
            name, odata = _parse_name(match.group(1))
            if odata:
                raise TemplateError(f"{leaf!r}: |odata is for query values only")
            yield name
        elif "{" in leaf or "}" in leaf:
            raise TemplateError(
                f"{leaf!r}: a placeholder must be a whole JSON value, never part of a string (nothing is spliced)"
            )


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            if "{" in key or "}" in key:
                raise TemplateError(f"{key!r}: a body key cannot be a placeholder")
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def _segment(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise TemplateError(f"a {type(value).__name__} cannot be a path segment")
    return str(value)


def _segments(value: Any, name: str) -> str:
    """`{/name*}`: a list of segments, or a string split at '/', each one escaped; no empty segment."""
    items = value.split("/") if isinstance(value, str) else value
    if not isinstance(items, list) or not items or any(item in ("", None) for item in items):
        raise TemplateError(f"{{{name}}} must be one or more non-empty path segments")
    return "".join("/" + path_segment(_segment(item), name) for item in items)


def fill_path(template: str, values: Values) -> str:
    """The path with every value as one escaped segment (or several, for `{/name*}`); TemplateError when a value
    is absent."""
    filled = template
    for variable in URITemplate(template).variables:
        name, _ = _parse_name(variable.variables[0][0])
        value = values.get(name)
        if value is ABSENT:
            raise TemplateError(f"{{{name}}} has no value")
        several = variable.operator.value == "/"
        text = _segments(value, name) if several else path_segment(_segment(value), name)
        filled = filled.replace("{" + variable.original + "}", text, 1)
    return filled


def _odata_literal(value: Any) -> str:
    return "'" + _segment(value).replace("'", "''") + "'"


def fill_text(template: str, values: Values) -> str:
    """A query value with its placeholders filled as text (OData literals quoted); escaped later, as a whole."""

    def replace(match: re.Match[str]) -> str:
        name, odata = _parse_name(match.group(1))
        value = values.get(name)
        if value is ABSENT:
            raise TemplateError(f"{{{name}}} has no value")
        return _odata_literal(value) if odata else _segment(value)

    return PLACEHOLDER.sub(replace, template)


def fill_body(body: Any, values: Values, *, omit_empty: bool = False) -> Any:
    """The body with each placeholder replaced by its value (any JSON type); absent members are left out, and
    with `omit_empty` so are members whose filled value is empty."""

    def gone(item: Any) -> bool:
        return item is ABSENT or (omit_empty and item in ("", [], {}))

    if isinstance(body, str):
        match = PLACEHOLDER.fullmatch(body)
        return values.get(_parse_name(match.group(1))[0]) if match else body
    if isinstance(body, dict):
        filled = {key: fill_body(item, values, omit_empty=omit_empty) for key, item in body.items()}
        return {key: item for key, item in filled.items() if not gone(item)}
    if isinstance(body, list):
        return [item for item in (fill_body(e, values, omit_empty=omit_empty) for e in body) if not gone(item)]
    return body


__all__ = ["TemplateError", "Values", "body_names", "fill_body", "fill_path", "fill_text", "path_names", "text_names"]
