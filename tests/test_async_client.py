"""AsyncSoapClient against the fake server over loopback."""

from __future__ import annotations

import asyncio
import datetime as dt
import socket

import aiohttp
import pytest

from soap_async import (
    APIConnectionError,
    APITimeoutError,
    AsyncSoapClient,
    AuthenticationError,
    CreateCustomerRequest,
    EmailTakenError,
    InternalServerError,
    RateLimitError,
    SoapError,
    Timeout,
    UnprocessableEntityError,
)
from soap_async.testing import FakeSoapServer, Fault

from .conftest import API_KEY
from .helpers import FakeClock

FIELDS = {"email": "ada@example.com", "first_name": "Ada", "last_name": "Lovelace"}


def client_for(
    server: FakeSoapServer, clock: FakeClock | None = None, **kwargs: object
) -> AsyncSoapClient:
    retry = (clock or FakeClock()).policy(max_retries=3)
    return AsyncSoapClient(api_key=API_KEY, base_url=server.url, retry=retry, **kwargs)  # type: ignore[arg-type]


async def test_create_returns_the_stored_customer(server: FakeSoapServer) -> None:
    async with client_for(server) as soap:
        customer = await soap.customers.create(
            **FIELDS,
            phone_number="+1 (800) 800-1234",
            date_of_birth=dt.date(1990, 1, 31),
            internal_id="user-42",
        )
    (stored,) = server.customers
    assert customer.id == stored["id"]
    assert customer.id.startswith("cus_")
    assert customer.phone_number == "8008001234"
    assert customer.date_of_birth == dt.date(1990, 1, 31)
    assert customer.internal_id == "user-42"
    assert customer.created_at.tzinfo is not None
    assert server.requests[0].json == {
        **FIELDS,
        "phone_number": "8008001234",
        "date_of_birth": "1990-01-31",
        "internal_id": "user-42",
    }


async def test_request_object_and_keywords_are_equivalent(server: FakeSoapServer) -> None:
    async with client_for(server) as soap:
        await soap.customers.create(CreateCustomerRequest(**FIELDS))
        await soap.customers.create(**{**FIELDS, "email": "grace@example.com"})
    assert server.requests[0].json == FIELDS
    assert server.requests[1].json == {**FIELDS, "email": "grace@example.com"}


@pytest.mark.parametrize("scheme", ["bearer", "raw"])
async def test_both_auth_schemes_are_accepted(server: FakeSoapServer, scheme: str) -> None:
    async with client_for(server, auth_scheme=scheme) as soap:
        await soap.customers.create(**FIELDS)
    expected = f"Bearer {API_KEY}" if scheme == "bearer" else API_KEY
    assert server.requests[0].headers["Authorization"] == expected


async def test_a_wrong_key_is_an_authentication_error(server: FakeSoapServer) -> None:
    async with AsyncSoapClient(api_key="key_wrong", base_url=server.url) as soap:
        with pytest.raises(AuthenticationError) as info:
            await soap.customers.create(**FIELDS)
    assert info.value.status_code == 401
    assert len(server.requests) == 1  # a 401 is not retried


async def test_duplicate_email_is_email_taken(server: FakeSoapServer) -> None:
    async with client_for(server) as soap:
        await soap.customers.create(**FIELDS)
        with pytest.raises(EmailTakenError) as info:
            await soap.customers.create(**{**FIELDS, "email": "ADA@example.com"})
    assert info.value.message == "Email has already been taken"
    assert isinstance(info.value, UnprocessableEntityError)
    assert len(server.customers) == 1


async def test_server_side_validation_surfaces_as_422(server: FakeSoapServer) -> None:
    # Soap remains the judge of rules the SDK cannot know; its message reaches the
    # caller unchanged and a 422 is not retried.
    server.inject(Fault.status(422, error="First name is too long"))
    async with client_for(server) as soap:
        with pytest.raises(UnprocessableEntityError, match="First name is too long") as info:
            await soap.customers.create(**FIELDS)
    assert info.value.body == {"error": "First name is too long"}
    assert len(server.requests) == 1


async def test_429_with_retry_after_then_success(server: FakeSoapServer) -> None:
    clock = FakeClock()
    server.inject(Fault.status(429, retry_after=3), times=2)
    async with client_for(server, clock) as soap:
        customer = await soap.customers.create(**FIELDS)
    assert clock.sleeps == [3.0, 3.0]
    assert [r.status for r in server.requests] == [429, 429, 200]
    assert server.customers[0]["id"] == customer.id


@pytest.mark.parametrize("status", [500, 502, 503])
async def test_server_errors_are_retried(server: FakeSoapServer, status: int) -> None:
    clock = FakeClock()
    server.inject(Fault.status(status))
    async with client_for(server, clock) as soap:
        await soap.customers.create(**FIELDS)
    assert clock.sleeps == [0.5]
    assert len(server.customers) == 1


async def test_errors_after_retries_run_out(server: FakeSoapServer) -> None:
    server.inject(Fault.status(503), times=4)
    server.inject(Fault.status(429, retry_after=1), times=4)
    async with client_for(server) as soap:
        with pytest.raises(InternalServerError) as info:
            await soap.customers.create(**FIELDS)
        assert info.value.status_code == 503
        with pytest.raises(RateLimitError):
            await soap.customers.create(**FIELDS)
    assert server.customers == []


async def test_dropped_before_processing_is_retried(server: FakeSoapServer) -> None:
    server.inject(Fault.drop_before())
    async with client_for(server) as soap:
        customer = await soap.customers.create(**FIELDS)
    assert [r.fault for r in server.requests] == ["drop_before", None]
    assert server.customers[0]["id"] == customer.id


async def test_a_slow_answer_times_out(server: FakeSoapServer) -> None:
    server.inject(Fault.delay(0.5), times=1)
    async with client_for(server, timeout=Timeout(read=0.1)) as soap:
        with pytest.raises(APITimeoutError) as info:
            await soap.customers.create(**FIELDS, retry=0)
    assert info.value.request_sent is True


async def test_a_total_timeout_per_call(server: FakeSoapServer) -> None:
    server.inject(Fault.delay(0.5, process=False))
    async with client_for(server) as soap:
        with pytest.raises(APITimeoutError):
            await soap.customers.create(**FIELDS, timeout=0.1, retry=0)


async def test_connection_refused_is_a_connection_error() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    clock = FakeClock()
    async with AsyncSoapClient(
        api_key=API_KEY, base_url=f"http://127.0.0.1:{port}", retry=clock.policy(max_retries=2)
    ) as soap:
        with pytest.raises(APIConnectionError) as info:
            await soap.customers.create(**FIELDS)
    assert not isinstance(info.value, APITimeoutError)
    assert info.value.request_sent is False
    assert len(clock.sleeps) == 2


async def test_concurrent_creates_share_one_pool(server: FakeSoapServer) -> None:
    async with client_for(server, max_connections=4) as soap:
        await asyncio.gather(
            *(soap.customers.create(**{**FIELDS, "email": f"c{n}@example.com"}) for n in range(40))
        )
        session = soap._transport._session
        assert session is not None
        assert session.connector is not None
        assert session.connector.limit == 4
    assert len(server.customers) == 40


async def test_a_caller_owned_session_is_used_and_left_open(server: FakeSoapServer) -> None:
    async with aiohttp.ClientSession() as session:
        async with client_for(server, session=session) as soap:
            await soap.customers.create(**FIELDS)
        assert not session.closed
    assert len(server.customers) == 1


async def test_a_closed_client_refuses_calls(server: FakeSoapServer) -> None:
    soap = client_for(server)
    await soap.close()
    with pytest.raises(SoapError, match="closed"):
        await soap.customers.create(**FIELDS)


def test_a_client_stays_on_its_first_loop(threaded_server: FakeSoapServer) -> None:
    soap = client_for(threaded_server)

    async def create(email: str) -> None:
        await soap.customers.create(**{**FIELDS, "email": email})

    first_loop = asyncio.new_event_loop()
    try:
        first_loop.run_until_complete(create("first@example.com"))
        with pytest.raises(SoapError, match="another event loop"):
            asyncio.run(create("second@example.com"))
        first_loop.run_until_complete(soap.close())
    finally:
        first_loop.close()
    assert len(threaded_server.customers) == 1
