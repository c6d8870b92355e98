"""The validated description of one export target.

A target is everything an export run needs except secrets: credentials are
named (the environment variable or app setting that holds them), never
inlined, so a target can travel in the orchestration input and history
without leaking anything.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from connectors.http import check_base_url
from connectors.registry import parse_params
from orchestrators.poll_policy import PollSettings
from orchestrators.schedule_plan import valid_schedule

TARGET_NAME = r"^[a-z0-9][a-z0-9_-]{0,62}$"
ENV_NAME = r"^[A-Za-z_][A-Za-z0-9_]{0,127}$"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class BearerTokenFromEnv(_Strict):
    """A ready bearer token read from an environment variable / app setting at call time."""

    kind: Literal["bearer_env"]
    env: str = Field(pattern=ENV_NAME)


class ClientCredentialsFromEnv(_Strict):
    """OAuth2 client credentials (SailPoint) read from two environment variables / app settings."""

    kind: Literal["client_credentials_env"]
    client_id_env: str = Field(pattern=ENV_NAME)
    client_secret_env: str = Field(pattern=ENV_NAME)
    token_url: str | None = None


AuthConfig = Annotated[BearerTokenFromEnv | ClientCredentialsFromEnv, Field(discriminator="kind")]


class PollConfig(_Strict):
    """Optional overrides of `PollSettings`; the same names, checked by it."""

    floor_s: float | None = None
    ceiling_s: float | None = None
    factor: float | None = None
    jitter: float | None = None
    min_wait_s: float | None = None
    max_server_wait_s: float | None = None
    deadline_s: float | None = None
    max_recreations: int | None = None
    max_transient_failures: int | None = None
    polls_per_generation: int | None = None

    def settings(self) -> PollSettings:
        return PollSettings(**self.model_dump(exclude_none=True))

    @model_validator(mode="after")
    def _valid_settings(self) -> PollConfig:
        self.settings()  # raises ValueError with the rule that was broken
        return self


class Target(_Strict):
    """One export: a connector, its base URL and parameters, a credential reference, a schedule."""

    name: str = Field(pattern=TARGET_NAME, description="lowercase letters, digits, '-' and '_'")
    connector: str
    base_url: str
    params: dict[str, Any] = Field(default_factory=dict)
    auth: AuthConfig
    schedule: str | None = Field(default=None, description="NCRONTAB, six fields: sec min hour day month dow")
    poll: PollConfig = Field(default_factory=PollConfig)

    @field_validator("base_url")
    @classmethod
    def _safe_base_url(cls, value: str) -> str:
        return check_base_url(value)

    @field_validator("schedule")
    @classmethod
    def _six_field_ncrontab(cls, value: str | None) -> str | None:
        if value is not None and not valid_schedule(value.strip()):
            raise ValueError("schedule must be an NCRONTAB expression with six fields, e.g. '0 0 2 * * *'")
        return value.strip() if value else value

    @model_validator(mode="after")
    def _connector_params(self) -> Target:
        validated = parse_params(self.connector, self.params)
        object.__setattr__(self, "params", validated.model_dump(mode="json", exclude_none=True))
        return self

    def poll_settings(self) -> PollSettings:
        return self.poll.settings()

    def to_input(self) -> dict[str, Any]:
        """The JSON-safe form carried in orchestration inputs (holds no secret by construction)."""
        return self.model_dump(mode="json")
