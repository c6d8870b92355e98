from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sinks.blob_names import content_blob_name, job_key, latest_blob_name, manifest_blob_name


def test_graph_job_id_gets_a_readable_slug_and_a_hash() -> None:
    name = content_blob_name("goals", "j!eyJfdHlwZSI6Ikdyb3VwIn0", "text/csv; charset=utf-8")
    assert name.startswith("goals/j-eyJfdHlwZSI6Ikdyb3VwIn0-")
    assert name.endswith("/content.csv")


def test_names_are_deterministic_and_distinct_ids_never_share_a_blob() -> None:
    assert job_key("a/b") == job_key("a/b")
    assert job_key("a/b") != job_key("a-b")
    assert manifest_blob_name("t", "x").endswith("/manifest.json")
    assert latest_blob_name("t") == "t/latest.json"


@given(st.text(min_size=1, max_size=3000))
def test_hostile_job_ids_never_escape_their_folder(job_id: str) -> None:
    name = content_blob_name("target", job_id, "application/json")
    parts = name.split("/")
    assert len(parts) == 3
    assert parts[0] == "target"
    assert ".." not in name
    assert "\\" not in name
    assert all(c.isprintable() for c in name)
    assert len(name) < 100


@pytest.mark.parametrize("target", ["../x", "UPPER", "", "a/b"])
def test_unsafe_target_names_are_refused(target: str) -> None:
    with pytest.raises(ValueError, match="not a safe blob path segment"):
        latest_blob_name(target)
