"""Exactly-once creation: recovering creates whose outcome was unknown, get_or_create, search."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from aioresponses import aioresponses

from soap_async import (
    AsyncSoapClient,
    CreateCustomerRequest,
    Customer,
    EmailTakenError,
    InvalidRequestError,
    SoapClient,
    Timeout,
)
from soap_async.resources.customers import CLOCK_SKEW, is_same_customer
from soap_async.testing import FakeSoapServer, Fault

from .conftest import API_KEY
from .helpers import FakeClock

UTC = dt.timezone.utc
FIELDS = {"email": "ada@example.com", "first_name": "Ada", "last_name": "Lovelace"}
FULL = {**FIELDS, "phone_number": "8008001234", "date_of_birth": "1990-01-31", "internal_id": "u1"}
POST = "/api/v1/customers"
SEARCH = "/api/v1/customers/search"


def client_for(
    server: FakeSoapServer, clock: FakeClock | None = None, **kw: object
) -> AsyncSoapClient:
    return AsyncSoapClient(
        api_key=API_KEY,
        base_url=server.url,
        retry=(clock or FakeClock()).policy(max_retries=3),
        **kw,  # type: ignore[arg-type]
    )


def paths(server: FakeSoapServer) -> list[str]:
    return [f"{r.method} {r.path} {r.status} {r.fault}" for r in server.requests]


# -- the matching rule, as a pure function ---------------------------------------------

SINCE = dt.datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


def stored(**changes: object) -> Customer:
    base = {
        "id": "cus_1",
        "email": "ADA@example.com",
        "first_name": "Ada",
        "last_name": "Lovelace",
        "phone_number": "8008001234",
        "internal_id": "u1",
        "date_of_birth": None,
        "created_at": SINCE,
    }
    return Customer(**{**base, **changes})  # type: ignore[arg-type]


def test_same_customer_compares_what_the_request_gave() -> None:
    request = CreateCustomerRequest(**FULL)
    assert is_same_customer(request, stored(), SINCE)
    assert is_same_customer(request, stored(date_of_birth=dt.date(1990, 1, 31)), SINCE)
    assert is_same_customer(CreateCustomerRequest(**FIELDS), stored(internal_id="other"), SINCE)


@pytest.mark.parametrize(
    "changes",
    [
        {"first_name": "Augusta"},
        {"last_name": "Byron"},
        {"internal_id": "u2"},
        {"internal_id": None},
        {"phone_number": "8008001235"},
        {"date_of_birth": dt.date(1990, 2, 1)},
        {"email": "other@example.com"},
        {"created_at": SINCE - CLOCK_SKEW - dt.timedelta(seconds=1)},
    ],
)
def test_any_difference_means_not_ours(changes: dict[str, object]) -> None:
    assert not is_same_customer(CreateCustomerRequest(**FULL), stored(**changes), SINCE)


# -- recovery against the fake server --------------------------------------------------


async def test_dropped_after_processing_is_recovered(server: FakeSoapServer) -> None:
    server.inject(Fault.drop_after(), path=POST)
    async with client_for(server) as soap:
        customer = await soap.customers.create(**FULL)
    (row,) = server.customers
    assert customer.id == row["id"]
    assert customer.date_of_birth == dt.date(1990, 1, 31)  # search omits it; kept from the request
    assert paths(server) == [
        f"POST {POST} None drop_after",
        f"POST {POST} 422 None",
        f"GET {SEARCH} 200 None",
    ]


async def test_timeout_after_processing_is_recovered(server: FakeSoapServer) -> None:
    server.inject(Fault.delay(0.3), path=POST)
    async with client_for(server, timeout=Timeout(read=0.05)) as soap:
        customer = await soap.customers.create(**FIELDS)
    assert [c["id"] for c in server.customers] == [customer.id]


async def test_a_500_after_processing_is_recovered(server: FakeSoapServer) -> None:
    # The first attempt "was processed" (the row exists) but answered 500.
    async with client_for(server) as soap:
        await soap.customers.create(**FIELDS)
        server.inject(Fault.status(500), path=POST)
        customer = await soap.customers.create(**FIELDS)
    assert [c["id"] for c in server.customers] == [customer.id]


async def test_recovery_survives_faults_on_the_search(server: FakeSoapServer) -> None:
    server.inject(Fault.drop_after(), path=POST)
    server.inject(Fault.status(503), path=SEARCH)
    server.inject(Fault.drop_before(), path=SEARCH)
    async with client_for(server) as soap:
        customer = await soap.customers.create(**FIELDS)
    assert [c["id"] for c in server.customers] == [customer.id]


async def test_someone_elses_customer_is_never_returned(server: FakeSoapServer) -> None:
    async with client_for(server) as soap:
        other = await soap.customers.create(**{**FIELDS, "first_name": "Augusta"})
        server.inject(Fault.status(502), path=POST)
        with pytest.raises(EmailTakenError) as info:
            await soap.customers.create(**FIELDS)
    assert info.value.existing_customer_id == other.id
    assert len(server.customers) == 1


async def test_an_older_identical_customer_is_not_ours(server: FakeSoapServer) -> None:
    # The call "begins" an hour after the row was stored: not created by this call.
    clock = FakeClock()
    async with client_for(server) as soap:
        first = await soap.customers.create(**FIELDS)
        server.inject(Fault.status(504), path=POST)
        later = clock.policy(
            max_retries=3, now=lambda: dt.datetime.now(UTC) + dt.timedelta(hours=1)
        )
        with pytest.raises(EmailTakenError) as info:
            await soap.customers.create(**FIELDS, retry=later)
    assert info.value.existing_customer_id == first.id


async def test_a_plain_duplicate_is_not_looked_up(server: FakeSoapServer) -> None:
    async with client_for(server) as soap:
        await soap.customers.create(**FIELDS)
        with pytest.raises(EmailTakenError) as info:
            await soap.customers.create(**FIELDS)
    assert info.value.existing_customer_id is None
    assert not any(r.path == SEARCH for r in server.requests)


async def test_503_and_429_are_not_ambiguous(server: FakeSoapServer) -> None:
    # A refusal before processing proves nothing was created: a later 422 is a real
    # duplicate, so no lookup happens.
    async with client_for(server) as soap:
        await soap.customers.create(**FIELDS)
        server.inject(Fault.status(503), path=POST)
        server.inject(Fault.status(429, retry_after=0), path=POST)
        with pytest.raises(EmailTakenError):
            await soap.customers.create(**FIELDS)
    assert not any(r.path == SEARCH for r in server.requests)


def test_recovery_through_the_sync_client(threaded_server: FakeSoapServer) -> None:
    threaded_server.inject(Fault.drop_after(), path=POST)
    with SoapClient(
        api_key=API_KEY, base_url=threaded_server.url, retry=FakeClock().policy()
    ) as soap:
        customer = soap.customers.create(**FIELDS)
    assert [c["id"] for c in threaded_server.customers] == [customer.id]


# -- search and get_or_create ----------------------------------------------------------


async def test_search(server: FakeSoapServer) -> None:
    async with client_for(server) as soap:
        ada = await soap.customers.create(**FULL)
        await soap.customers.create(email="grace@example.com", first_name="G", last_name="H")
        assert [c.id for c in await soap.customers.search(email="ADA@example.com")] == [ada.id]
        by_phone = await soap.customers.search(phone_number="+1 (800) 800-1234")
        assert [c.id for c in by_phone] == [ada.id]
        assert by_phone[0].date_of_birth is None  # Soap's search leaves it out
        assert await soap.customers.search(email="ada@example.com", phone_number="8005550000") == []
        with pytest.raises(InvalidRequestError, match="search needs email or phone_number"):
            await soap.customers.search()
        with pytest.raises(InvalidRequestError, match="phone_number must be 10 digits"):
            await soap.customers.search(phone_number="12")
    assert server.requests[-1].query == {"email": "ada@example.com", "phone_number": "8005550000"}


async def test_get_or_create(server: FakeSoapServer) -> None:
    async with client_for(server) as soap:
        created, was_created = await soap.customers.get_or_create(**FIELDS)
        again, again_created = await soap.customers.get_or_create(
            CreateCustomerRequest(**{**FIELDS, "email": "ADA@EXAMPLE.COM"})
        )
    assert was_created is True
    assert again_created is False
    assert again.id == created.id
    assert [r.method for r in server.requests] == ["GET", "POST", "GET"]


@pytest.fixture
def mocked() -> Iterator[aioresponses]:
    with aioresponses() as m:
        yield m


async def test_get_or_create_when_someone_creates_it_meanwhile(mocked: aioresponses) -> None:
    base = "https://api-sandbox.paywithsoap.com"
    search = f"{base}{SEARCH}?email=ada%40example.com"
    row = {**FIELDS, "id": "cus_9", "created_at": "2026-01-01T00:00:00Z"}
    mocked.get(search, payload={"results": []})
    mocked.post(f"{base}{POST}", status=422, payload={"error": "Email has already been taken"})
    mocked.get(search, payload={"results": [row]})
    async with AsyncSoapClient(api_key=API_KEY, retry=0) as soap:
        customer, created = await soap.customers.get_or_create(**FIELDS)
    assert (customer.id, created) == ("cus_9", False)
