"""`SoapClient`: the blocking facade over `AsyncSoapClient`.

All sync clients of a process share one event loop, so connection pools are shared by
every thread. The loop has no thread of its own: a blocking call runs it in the
calling thread until the call is done, so a call costs no thread hand-off.

- Threads: one thread at a time runs the loop (the driver). A call made while another
  thread drives is handed to that loop, and its thread waits; when a driver's own call
  is done it passes the loop on to a waiting thread whose call is not.
- A thread with a running event loop of its own (a notebook, async code calling a sync
  helper) cannot run a second loop, so its call runs in a short-lived helper thread
  while the caller blocks.
- Ctrl-C: on the main thread, SIGINT cancels the call and then raises
  `KeyboardInterrupt`, as `asyncio.run` does, instead of interrupting the loop between
  two steps of its work.
- Fork: the child abandons the inherited loop and sessions without touching them
  (closing them would unregister the parent's sockets from the shared epoll instance)
  and starts afresh on its next call.
- Exit: an `atexit` hook closes every client's pool on the loop, so no
  "Unclosed client session" warning is printed and nothing hangs.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import functools
import importlib
import os
import signal
import threading
import weakref
from collections.abc import Awaitable, Callable, Coroutine
from types import FrameType, TracebackType
from typing import Any, Generic, TypeVar, cast

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

_get_running_loop = asyncio.events._get_running_loop
# The C functions under `signal`: its Python wrappers convert to and from enums on every
# call, several times the cost of the swap itself, and each blocking call on the main
# thread swaps the SIGINT handler twice.
try:
    _raw_signal: Any = importlib.import_module("_signal")
except ImportError:  # pragma: no cover - an interpreter without it
    _raw_signal = signal


class _Call(Generic[T]):
    """One blocking call: its coroutine, then its task and outcome.

    `start` and `_finished` run on the loop, in whichever thread drives it; `done` is
    set under the shared lock, and `wake` (a condition on that lock) tells a waiting
    thread that the call is done or that the loop needs a driver.
    """

    __slots__ = ("coro", "done", "error", "interrupted", "leading", "task", "value", "wake")

    def __init__(self, coro: Coroutine[Any, Any, T]) -> None:
        self.coro = coro
        self.task: asyncio.Task[T] | None = None
        self.done = False
        self.leading = False  # its own thread drives the loop: stop the loop when done
        self.interrupted = False
        self.wake: threading.Condition | None = None
        self.value: T | None = None
        self.error: BaseException | None = None

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        if self.done:  # cancelled before it started
            return
        task = loop.create_task(self.coro)
        self.task = task
        task.add_done_callback(self._finished)

    def cancel(self) -> None:
        """On the loop (or while nobody drives it): cancel the call wherever it is."""
        if self.task is not None:
            self.task.cancel()
        elif not self.done:
            self.coro.close()
            self._settle(None, asyncio.CancelledError())

    def _finished(self, task: asyncio.Task[T]) -> None:
        if task.cancelled():
            self._settle(None, asyncio.CancelledError())
        elif (error := task.exception()) is not None:
            self._settle(None, error)
        else:
            self._settle(task.result(), None)

    def _settle(self, value: T | None, error: BaseException | None) -> None:
        self.value, self.error = value, error
        with _LOOP.lock:
            self.done = True
            if self.wake is not None:
                self.wake.notify()
        if self.leading:
            asyncio.get_running_loop().stop()

    def outcome(self) -> T:
        error = self.error
        if error is not None:
            self.error = None  # no reference cycle through the traceback
            if self.interrupted and isinstance(error, asyncio.CancelledError):
                raise KeyboardInterrupt
            raise error
        return self.value  # type: ignore[return-value]


class _SharedLoop:
    """The process-wide event loop of the sync facade, run by the threads calling it."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._driver: int | None = None  # the thread running the loop now
        self._waiting: list[_Call[Any]] = []  # calls whose threads wait for them
        self.clients: weakref.WeakSet[SoapClient] = weakref.WeakSet()

    def loop(self) -> asyncio.AbstractEventLoop:
        loop = self._loop
        if loop is not None:  # the common case, without taking the lock
            return loop
        with self.lock:
            if self._loop is None:
                self._loop = asyncio.new_event_loop()
            return self._loop

    def run(self, coro: Awaitable[T], *, timeout: float | None = None) -> T:
        """Run `coro` on the shared loop and return its result, from any thread."""
        loop = self.loop()
        coroutine: Coroutine[Any, Any, T] = (
            coro if asyncio.iscoroutine(coro) else _as_coroutine(coro)
        )
        running = _get_running_loop()
        if running is loop:
            coroutine.close()
            raise SoapError(
                "A SoapClient method was called from code running on the SDK's own event "
                "loop, where it would wait for itself forever; await the AsyncSoapClient "
                "there."
            )
        call = _Call(coroutine)
        if running is not None:
            return self._run_in_helper(loop, call)
        return self._execute(loop, call, timeout)

    def _execute(self, loop: asyncio.AbstractEventLoop, call: _Call[T], timeout: float | None) -> T:
        with self.lock:
            if self._driver is None:
                self._driver = threading.get_ident()
                call.leading = True
        if call.leading:
            # Started on the loop's next step, after the I/O already waiting is read (a
            # keep-alive connection the server closed meanwhile is then not reused).
            loop.call_soon(call.start, loop)
            return self._drive(loop, call)
        return self._follow(loop, call, timeout)

    def _drive(self, loop: asyncio.AbstractEventLoop, call: _Call[T]) -> T:
        previous = None
        if threading.current_thread() is threading.main_thread():
            previous = _raw_signal.getsignal(signal.SIGINT)
            if previous is signal.default_int_handler:
                _raw_signal.signal(signal.SIGINT, _sigint_cancels(loop, call))
            else:
                previous = None  # the program's own handler: leave it alone
        try:
            while not call.done:
                loop.run_forever()
        except BaseException:
            # Interrupted some other way: cancel the call; its task finishes cancelling
            # when the loop next runs.
            call.leading = False
            call.cancel()
            raise
        finally:
            if previous is not None:
                _raw_signal.signal(signal.SIGINT, previous)
            call.leading = False
            with self.lock:
                self._driver = None
                self._pass_on()
        return call.outcome()

    def _pass_on(self) -> None:
        """Wake a thread whose call is still waiting, to drive the loop (lock held)."""
        for waiting in self._waiting:
            if not waiting.done and waiting.wake is not None:
                waiting.wake.notify()
                return

    def _follow(self, loop: asyncio.AbstractEventLoop, call: _Call[T], timeout: float | None) -> T:
        call.wake = threading.Condition(self.lock)
        loop.call_soon_threadsafe(call.start, loop)
        deadline = None if timeout is None else loop.time() + timeout
        with self.lock:
            self._waiting.append(call)
            try:
                while not call.done:
                    if self._driver is None:
                        self._driver = threading.get_ident()
                        call.leading = True
                        break
                    remaining = None if deadline is None else deadline - loop.time()
                    if remaining is not None and remaining <= 0:
                        raise TimeoutError("the SDK's event loop stayed busy")
                    call.wake.wait(remaining)
            except BaseException:
                loop.call_soon_threadsafe(call.cancel)
                raise
            finally:
                self._waiting.remove(call)
        if call.leading:
            return self._drive(loop, call)
        return call.outcome()

    def _run_in_helper(self, loop: asyncio.AbstractEventLoop, call: _Call[T]) -> T:
        # This thread runs a loop of its own, so the call runs in a helper thread and
        # this one (and its loop) waits.
        failure: list[BaseException] = []

        def target() -> None:
            try:
                call.value = self._execute(loop, call, None)
            except BaseException as exc:
                failure.append(exc)

        helper = threading.Thread(target=target, name="soap-async-call", daemon=True)
        helper.start()
        try:
            helper.join()
        except BaseException:
            loop.call_soon_threadsafe(call.cancel)
            raise
        if failure:
            error = failure.pop()
            raise error
        return cast(T, call.value)

    def after_fork_in_child(self) -> None:
        _ABANDONED.append((self._loop, [c._async for c in self.clients]))
        for client in self.clients:
            client._async = None
        self.lock = threading.Lock()
        self._loop = None
        self._driver = None
        self._waiting = []

    def shutdown(self) -> None:
        """Close every client's pool and then the loop (at interpreter exit)."""
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        clients = [c._async for c in list(self.clients) if c._async is not None]

        async def close_all() -> None:
            await asyncio.gather(*(c.close() for c in clients), return_exceptions=True)

        # Best effort at exit: there is nobody left to tell about a failure.
        with contextlib.suppress(Exception):
            self.run(close_all(), timeout=5)
        with self.lock:
            if self._driver is not None or loop.is_running():
                return  # another thread is still inside a call: leave the loop to it
            self._loop = None
        # One more step runs what closing scheduled (the sockets' own closing).
        loop.call_soon(loop.stop)
        loop.run_forever()
        loop.close()


def _sigint_cancels(loop: asyncio.AbstractEventLoop, call: _Call[Any]) -> Callable[..., None]:
    """A SIGINT handler that cancels the call rather than break into the loop."""

    def on_sigint(signum: int, frame: FrameType | None) -> None:
        # It may run between any two steps of the loop, even where the SDK's lock is
        # held: it only schedules the cancellation (thread-safe, and it wakes the loop).
        if call.interrupted:  # a second Ctrl-C: stop waiting at once
            raise KeyboardInterrupt
        call.interrupted = True
        loop.call_soon_threadsafe(call.cancel)

    return on_sigint


async def _as_coroutine(awaitable: Awaitable[T]) -> T:
    return await awaitable


_LOOP = _SharedLoop()
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
