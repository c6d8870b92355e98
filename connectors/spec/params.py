"""A spec's `params`, declared once, turned into a pydantic model: the validator and the JSON Schema in one.

Why a generated model rather than hand checks: the same declaration then refuses a bad target (with pydantic's
located messages, which the targets loader already formats as one line) and documents the parameters (the
model's JSON Schema). Named transforms (`connectors.spec.hooks.TRANSFORMS`) run after the declared checks, for
what a schema cannot say. `to_wire` renames validated values to the API's own names, for request bodies.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidatorFunctionWrapHandler,
    WrapValidator,
    create_model,
    model_validator,
)

from connectors.spec.hooks import TRANSFORMS
from connectors.spec.model import ParamSpec

_SCALARS: dict[str, Any] = {"string": str, "integer": int, "number": float, "boolean": bool}


class _Params(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _class_name(name: str) -> str:
    return "".join(part.capitalize() for part in name.split("_")) or "Params"


def _one_of(spec: ParamSpec) -> Any:
    """A validator that names the refused value and the allowed ones (the spec's description names the kind)."""
    allowed = ", ".join(sorted(spec.enum or ()))
    what = spec.description or "value"

    def check(value: Any, handler: ValidatorFunctionWrapHandler) -> Any:
        try:
            return handler(value)
        except ValidationError:
            shown = repr(value) if isinstance(value, str) and len(value) <= 100 else type(value).__name__
            raise ValueError(f"unknown {what} {shown}; allowed: {allowed}") from None

    return check


def _annotation(spec: ParamSpec, name: str) -> Any:
    """The Python type of one parameter, with its bounds."""
    constraints: dict[str, Any] = {}
    if spec.type in _SCALARS:
        if spec.enum is not None:
            base: Any = Annotated[Literal[tuple(spec.enum)], WrapValidator(_one_of(spec))]
        else:
            base = _SCALARS[spec.type]
            if spec.type == "string":
                constraints = {"pattern": spec.pattern, "min_length": spec.min_length, "max_length": spec.max_length}
            elif spec.type in ("integer", "number"):
                constraints = {"ge": spec.minimum, "le": spec.maximum}
    elif spec.type == "list":
        assert spec.items is not None
        base = list[_annotation(spec.items, name + "_item")]  # type: ignore[misc]
        constraints = {"min_length": spec.min_length, "max_length": spec.max_length}
    elif spec.type == "map":
        assert spec.values is not None
        key: Any = Literal[tuple(spec.keys)] if spec.keys else str
        value: Any = _annotation(spec.values, name + "_value")
        base = dict[key, value]
    else:
        assert spec.fields is not None
        base = build_model(_class_name(name), spec.fields)
    used = {k: v for k, v in constraints.items() if v is not None}
    return Annotated[base, Field(description=spec.description, **used)] if used or spec.description else base


def build_model(model_name: str, params: Mapping[str, ParamSpec], transforms: tuple[str, ...] = ()) -> type[BaseModel]:
    """The pydantic model of `params` (unknown keys refused, declared bounds applied, transforms run after)."""
    fields: dict[str, Any] = {}
    for name, spec in params.items():
        annotation = _annotation(spec, name)
        if spec.required:
            fields[name] = (annotation, ...)
        else:
            fields[name] = (annotation | None, spec.default)
    validators: dict[str, Any] = {}
    if transforms:

        def _transform(cls: type[BaseModel], data: Any) -> Any:
            if not isinstance(data, dict):
                return data
            values = {k: v for k, v in data.items() if v is not None}
            for name in transforms:
                values = TRANSFORMS[name](values)
            return values

        validators["_transforms"] = model_validator(mode="before")(_transform)
    return create_model(model_name, __base__=_Params, __validators__=validators, **fields)


def to_wire(params: Mapping[str, Any], specs: Mapping[str, ParamSpec]) -> dict[str, Any]:
    """Validated params (as JSON) under the API's own names, nested objects too; absent values left out."""
    wired: dict[str, Any] = {}
    for name, value in params.items():
        spec = specs.get(name)
        if value is None or spec is None:
            continue
        wired[name] = _wire_value(value, spec)
    return wired


def _wire_value(value: Any, spec: ParamSpec) -> Any:
    if isinstance(value, enum.Enum):
        return value.value
    if spec.type == "object" and spec.fields and isinstance(value, dict):
        return {
            (spec.fields[k].wire or k): _wire_value(v, spec.fields[k])
            for k, v in value.items()
            if k in spec.fields and v is not None
        }
    if spec.type == "map" and spec.values and isinstance(value, dict):
        return {k: _wire_value(v, spec.values) for k, v in value.items()}
    if spec.type == "list" and spec.items and isinstance(value, list):
        return [_wire_value(v, spec.items) for v in value]
    return value
