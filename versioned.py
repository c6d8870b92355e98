"""Schema versions of every shape this project persists, checked in one place.

What an orchestration, the runner or a sink writes outlives the code that wrote it: an in-flight orchestration
replays activity answers recorded by the release before a deploy, a manifest is read by consumers for months.
Each persisted shape therefore carries `schema_version`, and every reader accepts exactly two versions: the
current one and the one before it, so a deploy can always read what the release it replaces left behind, and a
shape from a release it does not know is refused by a message that names what was found and what is accepted,
rather than half-read. A shape written before it carried a version is version 1.

`Versioned` is the pydantic base for shapes that are models; `check` serves the few that are not (the runner's
stored instance, an event's data). Raising `UnsupportedVersion` (not a `ValueError`) lets it pass through
pydantic's validation unwrapped, so a reader can tell "a release I do not know wrote this" from "this is corrupt".
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from pydantic import BaseModel, SerializerFunctionWrapHandler, model_serializer, model_validator

FIELD = "schema_version"
UNVERSIONED = 1  # what a shape written before it carried a version reads as


class UnsupportedVersion(Exception):
    """A persisted shape of a version this release does not read."""

    def __init__(self, shape: str, found: object, accepted: tuple[int, ...]) -> None:
        shown = repr(found) if not isinstance(found, int) or isinstance(found, bool) else str(found)
        super().__init__(
            f"{shape}: schema version {shown[:40]} is not one this release reads (it reads "
            f"{' and '.join(map(str, accepted))}); it was written by another release of the export pipeline"
        )
        self.shape, self.found, self.accepted = shape, found, accepted


def accepted(current: int) -> tuple[int, ...]:
    """The versions a reader of a shape at `current` accepts: the previous one and the current one."""
    return (current - 1, current) if current > UNVERSIONED else (current,)


def check(data: Mapping[str, Any], shape: str, current: int) -> int:
    """The version `data` carries (an absent one is `UNVERSIONED`); `UnsupportedVersion` unless it is accepted."""
    found = data.get(FIELD, UNVERSIONED)
    versions = accepted(current)
    if isinstance(found, bool) or not isinstance(found, int) or found not in versions:
        raise UnsupportedVersion(shape, found, versions)
    return found


def stamped(data: Mapping[str, Any], current: int) -> dict[str, Any]:
    """`data` with the current version written into it."""
    return {**data, FIELD: current}


class Versioned(BaseModel):
    """A persisted model: its JSON carries `schema_version`; reading accepts the current and previous version.

    A subclass sets `SCHEMA_VERSION` (and may override `upgrade` to turn the previous version's fields into the
    current ones). What is read, and what is built in code, carries the current version, so writing it back
    writes the current shape.
    """

    SCHEMA_VERSION: ClassVar[int] = 2
    schema_version: int = 0  # set to SCHEMA_VERSION by the validator below, whatever was given

    @model_validator(mode="before")
    @classmethod
    def _read_version(cls, data: Any) -> Any:
        if not isinstance(data, Mapping):
            return data
        found = check(data, cls.__name__, cls.SCHEMA_VERSION)
        return stamped(cls.upgrade(data, found), cls.SCHEMA_VERSION)

    @classmethod
    def upgrade(cls, data: Mapping[str, Any], found: int) -> Mapping[str, Any]:
        """The fields of a shape written at version `found` as the current version has them (same by default)."""
        return data


class Additive(BaseModel):
    """A persisted model that gained fields after its shape was first recorded (`ADDED_LATER`): each is left out of
    its JSON while it holds its default, so a value that never uses one keeps the keys the earlier release wrote
    (and an in-flight orchestration replays the same inputs and answers it recorded)."""

    ADDED_LATER: ClassVar[frozenset[str]] = frozenset()

    @model_serializer(mode="wrap")
    def _without_unused_additions(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        data: dict[str, Any] = handler(self)
        for name in self.ADDED_LATER:
            if getattr(self, name) == type(self).model_fields[name].default:
                data.pop(name, None)
        return data
