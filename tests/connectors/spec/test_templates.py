"""Templates are not code: whatever a param or a job id holds, it lands in one escaped place, never elsewhere."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from connectors.spec.loader import load_specs
from connectors.spec.params import build_model, to_wire
from connectors.spec.templates import TemplateError, Values, fill_body, fill_path, fill_text

SAILPOINT = load_specs()["sailpoint_sp_config"]
SAILPOINT_PARAMS = build_model("SailPointParams", SAILPOINT.params)
TYPES = sorted(SAILPOINT.params["include_types"].items.enum or [])  # type: ignore[union-attr]
anything = st.text(min_size=1, max_size=40).filter(lambda s: "\x00" not in s)


def request_url(path: str, query: dict[str, str] | None = None) -> httpx.URL:
    return httpx.Request("GET", f"https://api.example/base/{path}", params=query).url


@settings(max_examples=200, deadline=None)
@given(job_id=anything, param=anything)
def test_a_filled_path_holds_each_value_as_exactly_one_escaped_segment(job_id: str, param: str) -> None:
    template = "jobs/{job.id}/files/{params.name}/content"
    path = fill_path(template, Values({"name": param}, job_id=job_id))
    url = request_url(path)

    segments = url.raw_path.decode("ascii").split("?")[0].split("/")
    assert segments[:3] == ["", "base", "jobs"]
    assert [unquote(s) for s in segments[3:]] == [job_id, "files", param, "content"]
    assert url.query == b""
    assert url.host == "api.example"


@settings(max_examples=200, deadline=None)
@given(value=anything)
def test_an_odata_literal_is_one_query_value_with_its_quotes_doubled(value: str) -> None:
    text = fill_text("goalsOrganizationId eq {params.org|odata}", Values({"org": value}))
    url = request_url("jobs", {"$filter": text})

    [sent] = parse_qs(urlsplit(str(url)).query, keep_blank_values=True)["$filter"]
    literal = sent.removeprefix("goalsOrganizationId eq ")
    assert literal.startswith("'")
    assert literal.endswith("'")
    assert literal[1:-1].replace("''", "'") == value
    assert "'" not in literal[1:-1].replace("''", "")  # no lone quote can end the literal early


wire_params = st.fixed_dictionaries(
    {},
    optional={
        "description": st.text(max_size=50),
        "include_types": st.lists(st.sampled_from(TYPES), max_size=5),
        "exclude_types": st.lists(st.sampled_from(TYPES), max_size=5),
        "object_options": st.dictionaries(
            st.sampled_from(TYPES),
            st.fixed_dictionaries({}, optional={"included_ids": st.lists(anything, max_size=3)}),
            max_size=3,
        ),
    },
)


@settings(max_examples=200, deadline=None)
@given(raw=wire_params)
def test_any_accepted_params_fill_the_body_structurally_as_valid_json(raw: dict[str, Any]) -> None:
    spec = SAILPOINT
    params = SAILPOINT_PARAMS.model_validate(raw).model_dump(mode="json", exclude_none=True)
    template = spec.create.request.body
    assert isinstance(template, dict)

    body = fill_body(template, Values(to_wire(params, spec.params)), omit_empty=True)
    again = json.loads(json.dumps(body))

    assert again == body
    assert set(body) <= set(template)  # the template's members, none added
    names = {"description": "description", "includeTypes": "include_types", "excludeTypes": "exclude_types"}
    for key, name in names.items():
        assert body.get(key) == (params.get(name) or None)  # a whole value, never spliced into text
    for kind, options in body.get("objectOptions", {}).items():
        assert kind in TYPES
        assert set(options) == {"includedIds", "includedNames"}


def test_a_missing_value_is_refused_rather_than_left_as_text() -> None:
    with pytest.raises(TemplateError, match="has no value"):
        fill_path("jobs/{job.id}", Values({}))


@pytest.mark.parametrize("job_id", [".", ".."])
def test_a_dot_segment_is_escaped_so_no_value_climbs_the_path(job_id: str) -> None:
    assert fill_path("jobs/{job.id}", Values({}, job_id=job_id)) == "jobs/" + "%2E" * len(job_id)


@settings(max_examples=200, deadline=None)
@given(segments=st.lists(anything.filter(lambda s: "/" not in s), min_size=1, max_size=5))
def test_a_several_segment_value_fills_exactly_that_many_escaped_segments(segments: list[str]) -> None:
    path = fill_path("{/params.scope*}/providers/x", Values({"scope": "/".join(segments)}))
    url = request_url(path.lstrip("/"))

    found = url.raw_path.decode("ascii").split("/")[2:]
    assert [unquote(s) for s in found] == [*segments, "providers", "x"]
    assert url.query == b""
