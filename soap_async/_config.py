"""Client configuration: environments, base URL rules, timeouts, API key lookup."""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from typing import Any, Literal
from urllib.parse import urlsplit

import aiohttp
import attrs

from .errors import InvalidRequestError, SoapError

__all__ = ["ENVIRONMENTS", "Timeout", "resolve_api_key", "resolve_base_url"]

ENVIRONMENTS: Mapping[str, str] = {
    "sandbox": "https://api-sandbox.paywithsoap.com",
    "production": "https://api.paywithsoap.com",
}

AuthScheme = Literal["bearer", "raw"]


def _timeout_value(instance: object, attribute: attrs.Attribute[Any], value: Any) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
        raise InvalidRequestError(
            f"Timeout.{attribute.name} must be a number > 0 or None, got {value!r}",
            field=f"timeout.{attribute.name}",
        )


@attrs.frozen
class Timeout:
    """Per-attempt time limits, in seconds (`None` = no limit).

    - `connect`: opening a new TCP/TLS connection;
    - `read`: the longest silence while waiting for the answer;
    - `total`: the whole attempt, connection pool wait included.

    A plain number passed as `timeout=` means `Timeout(total=number)`.
    """

    connect: float | None = attrs.field(default=10.0, validator=_timeout_value)
    read: float | None = attrs.field(default=30.0, validator=_timeout_value)
    total: float | None = attrs.field(default=60.0, validator=_timeout_value)

    @classmethod
    def coerce(cls, value: Timeout | float) -> Timeout:
        """A `Timeout` from a `Timeout` or a number of seconds (the total)."""
        if isinstance(value, Timeout):
            return value
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return cls(total=value)
        raise InvalidRequestError(
            f"timeout must be a Timeout or a number of seconds, got {type(value).__name__}",
            field="timeout",
        )

    def to_aiohttp(self) -> aiohttp.ClientTimeout:
        # `connect` in aiohttp includes waiting for a pool slot, which would turn a busy
        # pool into a spurious connection error; `sock_connect` is the network connect.
        return aiohttp.ClientTimeout(
            total=self.total, sock_connect=self.connect, sock_read=self.read
        )


def resolve_api_key(api_key: str | None, environ: Mapping[str, str] = os.environ) -> str:
    """The API key from the argument, else `SOAP_API_KEY`; a `SoapError` when neither is set."""
    key = api_key if api_key is not None else environ.get("SOAP_API_KEY")
    if key is not None and not isinstance(key, str):
        raise InvalidRequestError(
            f"api_key must be a string, got {type(key).__name__}", field="api_key"
        )
    if key is None or not key.strip():
        raise SoapError(
            "No API key: pass api_key=... or set the SOAP_API_KEY environment variable."
        )
    if any(c in key for c in "\r\n\0"):
        raise InvalidRequestError("api_key must not contain line breaks", field="api_key")
    return key


def _is_loopback(host: str) -> bool:
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def resolve_base_url(
    base_url: str | None,
    environment: str | None,
    environ: Mapping[str, str] = os.environ,
) -> str:
    """The API's base URL.

    Explicit arguments win over the environment, and a URL over a named environment:
    `base_url`, then `environment`, then `SOAP_BASE_URL`, then `SOAP_ENVIRONMENT`, then
    sandbox. Plain `http://` is refused unless the host is loopback, so an API key never
    crosses a network in clear text.
    """
    url = base_url
    if url is None and environment is None:
        url = environ.get("SOAP_BASE_URL")
    if url is None:
        env = environment if environment is not None else environ.get("SOAP_ENVIRONMENT")
        env = env or "sandbox"
        if env not in ENVIRONMENTS:
            raise InvalidRequestError(
                f"environment must be one of {', '.join(ENVIRONMENTS)}, got {env!r}",
                field="environment",
            )
        return ENVIRONMENTS[env]
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidRequestError(
            f"base_url must be an http(s) URL with a host, got {url!r}", field="base_url"
        )
    if parts.scheme == "http" and not _is_loopback(parts.hostname):
        raise InvalidRequestError(
            "base_url must use https unless its host is loopback (127.0.0.1, ::1, "
            f"localhost), got {url!r}",
            field="base_url",
        )
    if parts.query or parts.fragment:
        raise InvalidRequestError(
            f"base_url must not have a query or fragment, got {url!r}", field="base_url"
        )
    return url.rstrip("/")


def check_auth_scheme(value: str) -> AuthScheme:
    if value == "bearer":
        return "bearer"
    if value == "raw":
        return "raw"
    raise InvalidRequestError(
        f"auth_scheme must be 'bearer' or 'raw', got {value!r}", field="auth_scheme"
    )


def check_max_connections(value: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InvalidRequestError(
            f"max_connections must be an integer >= 1, got {value!r}", field="max_connections"
        )
    return value
