"""One aiohttp session per client, and one request with its retries."""

from __future__ import annotations

import asyncio
import logging
import platform
from collections.abc import Callable, Mapping
from typing import Any

import aiohttp
import attrs

from . import _json
from ._config import AuthScheme, Timeout
from ._logging import logger
from ._retry import RetryPolicy
from ._version import __version__
from .errors import (
    APIConnectionError,
    APIResponseValidationError,
    APITimeoutError,
    SoapError,
    make_status_error,
)

__all__ = ["AttemptLog", "RequestOptions", "Transport", "user_agent"]


def user_agent() -> str:
    major, minor, _ = platform.python_version_tuple()
    return f"soap-async/{__version__} python/{major}.{minor} aiohttp/{aiohttp.__version__}"


@attrs.frozen
class RequestOptions:
    """Timeout and retry policy in force for one call."""

    timeout: Timeout
    retry: RetryPolicy
    client_timeout: aiohttp.ClientTimeout = attrs.field(init=False)

    @client_timeout.default
    def _client_timeout(self) -> aiohttp.ClientTimeout:
        return self.timeout.to_aiohttp()

    def merge(
        self, timeout: Timeout | float | None = None, retry: RetryPolicy | int | None = None
    ) -> RequestOptions:
        """These options with per-call overrides applied (itself when there are none)."""
        if timeout is None and retry is None:
            return self
        return RequestOptions(
            timeout=self.timeout if timeout is None else Timeout.coerce(timeout),
            retry=self.retry if retry is None else RetryPolicy.coerce(retry),
        )


@attrs.define
class AttemptLog:
    """What happened to the attempts of one call, for callers that must know.

    `ambiguous` becomes true when an attempt may have been processed by Soap without
    the SDK learning its outcome: a timeout or dropped connection after the request was
    written, or a 500, 502 or 504 answer.
    """

    ambiguous: bool = False
    # Called on every 429, so a batch can slow down while the retry waits.
    on_rate_limited: Callable[[], None] | None = None


# Statuses after which the server may or may not have done the work. A 503 or 429 is
# a refusal before processing; a 500 can come after the row was written.
_AMBIGUOUS_STATUSES = frozenset({500, 502, 504})


def _decode(raw: bytes) -> Any:
    if not raw:
        return None
    return _json.loads(raw)


def _error_body(raw: bytes) -> Any:
    try:
        return _decode(raw)
    except ValueError:
        return raw.decode("utf-8", "replace")


def _connection_error(exc: BaseException) -> APIConnectionError:
    """The SDK error for an aiohttp failure, keeping timeouts and refusals apart."""
    name = type(exc).__name__
    if isinstance(exc, aiohttp.ConnectionTimeoutError):
        return APITimeoutError(f"Timed out connecting to Soap ({name}).", request_sent=False)
    if isinstance(exc, (aiohttp.ServerTimeoutError, asyncio.TimeoutError)):
        return APITimeoutError("Timed out waiting for Soap's answer.", request_sent=True)
    if isinstance(exc, aiohttp.ClientConnectorError):
        return APIConnectionError(f"Could not connect to Soap: {exc}", request_sent=False)
    return APIConnectionError(f"Connection to Soap lost: {name}: {exc}", request_sent=True)


_RETRYABLE_EXCEPTIONS = (aiohttp.ClientError, asyncio.TimeoutError)


class Transport:
    """Owns the aiohttp session (or borrows the caller's) and sends requests.

    The session is created on first use, inside the running loop, because an aiohttp
    session is bound to the loop that created it.
    """

    def __init__(
        self,
        *,
        base_url: str,
        api_key: str,
        auth_scheme: AuthScheme,
        max_connections: int,
        session: aiohttp.ClientSession | None = None,
        session_factory: Callable[[], aiohttp.ClientSession] | None = None,
    ) -> None:
        self.base_url = base_url
        self.max_connections = max_connections
        self._external_session = session
        self._session_factory = session_factory or self._default_session
        self._session: aiohttp.ClientSession | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._closed = False
        authorization = f"Bearer {api_key}" if auth_scheme == "bearer" else api_key
        # Built once: the same dicts serve every request.
        self._headers = {
            "User-Agent": user_agent(),
            "Accept": "application/json",
            "Authorization": authorization,
        }
        self._json_headers = {**self._headers, "Content-Type": "application/json"}

    @property
    def closed(self) -> bool:
        return self._closed

    def _get_session(self) -> aiohttp.ClientSession:
        if self._external_session is not None:
            return self._external_session
        if self._closed:
            raise SoapError("This client is closed; create a new one.")
        loop = asyncio.get_running_loop()
        session = self._session
        if session is None:
            session = self._session_factory()
            self._session, self._loop = session, loop
        elif loop is not self._loop:
            raise SoapError(
                "This AsyncSoapClient was first used on another event loop. aiohttp "
                "connections belong to one loop: create the client inside the loop that "
                "uses it, or use SoapClient from synchronous code."
            )
        return session

    def _default_session(self) -> aiohttp.ClientSession:
        connector = aiohttp.TCPConnector(
            limit=self.max_connections, keepalive_timeout=10, ttl_dns_cache=60
        )
        return aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout())

    async def close(self) -> None:
        """Close the session the SDK created; a caller-owned session is left open."""
        self._closed = True
        session, self._session = self._session, None
        if session is not None and not session.closed:
            await session.close()

    async def request(
        self,
        method: str,
        path: str,
        *,
        options: RequestOptions,
        body: Mapping[str, Any] | None = None,
        params: Mapping[str, str] | None = None,
        log: AttemptLog | None = None,
        authorization: str | None = None,
    ) -> Any:
        """Send one request with retries; the decoded JSON answer or an SDK error.

        `authorization` replaces the API key's header for this request (the device-ping
        endpoint takes the dashboard client secret instead).
        """
        session = self._get_session()
        retry = options.retry
        url = self.base_url + path
        if body is None:
            data, headers = None, self._headers
        else:
            data, headers = _json.dumps(body), self._json_headers
        if authorization is not None:
            headers = {**headers, "Authorization": authorization}
        retries_taken = 0
        while True:
            started = retry.clock()
            try:
                async with session.request(
                    method,
                    url,
                    data=data,
                    params=params,
                    headers=headers,
                    timeout=options.client_timeout,
                    allow_redirects=False,
                ) as response:
                    raw = await response.read()
                    status = response.status
                    response_headers = response.headers
            except _RETRYABLE_EXCEPTIONS as exc:
                error = _connection_error(exc)
                if log is not None and error.request_sent:
                    log.ambiguous = True
                outcome: int | str = type(exc).__name__
                # A certificate problem will not fix itself on a retry.
                if isinstance(exc, aiohttp.ClientSSLError) or retries_taken >= retry.max_retries:
                    _log_attempt(logging.INFO, method, path, outcome, retries_taken, started, retry)
                    raise error from exc
                delay = retry.delay(retries_taken)
            else:
                if status < 300:
                    if logger.isEnabledFor(logging.DEBUG):  # checked here: the hot path
                        _log_attempt(
                            logging.DEBUG, method, path, status, retries_taken, started, retry
                        )
                    try:
                        return _json.loads(raw) if raw else None
                    except ValueError as exc:
                        raise APIResponseValidationError(
                            "Soap's answer is not valid JSON",
                            status_code=status,
                            body=raw.decode("utf-8", "replace"),
                            headers=response_headers,
                        ) from exc
                if log is not None:
                    if status in _AMBIGUOUS_STATUSES:
                        log.ambiguous = True
                    elif status == 429 and log.on_rate_limited is not None:
                        log.on_rate_limited()
                if status not in retry.retry_statuses or retries_taken >= retry.max_retries:
                    _log_attempt(logging.INFO, method, path, status, retries_taken, started, retry)
                    raise make_status_error(status, _error_body(raw), response_headers)
                outcome = status
                delay = retry.delay(retries_taken, response_headers.get("Retry-After"))
            _log_attempt(logging.INFO, method, path, outcome, retries_taken, started, retry, delay)
            await retry.sleep(delay)
            retries_taken += 1


def _log_attempt(
    level: int,
    method: str,
    path: str,
    outcome: int | str,
    retries_taken: int,
    started: float,
    retry: RetryPolicy,
    delay: float | None = None,
) -> None:
    """One record per attempt: method, path, status (or error name), attempt, elapsed.

    Never the query string, headers or bodies. Costs one level check when logging is off.
    """
    if not logger.isEnabledFor(level):
        return
    attempt = retries_taken + 1
    elapsed_ms = round((retry.clock() - started) * 1000, 1)
    extra = {
        "soap_method": method,
        "soap_path": path,
        "soap_status": outcome if isinstance(outcome, int) else None,
        "soap_attempt": attempt,
        "soap_elapsed_ms": elapsed_ms,
    }
    if delay is None:
        logger.log(
            level,
            "%s %s -> %s (attempt %d, %.1f ms)",
            method,
            path,
            outcome,
            attempt,
            elapsed_ms,
            extra=extra,
        )
    else:
        logger.log(
            level,
            "%s %s -> %s (attempt %d, %.1f ms); retrying in %.2f s",
            method,
            path,
            outcome,
            attempt,
            elapsed_ms,
            delay,
            extra=extra,
        )
