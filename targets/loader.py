"""Read a targets file (YAML or JSON) and turn every mistake into one readable line per problem."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import ValidationError

from targets.documents import DocumentError, load_json, load_yaml
from targets.model import Target


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
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise TargetsError(f"{path}: cannot read targets file ({exc.strerror})") from None
    try:
        document = load_json(text) if path.suffix == ".json" else load_yaml(text)
    except DocumentError as exc:
        raise TargetsError(f"{path}: {exc}") from None
    return parse_targets(document, str(path.name))
