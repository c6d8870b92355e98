"""The validated description of one export target.

A target is everything an export run needs except secrets: credentials are
named (the environment variable or app setting that holds them), never
inlined, so a target can travel in the orchestration input and history
without leaking anything. A delegated (user) sign-in is named the same way:
by the blob that holds its MSAL token cache, never by a token.

Every origin a credential goes to (`base_url`, `token_url`, `authority_host`)
passes the policy in `targets.origins`; every poll knob is bounded to a finite
range here, before an orchestration could start with it.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from connectors.registry import parse_params
from connectors.retry_after import MAX_RETRY_AFTER_S
from orchestrators.poll_policy import PollSettings
from orchestrators.schedule_plan import valid_schedule
from targets.origins import check_credential_url, check_origin_policy

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

    @field_validator("token_url")
    @classmethod
    def _safe_token_url(cls, value: str | None) -> str | None:
        return value if value is None else check_credential_url(value, "token_url")


GUID = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
TENANT = r"^[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$"  # a directory GUID or a verified domain name
DEFAULT_CACHE_CONTAINER = "token-caches"
CONTAINER_NAME = re.compile(r"^(?!.*--)[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$")  # what Blob Storage accepts
BLOB_SEGMENT = re.compile(r"^[A-Za-z0-9_-][A-Za-z0-9._-]{0,254}$")  # no '.', '..' or hidden segments
MSAL_RESERVED_SCOPES = frozenset({"openid", "profile", "offline_access"})  # MSAL adds these itself


def default_cache_blob(target_name: str) -> str:
    return f"{DEFAULT_CACHE_CONTAINER}/{target_name}.json"


class MsalTokenCache(_Strict):
    """A delegated (signed-in user) token, refreshed silently from an MSAL token cache kept in a private blob.

    For APIs that accept no app-only token (Graph's Viva Goals export): a person signs in once with
    `python -m credentials.signin`, and scheduled runs refresh from the cache. See `credentials/token_cache.py`
    for why the cache is a blob in its own container of the exports storage account, not a Key Vault secret.
    """

    kind: Literal["msal_token_cache"]
    client_id: str = Field(pattern=GUID, description="application (client) id of a public client app registration")
    tenant_id: str = Field(pattern=TENANT, description="directory (tenant) id or a verified domain of the tenant")
    authority_host: str = Field(default="https://login.microsoftonline.com", description="national clouds differ")
    scopes: tuple[str, ...] = ("https://graph.microsoft.com/Goals-Export.ReadWrite.All",)
    cache_blob: str | None = Field(default=None, description="'<container>/<blob>'; default token-caches/<target>.json")

    @property
    def authority(self) -> str:
        """The MSAL authority: the identity provider's host and the tenant."""
        return f"{self.authority_host}/{self.tenant_id}"

    def cache_location(self, target_name: str, exports_container: str) -> tuple[str, str]:
        """(container, blob) of the cache; ValueError when it would sit where export consumers may read it."""
        cache_blob = self.cache_blob or default_cache_blob(target_name)
        container, _, blob = cache_blob.partition("/")
        if container == exports_container:
            raise ValueError(
                f"target {target_name!r}: cache_blob {cache_blob!r} is in the exports container, which export "
                f"consumers may read; use a container of its own such as {DEFAULT_CACHE_CONTAINER}"
            )
        return container, blob

    @field_validator("authority_host")
    @classmethod
    def _https_host_only(cls, value: str) -> str:
        parts = urlsplit(value.strip())
        if parts.scheme != "https" or not parts.hostname or parts.path.strip("/") or parts.query or parts.username:
            raise ValueError(
                f"authority_host must be an https origin such as https://login.microsoftonline.com, got {value!r}"
            )
        return check_origin_policy(f"https://{parts.netloc}", "authority_host")

    @field_validator("scopes")
    @classmethod
    def _usable_scopes(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if not value or any(not scope or any(char.isspace() for char in scope) for scope in value):
            raise ValueError("scopes must be a non-empty list of scope names without spaces")
        reserved = sorted(MSAL_RESERVED_SCOPES & {scope.lower() for scope in value})
        if reserved:
            raise ValueError(f"scopes must not list {', '.join(reserved)}: MSAL requests them itself")
        return value

    @field_validator("cache_blob")
    @classmethod
    def _container_and_blob(cls, value: str | None) -> str | None:
        if value is None:
            return value
        container, _, blob = value.partition("/")
        if not CONTAINER_NAME.match(container) or not all(BLOB_SEGMENT.match(part) for part in blob.split("/")):
            raise ValueError(
                f"cache_blob must be '<container>/<blob name>' such as {default_cache_blob('goals-okrs')!r} "
                "(container: 3-63 lowercase letters, digits and single hyphens; blob: letters, digits, '.', '_', '-' "
                f"and '/'), got {value!r}"
            )
        return value


AuthConfig = Annotated[BearerTokenFromEnv | ClientCredentialsFromEnv | MsalTokenCache, Field(discriminator="kind")]


HOUR, DAY = 3600.0, 86400.0


def _seconds(low: float, high: float) -> Any:
    """A finite number of seconds in (low, high]: NaN, infinities and 1e12 never reach a timer."""
    return Field(default=None, gt=low, le=high, allow_inf_nan=False)


def _count(low: int, high: int) -> Any:
    return Field(default=None, ge=low, le=high, strict=True)


class PollConfig(_Strict):
    """Optional overrides of `PollSettings`; the same names, bounded here, their relations checked by it.

    The bounds are generous for real jobs (a deadline of up to 30 days, waits of up to a day) and keep every
    value finite, so that no date arithmetic in the orchestration can overflow on a configured number.
    """

    floor_s: float | None = _seconds(0, HOUR)
    ceiling_s: float | None = _seconds(0, DAY)
    factor: float | None = Field(default=None, ge=1, le=10, allow_inf_nan=False)
    jitter: float | None = Field(default=None, ge=0, lt=1, allow_inf_nan=False)
    min_wait_s: float | None = Field(default=None, ge=0, le=HOUR, allow_inf_nan=False)
    max_server_wait_s: float | None = _seconds(0, MAX_RETRY_AFTER_S)  # no Retry-After is read as longer
    deadline_s: float | None = _seconds(0, 30 * DAY)
    max_recreations: int | None = _count(0, 100)
    max_transient_failures: int | None = _count(1, 1000)
    polls_per_generation: int | None = _count(1, 1000)

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
    max_export_bytes: int | None = Field(default=None, gt=0, description="refuse a larger export; default no limit")

    @field_validator("base_url")
    @classmethod
    def _safe_base_url(cls, value: str) -> str:
        return check_credential_url(value, "base_url")

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

    @model_validator(mode="after")
    def _token_cache_named_after_target(self) -> Target:
        """The cache blob is resolved here, so the orchestration input names it explicitly."""
        if isinstance(self.auth, MsalTokenCache) and self.auth.cache_blob is None:
            auth = self.auth.model_copy(update={"cache_blob": default_cache_blob(self.name)})
            object.__setattr__(self, "auth", auth)
        return self

    def poll_settings(self) -> PollSettings:
        return self.poll.settings()

    def to_input(self) -> dict[str, Any]:
        """The JSON-safe form carried in orchestration inputs (holds no secret by construction)."""
        return self.model_dump(mode="json")
