"""Read a targets file (YAML or JSON) and turn every mistake into one readable line per problem.

The file is opened without blocking and read only if it is a regular file, and
then at most `MAX_FILE_BYTES`: a FIFO, a device such as `/dev/zero`, a socket
or a directory named as the targets file is refused at once instead of waiting
for a writer or filling memory. The text must be UTF-8 (a UTF-8 byte order mark,
as some editors write, is accepted).
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from kernel.documents import DocumentError, load_json, load_yaml
from targets.model import Target

MAX_FILE_BYTES = 2 * 1024**2  # a real targets file is a few KiB; 2 MiB of YAML parses in about a second
UTF16_MARKS = (b"\xff\xfe", b"\xfe\xff")


class TargetsError(ValueError):
    """A targets file or inline target that cannot be used; the message says where and why."""


def _format_validation(error: ValidationError, where: str) -> str:
    lines = []
    for item in error.errors():
        loc = ".".join(str(part) for part in item["loc"]) or "(root)"
        message = item["msg"].removeprefix("Value error, ")
        lines.append(f"{where}{loc}: {message}")
    return "; ".join(lines)


def parse_target(data: Any, where: str = "") -> Target:
    """Validate one target given as a mapping (from a file, a webhook body or a test)."""
    if not isinstance(data, dict):
        raise TargetsError(f"{where or 'target'}: expected a mapping, got {type(data).__name__}")
    try:
        return Target.model_validate(data)
    except ValidationError as exc:
        raise TargetsError(_format_validation(exc, where)) from None
    except ValueError as exc:  # raised by the connector registry, e.g. an unknown connector
        raise TargetsError(f"{where}{exc}") from None


def parse_targets(document: Any, source: str = "targets") -> dict[str, Target]:
    """Validate a whole document `{"targets": [...]}`; names must be unique."""
    if not isinstance(document, dict) or not isinstance(document.get("targets"), list):
        raise TargetsError(f"{source}: expected a mapping with a list under 'targets'")
    found: dict[str, Target] = {}
    caches: dict[str, str] = {}
    for index, raw in enumerate(document["targets"]):
        target = parse_target(raw, f"{source}: targets[{index}].")
        if target.name in found:
            raise TargetsError(f"{source}: targets[{index}].name: duplicate target name {target.name!r}")
        found[target.name] = target
        cache = getattr(target.auth, "cache_blob", None)
        if cache is not None and caches.setdefault(cache, target.name) != target.name:
            raise TargetsError(
                f"{source}: targets[{index}].auth.cache_blob: {cache!r} is the token cache of target "
                f"{caches[cache]!r}; each target signs in with a cache of its own"
            )
    if not found:
        raise TargetsError(f"{source}: no targets defined")
    return found


def load_targets(path: Path) -> dict[str, Target]:
    """Load and validate a `.yaml`/`.yml`/`.json` targets file."""
    text = _read_text(path)
    try:
        document = load_json(text) if path.suffix == ".json" else load_yaml(text)
    except DocumentError as exc:
        raise TargetsError(f"{path}: {exc}") from None
    return parse_targets(document, str(path.name))


def _read_text(path: Path) -> str:
    """The file's text, if it is a regular file of at most `MAX_FILE_BYTES` bytes of UTF-8."""
    try:
        data = _read_regular_file(path)
    except OSError as exc:
        raise TargetsError(f"{path}: cannot read targets file ({exc.strerror or exc})") from None
    if data.startswith(UTF16_MARKS):
        raise TargetsError(f"{path}: cannot read targets file (it is UTF-16 text; save it as UTF-8)")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise TargetsError(f"{path}: not UTF-8 text (byte {exc.start} cannot be decoded)") from None


def _read_regular_file(path: Path) -> bytes:
    # O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer before fstat could refuse it.
    descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0))
    try:
        if not stat.S_ISREG(os.fstat(descriptor).st_mode):
            raise OSError("not a regular file")
        chunks, size = [], 0
        while chunk := os.read(descriptor, min(1024**2, MAX_FILE_BYTES + 1 - size)):
            chunks.append(chunk)
            size += len(chunk)
            if size > MAX_FILE_BYTES:
                raise OSError(f"larger than {MAX_FILE_BYTES // 1024**2} MiB")
        return b"".join(chunks)
    finally:
        os.close(descriptor)
