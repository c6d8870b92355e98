"""A ready bearer token from an app setting: for APIs (and tests) where someone else obtains the token.

Read each time it is needed, so a rotated setting takes effect without a restart; named in errors by the
setting, never by the value.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from kernel.errors import ConfigurationError, ErrorKind


class StaticTokenProvider:
    """A ready bearer token read from an environment variable / app setting each time it is needed."""

    def __init__(self, env_var: str, environ: Mapping[str, str] | None = None) -> None:
        self.env_var = env_var
        self._environ = environ

    def get_token(self, *, force_refresh: bool = False) -> str:
        value = (self._environ if self._environ is not None else os.environ).get(self.env_var, "").strip()
        if not value:
            message = f"no bearer token: set the environment variable {self.env_var}"
            raise ConfigurationError(ErrorKind.PERMANENT, message)
        return value
