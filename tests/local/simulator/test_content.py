"""The simulator's contents: the same bytes as ever (pinned sha256), cut from pages instead of formatted per row."""

from __future__ import annotations

import hashlib

import pytest

from local.simulator import content
from local.simulator.content import ROWS_PER_PAGE, csv_length, expected_content

# sha256 of what the simulator served before contents came from pages (formatted row by row): the pages must not
# change a single byte, since stored exports, consumers' tests and the benchmarks' ratios all rely on these bytes.
PINNED = [
    ("graph", "job-a", 1, 120, "5545529d50720d9c1ff4bacb992a9760a04d87b1eb0261457047eba694700dd4"),
    ("graph", "job-a", 65_536, 65_611, "cc8e5929e3b03612c84b5b9671e73bc309123f803e34b44f8407223f0957d938"),
    ("graph", "4f1c2d9e-1", 3_000_001, 3_000_066, "e1974e9cae8c8861ec0f9d28b6b84d2352b124bd2338c164db11a3db9f49761e"),
    ("graph", "x", 24_117_265, 24_117_319, "be60e6ea8fff0288ea70352fc4f9af352b1ece9fcb46194f219b1d7803b49c5b"),
    ("graph", "big", 100_000_000, 100_000_058, "29fe3b2ec34eadca80b36c3c79c855e45369a3d48f991df8c3e081de55f15f66"),
    ("sailpoint", "job-a", 1, 407, "255a6385952f16aa5dfe41456b85c2c42a02436c33a9bb080eb623a285782139"),
    ("sailpoint", "sp-123", 200_000, 200_126, "4d90b9c2f4aa3c61c65760919416d107cc9e147c66c6250611c9df70d4fc0870"),
    ("sailpoint", "sp-9", 2_500_000, 2_500_103, "d1c437b441ff24cc8d32d24deb0c2361a39a0687e1c9e84f825f46e9a995b3fb"),
]


@pytest.mark.parametrize(("api", "job_id", "size", "length", "sha256"), PINNED)
def test_contents_are_byte_for_byte_what_they_always_were(
    api: str, job_id: str, size: int, length: int, sha256: str
) -> None:
    digest, received = hashlib.sha256(), 0
    for chunk in expected_content(api, job_id, size, chunk_size=1 << 20):
        digest.update(chunk)
        received += len(chunk)
    assert (received, digest.hexdigest()) == (length, sha256)
    if api == "graph":
        assert csv_length(job_id, size) == length


@pytest.mark.parametrize("api", ["graph", "sailpoint"])
def test_chunks_have_exactly_the_asked_size_whatever_the_rows(api: str) -> None:
    chunks = list(expected_content(api, "job-b", 1_000_000, chunk_size=50_000))
    assert {len(chunk) for chunk in chunks[:-1]} == {50_000}
    assert 0 < len(chunks[-1]) <= 50_000
    assert b"".join(chunks) == b"".join(expected_content(api, "job-b", 1_000_000, chunk_size=7_777))


def test_rows_are_formatted_once_per_page_not_once_per_row(monkeypatch: pytest.MonkeyPatch) -> None:
    formatted = 0
    original = content._csv_row

    def counting(seed: str, index: int) -> bytes:
        nonlocal formatted
        formatted += 1
        return original(seed, index)

    monkeypatch.setattr(content, "_csv_row", counting)
    content._csv_pages.cache_clear()
    rows = 8 * ROWS_PER_PAGE
    served = sum(len(chunk) for chunk in expected_content("graph", "paged", rows * 79))
    assert served == csv_length("paged", rows * 79)
    assert formatted <= ROWS_PER_PAGE + 2  # one page, plus the row lengths csv_length measures


def test_two_streams_of_one_job_at_once_do_not_share_a_page() -> None:
    first = expected_content("graph", "shared", 3 * ROWS_PER_PAGE * 79, chunk_size=1 << 20)
    second = expected_content("graph", "shared", 3 * ROWS_PER_PAGE * 79, chunk_size=1 << 20)
    interleaved = [(a, b) for a, b in zip(first, second, strict=True)]
    assert all(a == b for a, b in interleaved)
    assert (
        hashlib.sha256(b"".join(a for a, _ in interleaved)).hexdigest()
        == hashlib.sha256(b"".join(expected_content("graph", "shared", 3 * ROWS_PER_PAGE * 79))).hexdigest()
    )
