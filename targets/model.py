"""The validated description of one export target.

A target is everything an export run needs except secrets: credentials are
named (the environment variable or app setting that holds them), never
inlined, so a target can travel in the orchestration input and history
without leaking anything. A delegated (user) sign-in is named the same way:
by the blob that holds its MSAL token cache, never by a token.

Every origin a credential goes to (`base_url`, `token_url`, `authority_host`)
passes the policy in `targets.origins`; the poll settings a target may tune are
`targets.poll_settings.PollSettings`, bounded to finite ranges there, so
no orchestration can start with a value its date arithmetic cannot take.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from connectors.registry import check_auth_kind, default_scopes, parse_params
from targets.freshness import Freshness
from targets.origins import check_credential_url, check_origin_policy
from targets.poll_settings import PollSettings
from targets.schedules import valid_schedule

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
    scopes: tuple[str, ...] | None = Field(default=None, description="default: the connector spec's auth scopes")
    cache_blob: str | None = Field(default=None, description="'<container>/<blob>'; default token-caches/<target>.json")

    @property
    def requested_scopes(self) -> tuple[str, ...]:
        """The scopes to ask for: resolved by the target (its own, else its connector spec's) before any use."""
        if self.scopes is None:
            raise ValueError("auth.scopes is not set and was not resolved from the connector's spec")
        return self.scopes

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
    def _usable_scopes(cls, value: tuple[str, ...] | None) -> tuple[str, ...] | None:
        if value is None:
            return value
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


class Target(_Strict):
    """One export: a connector, its base URL and parameters, a credential reference, a schedule."""

    name: str = Field(pattern=TARGET_NAME, description="lowercase letters, digits, '-' and '_'")
    connector: str
    base_url: str
    params: dict[str, Any] = Field(default_factory=dict)
    auth: AuthConfig
    schedule: str | None = Field(default=None, description="NCRONTAB, six fields: sec min hour day month dow")
    poll: PollSettings = Field(default_factory=PollSettings)
    max_export_bytes: int | None = Field(default=None, gt=0, description="refuse a larger export; default no limit")
    freshness: Freshness | None = Field(default=None, description="warn_after / error_after; default from schedule")

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
        object.__setattr__(self, "params", parse_params(self.connector, self.params))
        check_auth_kind(self.connector, self.auth.kind)
        return self

    @model_validator(mode="after")
    def _token_cache_named_after_target(self) -> Target:
        """The cache blob and the scopes are resolved here, so the orchestration input names them explicitly.

        A target's scopes are its own, else those its connector's spec asks for; neither is an error."""
        if isinstance(self.auth, MsalTokenCache):
            update: dict[str, Any] = {}
            if self.auth.cache_blob is None:
                update["cache_blob"] = default_cache_blob(self.name)
            if self.auth.scopes is None:
                scopes = default_scopes(self.connector)
                if not scopes:
                    raise ValueError(
                        f"auth.scopes: connector {self.connector!r} names no default scopes; list the scopes "
                        "the signed-in user's token needs"
                    )
                update["scopes"] = scopes
            if update:
                object.__setattr__(self, "auth", self.auth.model_copy(update=update))
        return self

    def to_input(self) -> dict[str, Any]:
        """The JSON-safe form carried in orchestration inputs (holds no secret by construction)."""
        return self.model_dump(mode="json")

    @classmethod
    def from_input(cls, data: Mapping[str, Any]) -> Target:
        """The target an orchestration input carries, validated again where an activity starts to use it.

        An input written by an earlier version may hold poll keys that are constants now (`PollSettings.from_input`).
        """
        return cls.model_validate({**data, "poll": PollSettings.from_input(data.get("poll"))})
