"""The transport with aiohttp mocked (aioresponses): retries, backoff, error mapping."""

from __future__ import annotations

import asyncio
import platform
from collections.abc import Iterator

import aiohttp
import pytest
from aioresponses import aioresponses

import soap_async
from soap_async import (
    APIConnectionError,
    APIResponseValidationError,
    APIStatusError,
    APITimeoutError,
    AsyncSoapClient,
    AuthenticationError,
    EmailTakenError,
    InternalServerError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    UnprocessableEntityError,
)

from .helpers import FakeClock

BASE = "https://api-sandbox.paywithsoap.com"
URL = f"{BASE}/api/v1/customers"
FIELDS = {"email": "ada@example.com", "first_name": "Ada", "last_name": "Lovelace"}
CUSTOMER = {**FIELDS, "id": "cus_1", "created_at": "2025-03-10T16:08:14.427Z"}


@pytest.fixture
def mocked() -> Iterator[aioresponses]:
    with aioresponses() as m:
        yield m


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def client(clock: FakeClock) -> AsyncSoapClient:
    async with AsyncSoapClient(api_key="key_test", retry=clock.policy()) as soap:
        yield soap


async def test_success_sends_the_documented_request(
    client: AsyncSoapClient, mocked: aioresponses
) -> None:
    mocked.post(URL, payload=CUSTOMER)
    customer = await client.customers.create(**FIELDS, phone_number="(800) 800-1234")
    assert customer.id == "cus_1"
    ((key, calls),) = mocked.requests.items()
    assert key[0] == "POST"
    call = calls[0]
    assert call.kwargs["data"] == (
        b'{"email":"ada@example.com","first_name":"Ada","last_name":"Lovelace",'
        b'"phone_number":"8008001234"}'
    )
    headers = call.kwargs["headers"]
    assert headers["Authorization"] == "Bearer key_test"
    assert headers["Content-Type"] == "application/json"
    python = ".".join(platform.python_version_tuple()[:2])
    assert headers["User-Agent"] == (
        f"soap-async/{soap_async.__version__} python/{python} aiohttp/{aiohttp.__version__}"
    )


async def test_raw_auth_scheme_sends_the_bare_key(mocked: aioresponses) -> None:
    mocked.post(URL, payload=CUSTOMER)
    async with AsyncSoapClient(api_key="key_raw", auth_scheme="raw") as soap:
        await soap.customers.create(**FIELDS)
    call = next(iter(mocked.requests.values()))[0]
    assert call.kwargs["headers"]["Authorization"] == "key_raw"


async def test_retry_after_seconds_and_http_date_then_success(
    client: AsyncSoapClient, mocked: aioresponses, clock: FakeClock
) -> None:
    mocked.post(URL, status=503, headers={"Retry-After": "2"}, payload={"error": "busy"})
    mocked.post(
        URL, status=429, headers={"Retry-After": "Thu, 26 Nov 2026 12:00:12 GMT"}, payload={}
    )
    mocked.post(URL, payload=CUSTOMER)
    customer = await client.customers.create(**FIELDS)
    assert customer.id == "cus_1"
    # The HTTP date is measured against the injected clock, 2 s after the first sleep.
    assert clock.sleeps == [2.0, 10.0]


async def test_backoff_without_retry_after_is_exponential(
    mocked: aioresponses, clock: FakeClock
) -> None:
    for _ in range(4):
        mocked.post(URL, status=500, payload={"error": "boom"})
    mocked.post(URL, payload=CUSTOMER)
    async with AsyncSoapClient(api_key="key_test", retry=clock.policy(max_retries=4)) as soap:
        await soap.customers.create(**FIELDS)
    assert clock.sleeps == [0.5, 1.0, 2.0, 4.0]


async def test_retries_run_out(
    client: AsyncSoapClient, mocked: aioresponses, clock: FakeClock
) -> None:
    for _ in range(3):
        mocked.post(URL, status=502, body="<html>bad gateway</html>")
    with pytest.raises(InternalServerError) as info:
        await client.customers.create(**FIELDS)
    assert info.value.status_code == 502
    assert info.value.body == "<html>bad gateway</html>"
    assert info.value.message == "HTTP 502"
    assert len(clock.sleeps) == 2


async def test_connection_errors_are_retried(
    client: AsyncSoapClient, mocked: aioresponses, clock: FakeClock
) -> None:
    mocked.post(URL, exception=aiohttp.ServerDisconnectedError())
    mocked.post(URL, exception=asyncio.TimeoutError())
    mocked.post(URL, payload=CUSTOMER)
    assert (await client.customers.create(**FIELDS)).id == "cus_1"
    assert clock.sleeps == [0.5, 1.0]


async def test_timeout_and_connection_errors_stay_distinct(
    client: AsyncSoapClient, mocked: aioresponses
) -> None:
    mocked.post(URL, exception=asyncio.TimeoutError(), repeat=True)
    with pytest.raises(APITimeoutError) as timeout_info:
        await client.customers.create(**FIELDS)
    assert timeout_info.value.request_sent is True
    mocked.clear()
    mocked.post(URL, exception=aiohttp.ServerDisconnectedError(), repeat=True)
    with pytest.raises(APIConnectionError) as conn_info:
        await client.customers.create(**FIELDS)
    assert not isinstance(conn_info.value, APITimeoutError)


async def test_per_call_retry_override(
    client: AsyncSoapClient, mocked: aioresponses, clock: FakeClock
) -> None:
    mocked.post(URL, status=503, payload={"error": "busy"}, repeat=True)
    with pytest.raises(InternalServerError):
        await client.customers.create(**FIELDS, retry=0)
    assert clock.sleeps == []
    assert len(next(iter(mocked.requests.values()))) == 1


async def test_with_options_shares_the_pool_and_overrides_retry(
    client: AsyncSoapClient, mocked: aioresponses
) -> None:
    mocked.post(URL, status=503, payload={"error": "busy"}, repeat=True)
    fast = client.with_options(retry=0, timeout=3)
    assert fast._transport is client._transport
    assert fast.timeout.total == 3
    assert fast.customers is not client.customers
    with pytest.raises(InternalServerError):
        await fast.customers.create(**FIELDS)
    assert len(next(iter(mocked.requests.values()))) == 1
    await fast.close()  # the copy does not close the shared pool
    assert not client._transport.closed


@pytest.mark.parametrize(
    ("status", "body", "error_class", "message"),
    [
        (401, {"error": "Invalid API key"}, AuthenticationError, "Invalid API key"),
        (403, {"error": "Forbidden"}, PermissionDeniedError, "Forbidden"),
        (404, {"error": "Not found"}, NotFoundError, "Not found"),
        (422, {"error": "Email is invalid"}, UnprocessableEntityError, "Email is invalid"),
        (422, {"error": "Email has already been taken"}, EmailTakenError, "Email has already"),
        (400, {"error": "Bad request"}, APIStatusError, "Bad request"),
        (418, None, APIStatusError, "HTTP 418"),
    ],
)
async def test_status_codes_map_to_the_error_tree(
    client: AsyncSoapClient,
    mocked: aioresponses,
    status: int,
    body: object,
    error_class: type[APIStatusError],
    message: str,
) -> None:
    mocked.post(URL, status=status, payload=body, headers={"X-Trace": "t1"})
    with pytest.raises(error_class) as info:
        await client.customers.create(**FIELDS)
    error = info.value
    assert type(error) is error_class
    assert error.status_code == status
    assert error.message.startswith(message)
    assert error.body == body
    assert error.headers["X-Trace"] == "t1"
    assert str(error).startswith(f"{status}: ")


async def test_rate_limit_error_after_retries(
    client: AsyncSoapClient, mocked: aioresponses, clock: FakeClock
) -> None:
    mocked.post(URL, status=429, headers={"Retry-After": "1"}, payload={}, repeat=True)
    with pytest.raises(RateLimitError):
        await client.customers.create(**FIELDS)
    assert clock.sleeps == [1.0, 1.0]


async def test_non_retryable_status_is_not_retried(
    client: AsyncSoapClient, mocked: aioresponses, clock: FakeClock
) -> None:
    mocked.post(URL, status=422, payload={"error": "Email is invalid"}, repeat=True)
    with pytest.raises(UnprocessableEntityError):
        await client.customers.create(**FIELDS)
    assert clock.sleeps == []


async def test_a_malformed_success_body(client: AsyncSoapClient, mocked: aioresponses) -> None:
    mocked.post(URL, body=b"not json", status=200)
    with pytest.raises(APIResponseValidationError, match="not valid JSON"):
        await client.customers.create(**FIELDS)
    mocked.post(URL, payload={"id": 5})
    with pytest.raises(APIResponseValidationError, match="Customer"):
        await client.customers.create(**FIELDS)


async def test_invalid_input_never_reaches_the_network(
    client: AsyncSoapClient, mocked: aioresponses
) -> None:
    with pytest.raises(soap_async.InvalidRequestError, match="phone_number must be 10 digits"):
        await client.customers.create(**FIELDS, phone_number="123")
    with pytest.raises(soap_async.InvalidRequestError, match="last_name is required"):
        await client.customers.create(email="a@b.co", first_name="A")
    request = soap_async.CreateCustomerRequest(**FIELDS)
    with pytest.raises(soap_async.InvalidRequestError, match="not both"):
        await client.customers.create(request, email="x@y.co")
    assert mocked.requests == {}
