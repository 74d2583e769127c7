"""`AsyncSoapClient`: configuration, the shared transport and the resources."""

from __future__ import annotations

import copy
import functools
from collections.abc import Callable
from types import TracebackType

import aiohttp

from ._config import (
    Timeout,
    check_auth_scheme,
    check_max_connections,
    resolve_api_key,
    resolve_base_url,
)
from ._logging import setup_from_environment
from ._retry import RetryPolicy
from ._transport import RequestOptions, Transport
from .errors import InvalidRequestError
from .resources import AsyncCharges, AsyncCheckouts, AsyncCustomers, AsyncDevicePings, AsyncKyc

__all__ = ["AsyncSoapClient", "SessionArg"]

RESOURCES = ("customers", "checkouts", "charges", "kyc", "device_pings")
SessionArg = aiohttp.ClientSession | Callable[[], aiohttp.ClientSession] | None


class AsyncSoapClient:
    """The asyncio client of the Soap API.

    ```python
    async with AsyncSoapClient(api_key="key_...") as soap:
        customer = await soap.customers.create(
            email="ada@example.com", first_name="Ada", last_name="Lovelace"
        )
    ```

    Keywords (all optional):

    - `api_key`: defaults to `SOAP_API_KEY`; missing everywhere, a `SoapError` now.
    - `environment`: `"sandbox"` (default, or `SOAP_ENVIRONMENT`) or `"production"`.
    - `base_url`: overrides `environment` (or `SOAP_BASE_URL`); plain `http://` only
      for loopback hosts.
    - `timeout`: a `Timeout`, or a number meaning the total per attempt.
    - `retry`: a `RetryPolicy`, or an int meaning `RetryPolicy(max_retries=n)`.
    - `max_connections`: connection pool size (100).
    - `auth_scheme`: `"bearer"` sends `Authorization: Bearer <key>`, `"raw"` the bare key.
    - `session`: a caller-owned `aiohttp.ClientSession`, never closed by the SDK; or a
      zero-argument callable making one, which the client then owns and closes.

    The client opens its connection pool on first use, in the running loop, and must
    stay on that loop. Close it with `async with` or `await client.close()`.
    """

    def __init__(
        self,
        *,
        api_key: str | None = None,
        environment: str | None = None,
        base_url: str | None = None,
        timeout: Timeout | float = Timeout(),  # noqa: B008 - frozen, so sharing is safe
        retry: RetryPolicy | int = RetryPolicy(),  # noqa: B008
        max_connections: int = 100,
        auth_scheme: str = "bearer",
        session: SessionArg = None,
    ) -> None:
        setup_from_environment()
        key = resolve_api_key(api_key)
        external: aiohttp.ClientSession | None = None
        factory: Callable[[], aiohttp.ClientSession] | None = None
        if isinstance(session, aiohttp.ClientSession):
            external = session
        elif callable(session):
            factory = session
        elif session is not None:
            raise InvalidRequestError(
                "session must be an aiohttp.ClientSession or a callable returning one",
                field="session",
            )
        self._transport = Transport(
            base_url=resolve_base_url(base_url, environment),
            api_key=key,
            auth_scheme=check_auth_scheme(auth_scheme),
            max_connections=check_max_connections(max_connections),
            session=external,
            session_factory=factory,
        )
        self._options = RequestOptions(
            timeout=Timeout.coerce(timeout), retry=RetryPolicy.coerce(retry)
        )
        self._owns_transport = True

    @property
    def base_url(self) -> str:
        """The API's base URL in use."""
        return self._transport.base_url

    @property
    def timeout(self) -> Timeout:
        """The default timeout of this client's calls."""
        return self._options.timeout

    @property
    def retry(self) -> RetryPolicy:
        """The default retry policy of this client's calls."""
        return self._options.retry

    @functools.cached_property
    def customers(self) -> AsyncCustomers:
        """Customers: create (exactly once), search, update, get-or-create, batches."""
        return AsyncCustomers(self)

    @functools.cached_property
    def checkouts(self) -> AsyncCheckouts:
        """Hosted checkout sessions."""
        return AsyncCheckouts(self)

    @functools.cached_property
    def charges(self) -> AsyncCharges:
        """Charges."""
        return AsyncCharges(self)

    @functools.cached_property
    def kyc(self) -> AsyncKyc:
        """KYC identity data."""
        return AsyncKyc(self)

    @functools.cached_property
    def device_pings(self) -> AsyncDevicePings:
        """Geolocation checks."""
        return AsyncDevicePings(self)

    def with_options(
        self, *, timeout: Timeout | float | None = None, retry: RetryPolicy | int | None = None
    ) -> AsyncSoapClient:
        """A client with other defaults that shares this one's connection pool.

        Closing the copy does not close the pool; the original client owns it.
        """
        clone = copy.copy(self)
        for resource in RESOURCES:  # the copied resources would point at the original
            clone.__dict__.pop(resource, None)
        clone._options = self._options.merge(timeout, retry)
        clone._owns_transport = False
        return clone

    async def close(self) -> None:
        """Close the connection pool (not a caller-owned session). Idempotent."""
        if self._owns_transport:
            await self._transport.close()

    async def __aenter__(self) -> AsyncSoapClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(base_url={self.base_url!r})"
