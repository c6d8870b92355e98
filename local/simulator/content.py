"""Deterministic export contents, served from precomputed pages so the simulator is never the bottleneck.

A content is a pure function of (api, job id, size): tests recompute its
sha256 with `expected_content` instead of keeping a copy. Graph's CSV rows are
fixed-width so the exact length is known up front (Content-Length); SailPoint's
JSON is sent chunked, like a server that does not know the length.

Formatting a CSV row per row in Python tops out near 25 MiB/s, slower than the
pipeline it is meant to feed, so a benchmark would measure the simulator. The
rows are instead cut from one page of `ROWS_PER_PAGE` formatted rows per job:
within a page only the row number's leading digits and the few `index % m`
columns change from page to page, and those are rewritten column by column
with strided slice assignment (C speed). The bytes are exactly what `_csv_row`
formats for every row; `tests/local/simulator/test_content.py` pins them.
"""

from __future__ import annotations

import functools
import hashlib
import io
import shutil
import uuid
import zipfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

CSV_HEADER = b"Title,Owner,Progress,Status,Due date,Row\n"
SAILPOINT_TYPES_CYCLE = ("SOURCE", "RULE", "TRANSFORM", "IDENTITY_PROFILE", "ROLE", "ACCESS_PROFILE")
STATUSES = ("On track", "At risk", "Behind")
ROWS_PER_PAGE = 10_000  # a power of ten: a page's rows share every digit of the row number but the last four
_PAGE_DIGITS = 4
_INDEX_WIDTH = 10


def _seed(job_id: str) -> str:
    return hashlib.sha256(job_id.encode()).hexdigest()[:12]


def _csv_row(seed: str, index: int) -> bytes:
    return (
        f"Objective {index:010d} {seed},Owner {index % 37:02d},{index % 101:03d}%,"
        f"{STATUSES[index % 3]:<8},"
        f"2026-{index % 12 + 1:02d}-{index % 28 + 1:02d},{index:010d}\n"
    ).encode()


@dataclass(frozen=True)
class _Column:
    """A fixed-width field of a row whose text depends only on `row index % modulus`."""

    start: int
    modulus: int
    render: Callable[[int], str]


def _columns(seed: str) -> tuple[tuple[int, int], list[_Column]]:
    """Where the row number fields and the periodic fields sit in a row (derived from `_csv_row` itself)."""
    first_index = len("Objective ")
    owner = len(f"Objective {0:010d} {seed},Owner ")
    status = owner + len("00,000%,")
    month = status + len("On track,2026-")
    periodic = [
        _Column(owner, 37, lambda v: f"{v:02d}"),
        _Column(owner + len("00,"), 101, lambda v: f"{v:03d}"),
        _Column(status, 3, lambda v: f"{STATUSES[v]:<8}"),
        _Column(month, 12, lambda v: f"{v + 1:02d}"),
        _Column(month + len("00-"), 28, lambda v: f"{v + 1:02d}"),
    ]
    last_index = month + len("00-00,")
    return (first_index, last_index), periodic


@dataclass(frozen=True)
class _CsvPages:
    """Page 0 of a job's rows, plus what changes from one page to the next."""

    row_length: int
    template: bytes
    index_starts: tuple[int, int]
    tapes: list[tuple[int, int, list[bytes]]]  # (start, modulus, one tape per character of the field)

    def fill(self, page: bytearray, number: int) -> None:
        """Rewrite `page` (a copy of the template) in place into page `number`."""
        rows, first = ROWS_PER_PAGE, number * ROWS_PER_PAGE
        for start, modulus, tapes in self.tapes:
            offset = first % modulus
            for at, tape in enumerate(tapes):
                page[start + at :: self.row_length] = tape[offset : offset + rows]
        high = f"{number:0{_INDEX_WIDTH - _PAGE_DIGITS}d}".encode()
        for start in self.index_starts:
            for at, digit in enumerate(high):
                page[start + at :: self.row_length] = _REPEATED_DIGITS[digit]


_REPEATED_DIGITS = {digit: bytes([digit]) * ROWS_PER_PAGE for digit in b"0123456789"}


@functools.lru_cache(maxsize=16)
def _csv_pages(seed: str) -> _CsvPages:
    template = b"".join(_csv_row(seed, index) for index in range(ROWS_PER_PAGE))
    row_length = len(template) // ROWS_PER_PAGE
    index_starts, periodic = _columns(seed)
    tapes = []
    for column in periodic:
        texts = [column.render(t % column.modulus).encode() for t in range(ROWS_PER_PAGE + column.modulus)]
        width = len(texts[0])
        tapes.append((column.start, column.modulus, [bytes(text[at] for text in texts) for at in range(width)]))
    return _CsvPages(row_length, template, index_starts, tapes)


def csv_length(job_id: str, size: int) -> int:
    row = len(_csv_row(_seed(job_id), 0))
    rows = max(1, -(-(size - len(CSV_HEADER)) // row))
    return len(CSV_HEADER) + rows * row


def _csv_pieces(job_id: str, size: int) -> Iterator[bytes | memoryview]:
    pages = _csv_pages(_seed(job_id))
    rows_left = (csv_length(job_id, size) - len(CSV_HEADER)) // pages.row_length
    yield CSV_HEADER
    page, number = bytearray(pages.template), 0  # this stream's own copy: pages are rewritten in place
    while rows_left > 0:
        if number:
            pages.fill(page, number)
        rows = min(rows_left, ROWS_PER_PAGE)
        with memoryview(page) as view:
            yield view[: rows * pages.row_length]
        rows_left -= rows
        number += 1


def _rechunk(pieces: Iterable[bytes | memoryview], chunk_size: int) -> Iterator[bytes]:
    """The pieces' bytes as chunks of exactly `chunk_size` (the last may be shorter), each an owned copy."""
    carry = b""
    for piece in pieces:
        view, at = memoryview(piece), 0
        if carry:
            at = min(len(view), chunk_size - len(carry))
            carry += bytes(view[:at])
            if len(carry) < chunk_size:
                continue
            yield carry
            carry = b""
        while len(view) - at >= chunk_size:
            yield bytes(view[at : at + chunk_size])
            at += chunk_size
        carry = bytes(view[at:])
        view.release()
    if carry:
        yield carry


def csv_chunks(job_id: str, size: int, chunk_size: int = 64 * 1024) -> Iterator[bytes]:
    return _rechunk(_csv_pieces(job_id, size), chunk_size)


def csv_file(directory: Path, job_id: str, size: int) -> Path:
    """The job's CSV as a file in `directory`, written on first use; only the two newest files are kept."""
    digest = hashlib.sha256(f"{job_id}\0{size}".encode()).hexdigest()[:24]
    path = directory / f"graph-{digest}.csv"
    if not path.exists():
        partial = directory / f".{digest}.{uuid.uuid4().hex}.partial"  # a concurrent writer has its own
        with partial.open("wb") as out:
            for piece in _csv_pieces(job_id, size):
                out.write(piece)
        partial.replace(path)
        for old in sorted(directory.glob("graph-*.csv"), key=lambda p: p.stat().st_mtime)[:-2]:
            old.unlink(missing_ok=True)
    return path


def job_file(directory: Path, api: str, job_id: str, name: str, produce: Callable[[], bytes]) -> Path:
    """`produce()` as the file `name` of the job's folder in `directory`, written on first use, so a result that is
    generated (the parts of a cost details report, Salesforce's pages) can be sent with sendfile the next time;
    only the two newest jobs' folders of an API are kept."""
    folder = directory / f"{api}-{hashlib.sha256(job_id.encode()).hexdigest()[:24]}"
    path = folder / name
    if path.exists():
        return path
    if not folder.exists():
        folder.mkdir(exist_ok=True)
        for old in sorted(directory.glob(f"{api}-*"), key=_mtime)[:-2]:
            shutil.rmtree(old, ignore_errors=True)
    partial = folder / f".{name}.{uuid.uuid4().hex}.partial"  # a concurrent writer has its own
    partial.write_bytes(produce())
    partial.replace(path)
    return path


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except FileNotFoundError:  # removed by a concurrent writer: oldest
        return 0.0


_RULE_SUFFIX = ',"jwsHeader":"eyJhbGciOiJFUzI1NiJ9","jwsSignature":"%s"'


def _sailpoint_object(seed: str, index: int) -> bytes:
    """The same bytes as `json.dumps` of the object with compact separators (no field needs escaping)."""
    kind = SAILPOINT_TYPES_CYCLE[index % len(SAILPOINT_TYPES_CYCLE)]
    obj_id = hashlib.sha256(f"{seed}:{index}".encode()).hexdigest()[:32]
    name = f"{kind.title()} {index}"
    text = (
        f'{{"version":1,"self":{{"type":"{kind}","id":"{obj_id}","name":"{name}"}},'
        f'"object":{{"id":"{obj_id}","name":"{name}","description":"Simulated {kind} {seed}"}}'
    )
    if kind == "RULE":
        text += _RULE_SUFFIX % hashlib.sha256(f"sig:{obj_id}".encode()).hexdigest()
    return (text + "}").encode()


def _sailpoint_pieces(job_id: str, size: int) -> Iterator[bytes]:
    seed = _seed(job_id)
    head = (
        f'{{"version":1,"timestamp":"2026-01-01T00:00:00Z","tenant":"sim-tenant","description":"Simulated export '
        f'{seed}","options":{{"excludeTypes":[],"includeTypes":[],"objectOptions":{{}}}},"objects":['
    ).encode()
    parts, produced, index = [head], len(head), 0
    while produced < size or index == 0:
        part = (b"," if index else b"") + _sailpoint_object(seed, index)
        parts.append(part)
        produced += len(part)
        index += 1
        if len(parts) >= 1024:
            yield b"".join(parts)
            parts.clear()
    parts.append(b"]}")
    yield b"".join(parts)


def sailpoint_chunks(job_id: str, size: int, chunk_size: int = 64 * 1024) -> Iterator[bytes]:
    return _rechunk(_sailpoint_pieces(job_id, size), chunk_size)


def expected_content(api: str, job_id: str, size: int, chunk_size: int = 64 * 1024) -> Iterator[bytes]:
    """The exact bytes the simulator serves for a job: api is "graph" or "sailpoint"."""
    if api == "graph":
        return csv_chunks(job_id, size, chunk_size)
    if api == "sailpoint":
        return sailpoint_chunks(job_id, size, chunk_size)
    raise ValueError(f"unknown api {api!r}: expected 'graph' or 'sailpoint'")


def table_csv(seed: str, columns: list[str], start: int, count: int, line_ending: str = "\n") -> bytes:
    """A CSV with its own header row and rows `start` .. `start + count - 1` of a deterministic table.

    Each value is `<column>-<row number>-<seed>`: fixed width per column, so a part of a given row count has a
    known size, and every value says which row of which job it is (tests check order and completeness with it).
    """
    lines = [",".join(columns)]
    lines += [",".join(f"{column}-{index:08d}-{seed}" for column in columns) for index in range(start, start + count)]
    return (line_ending.join(lines) + line_ending).encode()


def table_rows_for(seed: str, columns: list[str], size: int) -> int:
    """How many rows make a `table_csv` of at least `size` bytes (at least one)."""
    row = len(",".join(f"{column}-{0:08d}-{seed}" for column in columns)) + 1
    header = len(",".join(columns)) + 1
    return max(1, -(-(size - header) // row))


def zip_one(member: str, data: bytes) -> bytes:
    """A zip archive holding one file, byte for byte the same for the same input (fixed timestamp)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        info = zipfile.ZipInfo(member, date_time=(2026, 1, 1, 0, 0, 0))
        info.compress_type = zipfile.ZIP_DEFLATED
        archive.writestr(info, data)
    return buffer.getvalue()


def seed_of(job_id: str) -> str:
    """The short, deterministic tag of a job that its generated values carry."""
    return _seed(job_id)
