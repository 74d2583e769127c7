"""create_many / iter_create_many: lazy input, order, errors per row, 429 backoff, cancel."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterator

import pytest

from soap_async import (
    AsyncSoapClient,
    BatchProgress,
    BatchResult,
    CreateCustomerRequest,
    EmailTakenError,
    InvalidRequestError,
    SoapClient,
)
from soap_async._batch import AdaptiveLimit
from soap_async.testing import FakeSoapServer, Fault

from .conftest import API_KEY
from .helpers import FakeClock


def row(n: int) -> dict[str, str]:
    return {"email": f"row{n}@example.com", "first_name": "Row", "last_name": str(n)}


def client_for(server: FakeSoapServer, **kw: object) -> AsyncSoapClient:
    kw.setdefault("retry", FakeClock().policy(max_retries=3))
    return AsyncSoapClient(api_key=API_KEY, base_url=server.url, **kw)  # type: ignore[arg-type]


# -- the adaptive limit, alone -------------------------------------------------------------


def test_limit_halves_on_429_and_climbs_back_one_at_a_time() -> None:
    limit = AdaptiveLimit(8)
    limit.rate_limited()
    assert limit.limit == 4
    limit.rate_limited()
    limit.rate_limited()
    limit.rate_limited()
    assert limit.limit == 1  # never below one
    for _ in range(1):
        limit.succeeded()
    assert limit.limit == 2  # after `limit` successes, one more
    for _ in range(2):
        limit.succeeded()
    assert limit.limit == 3
    for _ in range(100):
        limit.succeeded()
    assert limit.limit == 8  # never above the maximum


async def test_limit_makes_callers_wait() -> None:
    limit = AdaptiveLimit(2)
    limit.rate_limited()  # now 1
    await limit.acquire()
    second = asyncio.create_task(limit.acquire())
    await asyncio.sleep(0)
    assert not second.done()
    limit.release()
    await asyncio.wait_for(second, 1)
    assert limit.in_flight == 1


# -- batches against the fake server ---------------------------------------------------------


async def test_create_many_keeps_input_order_and_reports_every_row(server: FakeSoapServer) -> None:
    rows: list[object] = [
        row(0),
        CreateCustomerRequest(**row(1)),
        {**row(2), "phone_number": "12"},  # invalid: caught before sending
        "not a row",
        {**row(4), "nickname": "x"},  # unknown field
        row(0),  # duplicate of row 0
        row(6),
    ]
    progress: list[BatchProgress] = []
    async with client_for(server) as soap:
        result = await soap.customers.create_many(rows, concurrency=1, on_progress=progress.append)
    assert isinstance(result, BatchResult)
    assert [item.index for item in result] == list(range(7))
    assert [item.ok for item in result] == [True, True, False, False, False, False, True]
    assert isinstance(result[2].error, InvalidRequestError)
    assert result[2].error.field == "phone_number"
    assert result[3].request == "not a row"
    assert isinstance(result[4].error, InvalidRequestError)
    assert result[4].error.field == "nickname"
    assert isinstance(result[5].error, EmailTakenError)
    assert [c.email for c in result.customers] == [
        "row0@example.com",
        "row1@example.com",
        "row6@example.com",
    ]
    assert len(result.succeeded) == 3
    assert len(result.failed) == 4
    assert all(item.created for item in result.succeeded)
    assert [p.done for p in progress] == list(range(1, 8))
    assert progress[-1].succeeded == 3
    assert progress[-1].failed == 4
    assert len(server.customers) == 3


async def test_input_is_read_lazily(server: FakeSoapServer) -> None:
    pulled = 0

    def rows() -> Iterator[dict[str, str]]:
        nonlocal pulled
        for n in range(1000):
            pulled += 1
            yield row(n)

    async with client_for(server) as soap:
        batch = soap.customers.iter_create_many(rows(), concurrency=4)
        async with contextlib.aclosing(batch):
            first = await anext(batch)
            assert first.ok
            # 4 workers each hold a row; finished items wait in a queue of 4.
            assert pulled <= 4 + 4 + 1
    assert len(server.customers) < 20


async def test_async_iterable_input(server: FakeSoapServer) -> None:
    async def rows() -> AsyncIterator[dict[str, str]]:
        for n in range(30):
            await asyncio.sleep(0)
            yield row(n)

    async with client_for(server) as soap:
        items = [item async for item in soap.customers.iter_create_many(rows(), concurrency=5)]
    assert sorted(item.index for item in items) == list(range(30))
    assert len(server.customers) == 30


async def test_if_exists_return_resumes_a_job(server: FakeSoapServer) -> None:
    async with client_for(server) as soap:
        await soap.customers.create_many([row(n) for n in range(3)])
        result = await soap.customers.create_many([row(n) for n in range(5)], if_exists="return")
    assert all(item.ok for item in result)
    assert [item.created for item in result] == [False, False, False, True, True]
    assert len(server.customers) == 5


async def test_429_lowers_concurrency_and_successes_raise_it(server: FakeSoapServer) -> None:
    server.inject(Fault.status(429, retry_after=0), times=6)
    seen: list[int] = []
    async with client_for(server, retry=FakeClock().policy(max_retries=10)) as soap:
        result = await soap.customers.create_many(
            [row(n) for n in range(200)],
            concurrency=16,
            on_progress=lambda p: seen.append(p.concurrency),
        )
    assert all(item.ok for item in result)
    assert min(seen) < 16
    assert seen[-1] > min(seen)


async def test_bad_batch_arguments(server: FakeSoapServer) -> None:
    async with client_for(server) as soap:
        with pytest.raises(InvalidRequestError, match="concurrency must be an integer >= 1"):
            await soap.customers.create_many([row(0)], concurrency=0)
        with pytest.raises(InvalidRequestError, match="if_exists must be"):
            await soap.customers.create_many([row(0)], if_exists="skip")  # type: ignore[arg-type]
        with pytest.raises(InvalidRequestError, match="requests must be an iterable"):
            await soap.customers.create_many(42)  # type: ignore[arg-type]
    assert server.requests == []


async def test_an_input_that_fails_stops_the_batch(server: FakeSoapServer) -> None:
    def rows() -> Iterator[dict[str, str]]:
        yield row(0)
        raise RuntimeError("the CSV reader broke")

    async with client_for(server) as soap:
        with pytest.raises(RuntimeError, match="the CSV reader broke"):
            await soap.customers.create_many(rows(), concurrency=2)


def test_cancelling_leaves_no_task_or_connection(threaded_server: FakeSoapServer) -> None:
    threaded_server.inject(Fault.delay(5), times=100)

    async def main() -> None:
        async with client_for(threaded_server) as soap:
            task = asyncio.create_task(
                soap.customers.create_many([row(n) for n in range(50)], concurrency=8)
            )
            while len(threaded_server.requests) < 8:
                await asyncio.sleep(0.01)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            assert asyncio.all_tasks() == {asyncio.current_task()}
            connector = soap._transport._session.connector  # type: ignore[union-attr]
            assert connector is not None
            assert len(connector._acquired) == 0  # type: ignore[attr-defined]

    asyncio.run(main())
    assert len(threaded_server.requests) == 8  # nothing new started after the cancel


async def test_breaking_out_cancels_the_rest(server: FakeSoapServer) -> None:
    server.inject(Fault.delay(0.2), times=100)
    async with client_for(server) as soap:
        batch = soap.customers.iter_create_many([row(n) for n in range(100)], concurrency=4)
        async with contextlib.aclosing(batch):
            async for _ in batch:
                break
        in_flight = [t for t in asyncio.all_tasks() if t.get_coro().__qualname__.endswith("worker")]  # type: ignore[union-attr]
        assert in_flight == []
    assert len(server.customers) < 100


# -- the same through SoapClient -------------------------------------------------------------


def test_sync_create_many_and_iter(threaded_server: FakeSoapServer) -> None:
    with SoapClient(api_key=API_KEY, base_url=threaded_server.url) as soap:
        result = soap.customers.create_many([row(n) for n in range(20)], concurrency=4)
        assert [item.index for item in result] == list(range(20))
        items = list(
            soap.customers.iter_create_many((row(n) for n in range(20, 50)), concurrency=4)
        )
        assert sorted(i.index for i in items) == list(range(30))
        assert all(i.ok for i in items)
        # Leaving a sync iteration early closes the async one on the SDK loop.
        iterator = soap.customers.iter_create_many((row(n) for n in range(50, 1000)), concurrency=2)
        next(iterator)
        iterator.close()  # type: ignore[attr-defined]
    assert 50 < len(threaded_server.customers) < 100


async def test_iter_create_many_refuses_bad_arguments_at_the_call(server: FakeSoapServer) -> None:
    async with client_for(server) as soap:
        with pytest.raises(InvalidRequestError, match="concurrency must be an integer >= 1"):
            soap.customers.iter_create_many([row(0)], concurrency=0)
        with pytest.raises(InvalidRequestError, match="if_exists must be"):
            soap.customers.iter_create_many([row(0)], if_exists="skip")  # type: ignore[arg-type]
    assert server.requests == []
