"""`SoapClient`: the blocking facade over `AsyncSoapClient`.

All sync clients of a process share one event loop, run by one daemon thread that is
started on the first call (not at import, so a process that forks before using the SDK,
such as a Celery or gunicorn master, never forks a running thread). Each call is
submitted to that loop, so connection pools are shared by every thread.

- Fork: the child abandons the inherited loop, thread and sessions without touching
  them (closing them would unregister the parent's sockets from the shared epoll
  instance) and starts afresh on its next call.
- Exit: an `atexit` hook closes every client's pool on the loop, then stops it, so no
  "Unclosed client session" warning is printed and nothing hangs.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import functools
import os
import threading
import weakref
from collections.abc import Awaitable, Callable, Coroutine
from types import TracebackType
from typing import Any, TypeVar

import aiohttp

from ._client import AsyncSoapClient
from ._config import Timeout
from ._retry import RetryPolicy
from .errors import InvalidRequestError, SoapError
from .resources import Charges, Checkouts, Customers, DevicePings, Kyc

__all__ = ["SoapClient"]

T = TypeVar("T")

# State inherited across fork(): kept referenced forever and never touched, because
# finalising it in the child would disturb the parent's connections.
_ABANDONED: list[object] = []


class _LoopThread:
    """The process-wide event loop thread of the sync facade."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self.generation = 0
        self.clients: weakref.WeakSet[SoapClient] = weakref.WeakSet()

    def loop(self) -> asyncio.AbstractEventLoop:
        loop = self._loop
        if loop is not None:  # the common case, without taking the lock
            return loop
        with self._lock:
            if self._loop is None:
                loop = asyncio.new_event_loop()
                thread = threading.Thread(
                    target=self._run_forever, args=(loop,), name="soap-async-loop", daemon=True
                )
                thread.start()
                self._loop, self._thread = loop, thread
                self.generation += 1
            return self._loop

    @staticmethod
    def _run_forever(loop: asyncio.AbstractEventLoop) -> None:
        asyncio.set_event_loop(loop)
        loop.run_forever()

    def run(self, coro: Awaitable[T]) -> T:
        loop = self.loop()
        if threading.current_thread() is self._thread:
            if asyncio.iscoroutine(coro):
                coro.close()
            raise SoapError(
                "A SoapClient method was called on the SDK's own event loop thread, "
                "where it would wait for itself forever; await the AsyncSoapClient there."
            )
        coroutine: Coroutine[Any, Any, T] = (
            coro if asyncio.iscoroutine(coro) else _as_coroutine(coro)
        )
        future = asyncio.run_coroutine_threadsafe(coroutine, loop)
        try:
            return future.result()
        except BaseException:
            # Ctrl-C or another interruption of the waiting thread: stop the call too.
            future.cancel()
            raise

    def after_fork_in_child(self) -> None:
        _ABANDONED.append((self._loop, self._thread, [c._async for c in self.clients]))
        for client in self.clients:
            client._async = None
        self._lock = threading.Lock()
        self._loop = self._thread = None

    def shutdown(self) -> None:
        """Close every client's pool, then stop the loop (at interpreter exit)."""
        with self._lock:
            loop, thread = self._loop, self._thread
            self._loop = self._thread = None
        if loop is None or thread is None or not thread.is_alive():
            return
        clients = [c._async for c in list(self.clients) if c._async is not None]

        async def close_all() -> None:
            await asyncio.gather(*(c.close() for c in clients), return_exceptions=True)

        # Best effort at exit: there is nobody left to tell about a failure.
        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(close_all(), loop).result(timeout=5)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=5)
        if not thread.is_alive():
            loop.close()


async def _as_coroutine(awaitable: Awaitable[T]) -> T:
    return await awaitable


_LOOP = _LoopThread()
os.register_at_fork(after_in_child=_LOOP.after_fork_in_child)
atexit.register(_LOOP.shutdown)


class SoapClient:
    """The blocking client of the Soap API: the same methods as `AsyncSoapClient`.

    ```python
    with SoapClient() as soap:          # SOAP_API_KEY from the environment
        customer = soap.customers.create(
            email="ada@example.com", first_name="Ada", last_name="Lovelace"
        )
    ```

    It takes the same keywords as `AsyncSoapClient`, except that `session` must be a
    zero-argument callable making an `aiohttp.ClientSession` (the SDK calls it on its
    own loop, because a session belongs to the loop that made it).

    One instance may be shared by many threads; it works inside a running event loop
    (blocking that loop for the call), in a child process after `os.fork()`, and leaves
    no warning at interpreter exit.
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
        session: Callable[[], aiohttp.ClientSession] | None = None,
    ) -> None:
        if isinstance(session, aiohttp.ClientSession):
            raise InvalidRequestError(
                "SoapClient runs on its own event loop, so it needs a function that makes "
                "the session (session=lambda: aiohttp.ClientSession(...)), not a session",
                field="session",
            )

        def make() -> AsyncSoapClient:
            # A closure rather than functools.partial, whose repr would show the key.
            return AsyncSoapClient(
                api_key=api_key,
                environment=environment,
                base_url=base_url,
                timeout=timeout,
                retry=retry,
                max_connections=max_connections,
                auth_scheme=auth_scheme,
                session=session,
            )

        # Built now, in the caller's thread, so bad settings fail at construction. It
        # opens nothing until its first call on the SDK loop.
        self._async: AsyncSoapClient | None = make()
        self._make: Callable[[], AsyncSoapClient] = make
        self._lock = threading.Lock()
        self._closed = False
        self._parent: SoapClient | None = None
        _LOOP.clients.add(self)

    def _async_client(self) -> AsyncSoapClient:
        if self._closed:
            raise SoapError("This SoapClient is closed; create a new one.")
        if self._parent is not None:
            return self._derived()
        client = self._async
        if client is not None:  # the common case, without taking the lock
            return client
        with self._lock:
            if self._async is None:  # the first call in a forked child
                self._async = self._make()
            return self._async

    def _derived(self) -> AsyncSoapClient:
        assert self._parent is not None
        base = self._parent._async_client()
        cached = self._async
        if cached is None or cached._transport is not base._transport:
            cached = self._make_from(base)
            self._async = cached
        return cached

    _make_from: Callable[[AsyncSoapClient], AsyncSoapClient]

    def _run(self, call: Callable[[AsyncSoapClient], Awaitable[T]]) -> T:
        _LOOP.loop()  # a fork resets the client before it is read below
        client = self._async_client()
        return _LOOP.run(call(client))

    @functools.cached_property
    def customers(self) -> Customers:
        """Customers: create (exactly once), search, update, get-or-create, batches."""
        return Customers(self)

    @functools.cached_property
    def checkouts(self) -> Checkouts:
        """Hosted checkout sessions."""
        return Checkouts(self)

    @functools.cached_property
    def charges(self) -> Charges:
        """Charges."""
        return Charges(self)

    @functools.cached_property
    def kyc(self) -> Kyc:
        """KYC identity data."""
        return Kyc(self)

    @functools.cached_property
    def device_pings(self) -> DevicePings:
        """Geolocation checks."""
        return DevicePings(self)

    @property
    def base_url(self) -> str:
        """The API's base URL in use."""
        return self._async_client().base_url

    def with_options(
        self, *, timeout: Timeout | float | None = None, retry: RetryPolicy | int | None = None
    ) -> SoapClient:
        """A client with other defaults that shares this one's connection pool."""
        # Check the overrides now, in the caller's thread.
        if timeout is not None:
            Timeout.coerce(timeout)
        if retry is not None:
            RetryPolicy.coerce(retry)
        clone = object.__new__(SoapClient)
        clone._async = None
        clone._make = self._make
        clone._lock = threading.Lock()
        clone._closed = False
        clone._parent = self
        clone._make_from = lambda base: base.with_options(timeout=timeout, retry=retry)
        return clone

    def close(self) -> None:
        """Close the connection pool. Idempotent; a copy from `with_options` owns none."""
        if self._closed:
            return
        self._closed = True
        client, self._async = self._async, None
        _LOOP.clients.discard(self)
        if self._parent is None and client is not None and client._transport._session:
            _LOOP.run(client.close())

    def __enter__(self) -> SoapClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return (
            f"SoapClient(base_url={self.base_url!r})" if not self._closed else "SoapClient(closed)"
        )

    def __getstate__(self) -> Any:
        raise TypeError("SoapClient cannot be pickled; create one per process")
