"""Fault soak: thousands of creates through a flaky network, checked against the server.

Seeded faults, an injected sleep (retries do not really wait), and timeouts of 50 ms for
answers that come after 250 ms: the whole file runs in a few seconds.
"""

from __future__ import annotations

import asyncio
from collections import Counter

import pytest

from soap_async import (
    APIConnectionError,
    APITimeoutError,
    AsyncSoapClient,
    BatchItem,
    InternalServerError,
    RateLimitError,
    RetryPolicy,
    Timeout,
)
from soap_async.testing import FakeSoapServer, Fault, RecordedRequest

from .conftest import API_KEY

POST = "/api/v1/customers"
MIXED_FAULTS = [
    Fault.status(429, retry_after=1),
    Fault.status(500),
    Fault.status(503),
    Fault.drop_before(),
    Fault.drop_after(),
    Fault.delay(0.25),  # slower than the 50 ms read timeout, after processing
]


async def no_wait(seconds: float) -> None:
    await asyncio.sleep(0)


def policy(max_retries: int) -> RetryPolicy:
    return RetryPolicy(max_retries=max_retries, sleep=no_wait, random=lambda: 0.5)


def rows(count: int, prefix: str = "soak") -> list[dict[str, str]]:
    return [
        {"email": f"{prefix}.{n}@example.com", "first_name": "Soak", "last_name": f"N{n}"}
        for n in range(count)
    ]


@pytest.mark.parametrize("seed", [1, 2])
async def test_every_customer_created_exactly_once_under_mixed_faults(
    server: FakeSoapServer, seed: int
) -> None:
    count = 2000
    server.inject_random(MIXED_FAULTS, rate=0.3, seed=seed)
    async with AsyncSoapClient(
        api_key=API_KEY,
        base_url=server.url,
        retry=policy(max_retries=12),
        timeout=Timeout(read=0.05),
        max_connections=32,
    ) as soap:
        result = await soap.customers.create_many(rows(count), concurrency=32)

    assert [item.error for item in result if item.error] == []
    stored = {c["email"]: c["id"] for c in server.customers}
    # Each email stored once, none missing, nothing else stored.
    assert len(server.customers) == count
    assert sorted(stored) == sorted(r["email"] for r in rows(count))
    # Each item carries the very customer the server holds for its email.
    for item in result:
        assert item.customer is not None
        assert item.customer.id == stored[item.request.email]
        assert item.created
    # The run did meet every kind of fault, ambiguous ones included.
    faults = Counter(r.fault for r in server.requests if r.fault)
    assert set(faults) == {f.name for f in MIXED_FAULTS}
    assert faults["drop_after"] > 10
    assert faults["delay"] > 10


async def test_faults_that_never_clear_fail_with_the_right_class(server: FakeSoapServer) -> None:
    count = 600
    doomed = {  # row index -> the fault every attempt of that row meets, and the error
        7: (Fault.status(503), InternalServerError),
        8: (Fault.status(429, retry_after=1), RateLimitError),
        9: (Fault.drop_before(), APIConnectionError),
        10: (Fault.drop_after(), APIConnectionError),
        11: (Fault.delay(0.25, process=False), APITimeoutError),
    }
    emails = {f"doomed.{n}@example.com": n for n in doomed}

    def for_row(n: int) -> object:
        return lambda request: (
            isinstance(request.json, dict) and emails.get(request.json.get("email")) == n
        )

    for n, (fault, _) in doomed.items():
        server.inject(fault, times=10_000, where=for_row(n))
    server.inject_random(MIXED_FAULTS, rate=0.2, seed=3, path=POST)

    data = rows(count)
    for n in doomed:
        data[n]["email"] = f"doomed.{n}@example.com"
    async with AsyncSoapClient(
        api_key=API_KEY,
        base_url=server.url,
        retry=policy(max_retries=8),
        timeout=Timeout(read=0.05),
    ) as soap:
        items: list[BatchItem] = [
            item async for item in soap.customers.iter_create_many(data, concurrency=32)
        ]

    failed = {item.index: item.error for item in items if item.error}
    assert sorted(failed) == sorted(doomed)
    for n, (_, error_class) in doomed.items():
        assert type(failed[n]) is error_class, (n, failed[n])
    assert failed[10].request_sent is True  # type: ignore[union-attr]
    # The rest all succeeded, each matching the server's own record.
    stored = {c["email"]: c["id"] for c in server.customers}
    for item in items:
        if item.index not in doomed:
            assert item.customer is not None
            assert stored[item.customer.email] == item.customer.id
    # A drop after processing that never clears leaves a stored customer behind: the
    # item reports the unknowable outcome as a connection error (request_sent=True)
    # instead of claiming failure or success.
    assert "doomed.10@example.com" in stored
    assert not set(stored) & {
        "doomed.7@example.com",
        "doomed.8@example.com",
        "doomed.9@example.com",
        "doomed.11@example.com",
    }
    attempts: list[RecordedRequest] = [
        r
        for r in server.requests
        if isinstance(r.json, dict) and r.json.get("email") == "doomed.7@example.com"
    ]
    assert len(attempts) == 9  # 1 + max_retries
