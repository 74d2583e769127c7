"""The batch engine: lazy input, bounded concurrency that backs off on 429, clean cancel."""

from __future__ import annotations

import asyncio
from collections.abc import (
    AsyncGenerator,
    AsyncIterable,
    AsyncIterator,
    Awaitable,
    Callable,
    Iterable,
)
from typing import Any

import attrs

from .errors import InvalidRequestError
from .models.batch import BatchItem, BatchProgress

__all__ = ["AdaptiveLimit", "Rows", "check_concurrency", "collect_batch", "run_batch"]


def check_concurrency(value: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InvalidRequestError(
            f"concurrency must be an integer >= 1, got {value!r}", field="concurrency"
        )
    return value


class AdaptiveLimit:
    """How many requests may be in flight: halved on a 429, raised by one after a run
    of successes as long as the current limit (additive increase, multiplicative
    decrease), never above `maximum` nor below one.
    """

    def __init__(self, maximum: int) -> None:
        self.maximum = maximum
        self.limit = maximum
        self.in_flight = 0
        self._successes = 0
        self._waiters: list[asyncio.Future[None]] = []

    async def acquire(self) -> None:
        while self.in_flight >= self.limit:
            waiter = asyncio.get_running_loop().create_future()
            self._waiters.append(waiter)
            try:
                await waiter
            finally:
                if waiter in self._waiters:
                    self._waiters.remove(waiter)
        self.in_flight += 1

    def release(self) -> None:
        self.in_flight -= 1
        self._wake()

    def rate_limited(self) -> None:
        self.limit = max(1, self.limit // 2)
        self._successes = 0

    def succeeded(self) -> None:
        if self.limit >= self.maximum:
            return
        self._successes += 1
        if self._successes >= self.limit:
            self.limit += 1
            self._successes = 0
            self._wake()

    def _wake(self) -> None:
        # Few waiters (at most one per worker); each re-checks the limit when it runs.
        for waiter in self._waiters:
            if not waiter.done():
                waiter.set_result(None)
        self._waiters.clear()


class Rows:
    """Reads an iterable or async iterable one row at a time, numbering the rows."""

    def __init__(self, rows: Iterable[Any] | AsyncIterable[Any]) -> None:
        self._sync: Iterable[Any] | None = None
        self._async: AsyncIterator[Any] | None = None
        if isinstance(rows, AsyncIterable):
            self._async = aiter(rows)
        elif isinstance(rows, Iterable) and not isinstance(rows, (str, bytes, dict)):
            self._sync = iter(rows)
        else:
            raise InvalidRequestError(
                "requests must be an iterable or async iterable of requests or dicts, "
                f"got {type(rows).__name__}",
                field="requests",
            )
        self._lock = asyncio.Lock()
        self._next_index = 0
        self._exhausted = False

    async def next(self) -> tuple[int, Any] | None:
        """The next (index, row), or None at the end."""
        if self._async is None:
            # No await between reading and numbering: workers cannot interleave here.
            return self._next_sync()
        async with self._lock:  # an async generator cannot be advanced concurrently
            if self._exhausted:
                return None
            try:
                row = await anext(self._async)
            except StopAsyncIteration:
                self._exhausted = True
                return None
            return self._number(row)

    def _next_sync(self) -> tuple[int, Any] | None:
        if self._exhausted:
            return None
        try:
            row = next(self._sync)  # type: ignore[call-overload]
        except StopIteration:
            self._exhausted = True
            return None
        return self._number(row)

    def _number(self, row: Any) -> tuple[int, Any]:
        index = self._next_index
        self._next_index += 1
        return index, row


@attrs.frozen
class _WorkerFailed:
    error: BaseException


_DONE = object()


Work = Callable[[int, Any, AdaptiveLimit], Awaitable[BatchItem]]


class _Progress:
    """Counts finished rows and tells `on_progress`."""

    def __init__(
        self, limit: AdaptiveLimit, on_progress: Callable[[BatchProgress], object] | None
    ) -> None:
        self.limit, self.on_progress = limit, on_progress
        self.done = self.succeeded = 0

    def record(self, item: BatchItem) -> None:
        self.done += 1
        self.succeeded += item.error is None
        if self.on_progress is not None:
            self.on_progress(
                BatchProgress(
                    done=self.done,
                    succeeded=self.succeeded,
                    failed=self.done - self.succeeded,
                    in_flight=self.limit.in_flight,
                    concurrency=self.limit.limit,
                    item=item,
                )
            )


async def _work_rows(
    source: Rows,
    limit: AdaptiveLimit,
    work: Work,
    emit: Callable[[BatchItem], Awaitable[None]],
) -> None:
    """One worker: take a row, wait for room under the limit, do it, hand the item on."""
    while (got := await source.next()) is not None:
        index, row = got
        await limit.acquire()
        try:
            item = await work(index, row, limit)
        finally:
            limit.release()
        await emit(item)


async def _stop(workers: list[asyncio.Task[None]]) -> None:
    for task in workers:
        task.cancel()
    await asyncio.gather(*workers, return_exceptions=True)


async def collect_batch(
    rows: Iterable[Any] | AsyncIterable[Any],
    work: Work,
    *,
    concurrency: int,
    on_progress: Callable[[BatchProgress], object] | None = None,
) -> list[BatchItem]:
    """Every row's `BatchItem`, in input order, with at most `concurrency` in flight.

    Like `run_batch` without the streaming: workers record their items directly, with
    no queue between them and a consumer. Cancelling cancels the workers and waits for
    them.
    """
    source = Rows(rows)
    limit = AdaptiveLimit(check_concurrency(concurrency))
    progress = _Progress(limit, on_progress)
    items: list[BatchItem] = []

    async def record(item: BatchItem) -> None:
        items.append(item)
        progress.record(item)

    workers = [
        asyncio.create_task(_work_rows(source, limit, work, record)) for _ in range(concurrency)
    ]
    try:
        await asyncio.gather(*workers)
    finally:
        await _stop(workers)
    items.sort(key=lambda item: item.index)
    return items


async def run_batch(
    rows: Iterable[Any] | AsyncIterable[Any],
    work: Work,
    *,
    concurrency: int,
    on_progress: Callable[[BatchProgress], object] | None = None,
) -> AsyncGenerator[BatchItem, None]:
    """Yield one `BatchItem` per row as each finishes, with at most `concurrency` in flight.

    Memory stays flat: each worker holds one row, and finished items wait in a queue
    of `concurrency` places until the consumer takes them. Leaving the iteration early
    or cancelling it cancels the workers and waits for them.
    """
    source = Rows(rows)
    limit = AdaptiveLimit(check_concurrency(concurrency))
    progress = _Progress(limit, on_progress)
    results: asyncio.Queue[Any] = asyncio.Queue(maxsize=concurrency)

    async def worker() -> None:
        try:
            await _work_rows(source, limit, work, results.put)
        except asyncio.CancelledError:
            raise
        except BaseException as exc:  # reading the input failed: stop the batch
            await results.put(_WorkerFailed(exc))
        else:
            await results.put(_DONE)

    workers = [asyncio.create_task(worker()) for _ in range(concurrency)]
    finished = 0
    try:
        while finished < len(workers):
            got = await results.get()
            if got is _DONE:
                finished += 1
                continue
            if isinstance(got, _WorkerFailed):
                raise got.error
            progress.record(got)
            yield got
    finally:
        await _stop(workers)
