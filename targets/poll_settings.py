"""What a target may tune about waiting, bounded: part of a target, read by the poll policy.

It sits with the targets (not in `orchestrators.poll_policy`, which applies it) so that the target model and the
orchestration contracts can both use it without the `targets` package importing `orchestrators`: the
orchestration's input is a typed `Target`, so `orchestrators` imports `targets`, never the other way round.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

HOUR, DAY = 3600.0, 86400.0
MIN_WAIT_S = 1.0  # no wait of ours, nor the server's, is shorter: no hot loop against an upstream


class PollSettings(BaseModel):
    """What a target may tune about waiting: the one model the targets file, the orchestrator and tests use.

    The bounds are generous for real jobs (a deadline of up to 30 days, waits of up to a day) and keep every value
    finite, so that no date arithmetic in the orchestration can overflow on a configured number.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    # Our own waits are at least MIN_WAIT_S, as the server's are: `floor_s: 1e-9` polled thousands of times a minute.
    floor_s: float = Field(default=5.0, ge=MIN_WAIT_S, le=HOUR, allow_inf_nan=False)  # first backoff wait
    ceiling_s: float = Field(default=300.0, ge=MIN_WAIT_S, le=DAY, allow_inf_nan=False)  # longest backoff we choose
    deadline_s: float = Field(default=6 * HOUR, gt=0, le=30 * DAY, allow_inf_nan=False)  # the whole export
    max_recreations: int = Field(default=2, ge=0, le=100, strict=True)  # failed/cancelled/expired jobs re-created

    @model_validator(mode="before")
    @classmethod
    def _only_tunable_keys(cls, data: Any) -> Any:
        unknown = sorted(set(data) - set(cls.model_fields)) if isinstance(data, Mapping) else []
        if unknown:
            raise ValueError(
                f"{', '.join(map(str, unknown))}: not a per-target poll setting; a target may set only "
                f"{', '.join(cls.model_fields)} (the other poll knobs are fixed, see orchestrators/poll_policy.py)"
            )
        return data

    @model_validator(mode="after")
    def _floor_within_ceiling(self) -> PollSettings:
        if self.floor_s > self.ceiling_s:
            raise ValueError("poll floor_s must be <= ceiling_s")
        return self

    @classmethod
    def from_input(cls, data: Any) -> PollSettings:
        """The settings an orchestration input carries (`Target.to_input`), validated again at the boundary.

        Inputs written before the other knobs became constants held ten keys, unset ones as null: an in-flight
        run of that kind reads its nulls as the defaults and its retired knobs as the constants above.
        """
        given = data if isinstance(data, Mapping) else {}
        return cls.model_validate({k: v for k, v in given.items() if k in cls.model_fields and v is not None})
