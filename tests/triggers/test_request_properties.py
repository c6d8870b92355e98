"""No webhook body, however odd, crashes validation: it is accepted or refused with a readable reason."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from targets import parse_targets
from triggers.start_request import WEBHOOK_RUN_KEY_PREFIX, BadRequest, StartRequest, parse_start_request

KNOWN = parse_targets(
    {
        "targets": [
            {
                "name": "goals",
                "connector": "sailpoint",
                "base_url": "https://acme.api.identitynow.com/beta",
                "auth": {"kind": "bearer_env", "env": "T"},
            }
        ]
    }
)
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=20,
)


def outcome(body: bytes, headers: dict[str, str]) -> StartRequest | str:
    try:
        return parse_start_request(body, headers, lambda: KNOWN)
    except BadRequest as refused:
        reason = str(refused)
    assert reason  # a refusal always says why
    return reason


@given(st.binary(max_size=2000))
def test_arbitrary_bytes_are_refused_or_accepted_never_crash(body: bytes) -> None:
    outcome(body, {})


@given(JSON, st.dictionaries(st.sampled_from(["Idempotency-Key", "X-Other"]), st.text(max_size=300)))
def test_arbitrary_json_and_headers_are_refused_or_accepted_never_crash(document: Any, headers: dict[str, str]) -> None:
    result = outcome(json.dumps(document).encode(), headers)
    if isinstance(result, StartRequest):
        assert result.target.name == "goals"
        assert result.run_key.startswith(WEBHOOK_RUN_KEY_PREFIX)
        assert 1 <= len(result.run_key.removeprefix(WEBHOOK_RUN_KEY_PREFIX)) <= 200  # the caller's key, or ours


@given(st.dictionaries(st.sampled_from(["name", "connector", "base_url", "params", "auth", "poll"]), JSON))
def test_arbitrary_inline_targets_are_refused_with_a_reason(target: dict[str, Any]) -> None:
    result = outcome(json.dumps({"target": target}).encode(), {})
    assert isinstance(result, str | StartRequest)
