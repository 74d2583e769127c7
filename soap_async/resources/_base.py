"""What every resource shares: the async base and the generic sync wrapper."""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator, Mapping
from typing import TYPE_CHECKING, Any, Concatenate, ParamSpec, TypeVar

from .._config import Timeout
from .._retry import RetryPolicy
from .._transport import AttemptLog

if TYPE_CHECKING:
    from .._client import AsyncSoapClient
    from .._sync import SoapClient

__all__ = ["AsyncResource", "SyncResource", "sync_method"]

P = ParamSpec("P")
R = TypeVar("R")
A = TypeVar("A", bound="AsyncResource")


class AsyncResource:
    """Base of `client.<resource>` on `AsyncSoapClient`."""

    name: str = ""

    def __init__(self, client: AsyncSoapClient) -> None:
        self._client = client

    async def _request(
        self,
        method: str,
        path: str,
        *,
        body: Mapping[str, Any] | None = None,
        params: Mapping[str, str] | None = None,
        timeout: Timeout | float | None = None,
        retry: RetryPolicy | int | None = None,
        log: AttemptLog | None = None,
        authorization: str | None = None,
    ) -> Any:
        client = self._client
        return await client._transport.request(
            method,
            path,
            options=client._options.merge(timeout, retry),
            body=body,
            params=params,
            log=log,
            authorization=authorization,
        )


class SyncResource:
    """Base of `client.<resource>` on `SoapClient`: each method runs its async twin."""

    name: str = ""

    def __init__(self, client: SoapClient) -> None:
        self._client = client

    def _call(self, method: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        resource, name = self.name, method

        async def call(async_client: AsyncSoapClient) -> Any:
            return await getattr(getattr(async_client, resource), name)(*args, **kwargs)

        return self._client._run(call)

    def _iterate(self, method: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Iterator[Any]:
        resource, name = self.name, method
        client = self._client

        async def start(async_client: AsyncSoapClient) -> AsyncIterator[Any]:
            iterator: AsyncIterator[Any] = getattr(getattr(async_client, resource), name)(
                *args, **kwargs
            )
            return iterator

        iterator = client._run(start)
        try:
            while True:
                try:
                    # Each step runs the SDK loop until the next item is done.
                    yield client._run(lambda _: anext(iterator))
                except StopAsyncIteration:
                    return
        finally:
            aclose = getattr(iterator, "aclose", None)
            if aclose is not None:
                client._run(lambda _: aclose())


def sync_method(
    method: Callable[Concatenate[A, P], Coroutine[Any, Any, R]],
) -> Callable[Concatenate[SyncResource, P], R]:
    """The blocking twin of an async resource method, with the same signature and docs."""
    name = method.__name__

    @functools.wraps(method)
    def blocking(self: SyncResource, /, *args: P.args, **kwargs: P.kwargs) -> R:
        result: R = self._call(name, args, kwargs)
        return result

    return blocking


def sync_iterator(
    method: Callable[Concatenate[A, P], AsyncIterator[R]],
) -> Callable[Concatenate[SyncResource, P], Iterator[R]]:
    """The blocking twin of an async-generator method: a plain iterator."""
    name = method.__name__

    @functools.wraps(method)
    def iterate(self: SyncResource, /, *args: P.args, **kwargs: P.kwargs) -> Iterator[R]:
        iterator: Iterator[R] = self._iterate(name, args, kwargs)
        return iterator

    return iterate
