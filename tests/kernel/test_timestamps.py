"""Upstream timestamps: both documented forms read as UTC, anything else as nothing."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kernel.timestamps import normalise_timestamp


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2023-06-19T12-06-03.0024Z", "2023-06-19T12:06:03.002400Z"),
        ("2023-11-06T05:46:07.985Z", "2023-11-06T05:46:07.985000Z"),
        ("2021-05-11T22:23:16Z", "2021-05-11T22:23:16Z"),
        ("2021-05-13T15:04:24.1234567+02:00", "2021-05-13T13:04:24.123456Z"),
    ],
)
def test_both_documented_timestamp_forms_parse_to_utc(text: str, expected: str) -> None:
    assert normalise_timestamp(text) == expected


@given(st.one_of(st.text(), st.integers(), st.none()))
def test_timestamp_parser_never_crashes(value: object) -> None:
    assert normalise_timestamp(value) is None or normalise_timestamp(value).endswith("Z")  # type: ignore[union-attr]
