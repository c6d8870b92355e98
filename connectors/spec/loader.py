"""Reading connector specs: the built-in ones, and a deployment's own directory, each mistake one line.

Why strict and bounded: a spec is configuration, trusted like the targets file, but still read as hostile text,
by the same strict reader as the targets file (`kernel.documents`): at most `MAX_SPEC_BYTES`, YAML's safe
subset with at most `MAX_ALIASES` aliases (so no anchor can multiply a document into millions of nodes, yet one
list, such as SailPoint's 25 types, can be written once), no duplicate key, at most `MAX_DEPTH` levels. A
mistake is one line, `FILE: key.path: what was expected`, in the same form as targets-file errors, and is found
before anything runs.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

from pydantic import ValidationError

import app_settings
from connectors.spec.checks import problems
from connectors.spec.model import ConnectorSpec
from kernel.documents import DocumentError, load_yaml

BUILT_IN = Path(__file__).resolve().parents[1] / "specs"
SPECS_DIR_SETTING = "EXPORTS_CONNECTOR_SPECS_DIR"
MAX_SPEC_BYTES = 256 * 1024
MAX_ALIASES = 16


class SpecError(ValueError):
    """A spec that cannot be used; the message is one line naming the file, the key path and what was expected."""


def _loc(parts: Iterable[Any]) -> str:
    return ".".join(str(part) for part in parts) or "(root)"


def parse_spec(document: Any, source: str) -> ConnectorSpec:
    """A validated and checked spec from a parsed document; SpecError (one line) otherwise."""
    if not isinstance(document, dict):
        raise SpecError(f"{source}: (root): expected a mapping, got {type(document).__name__}")
    try:
        spec = ConnectorSpec.model_validate(document)
    except ValidationError as exc:
        first = exc.errors()[0]
        more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
        message = first["msg"].removeprefix("Value error, ")
        raise SpecError(f"{source}: {_loc(first['loc'])}: {message}{more}") from None
    found = list(problems(spec))
    if found:
        where, expected = found[0]
        more = f" (and {len(found) - 1} more)" if len(found) > 1 else ""
        raise SpecError(f"{source}: {where}: expected {expected}{more}")
    return spec


def parse_spec_text(text: str, source: str) -> ConnectorSpec:
    if len(text.encode("utf-8")) > MAX_SPEC_BYTES:
        raise SpecError(f"{source}: larger than {MAX_SPEC_BYTES} bytes; a spec is a few kilobytes")
    try:
        document = load_yaml(text, max_aliases=MAX_ALIASES)
    except DocumentError as exc:
        raise SpecError(f"{source}: {str(exc)[:300]}") from None
    spec = parse_spec(document, source)
    stem = Path(source).stem
    if spec.name != stem:
        raise SpecError(f"{source}: name: expected the file's name {stem!r}, got {spec.name!r}")
    return spec


def load_spec(path: Path) -> ConnectorSpec:
    try:
        with path.open("rb") as handle:
            raw = handle.read(MAX_SPEC_BYTES + 1)
    except OSError as exc:
        raise SpecError(f"{path.name}: cannot read the spec ({exc.strerror})") from None
    if len(raw) > MAX_SPEC_BYTES:
        raise SpecError(f"{path.name}: larger than {MAX_SPEC_BYTES} bytes; a spec is a few kilobytes")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise SpecError(f"{path.name}: not UTF-8 text") from None
    return parse_spec_text(text, path.name)


def load_directory(directory: Path) -> dict[str, ConnectorSpec]:
    """Every `*.yaml` spec of `directory`, by name."""
    if not directory.is_dir():
        raise SpecError(f"{directory.name}: not a directory of connector specs")
    return {spec.name: spec for spec in (load_spec(path) for path in sorted(directory.glob("*.yaml")))}


def load_specs(extra: Path | None = None) -> dict[str, ConnectorSpec]:
    """The built-in specs, plus those of `extra` (a deployment's directory); a name or alias names one spec."""
    specs = load_directory(BUILT_IN)
    taken = {alias: spec.name for spec in specs.values() for alias in (spec.name, *spec.aliases)}
    for name, spec in (load_directory(extra) if extra is not None else {}).items():
        if name in specs:
            raise SpecError(f"{name}.yaml: name: {name!r} is a built-in spec; give yours another name")
        specs[name] = spec
        for index, alias in enumerate((name, *spec.aliases)):
            where = "name" if index == 0 else f"aliases.{index - 1}"
            if taken.setdefault(alias, name) != name:
                raise SpecError(f"{name}.yaml: {where}: {alias!r} already names spec {taken[alias]!r}")
    return specs


@lru_cache(maxsize=4)
def _configured(directory: str) -> Mapping[str, ConnectorSpec]:
    return load_specs(Path(directory) if directory else None)


def configured_specs(environ: Mapping[str, str] | None = None) -> Mapping[str, ConnectorSpec]:
    """The specs this deployment runs: the built-in ones and those of `EXPORTS_CONNECTOR_SPECS_DIR`, read once."""
    return _configured(app_settings.get(SPECS_DIR_SETTING, environ).strip())
