"""Tests of soap_async.testing.FakeSoapServer, driven with a raw aiohttp client.

The SDK is deliberately not used here: these tests pin the fake to the API contract
(soap-api.md sections 3.1 and 3.2) so that the SDK's own tests can trust it.
"""

from __future__ import annotations

import asyncio
import datetime
import logging
import random
import re
import socket
import threading
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from soap_async.testing import FakeSoapServer, Fault, RecordedRequest

API_KEY = "key_test"
AUTH = {"Authorization": f"Bearer {API_KEY}"}
CUSTOMERS = "/api/v1/customers"
SEARCH = "/api/v1/customers/search"
JANE = {"email": "jane@example.com", "first_name": "Jane", "last_name": "Doe"}
ID_RE = re.compile(r"cus_[1-9A-HJ-NP-Za-km-z]{32}")
CREATED_AT_RE = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z")


@pytest.fixture
async def server() -> AsyncIterator[FakeSoapServer]:
    async with FakeSoapServer(api_key=API_KEY) as fake:
        yield fake


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as client:
        yield client


async def call(
    session: aiohttp.ClientSession,
    server: FakeSoapServer,
    method: str,
    path: str,
    *,
    headers: dict[str, str] | None = None,
    **kwargs: Any,
) -> tuple[int, Any, aiohttp.ClientResponse]:
    """Send one request and return (status, parsed JSON body, response)."""
    async with session.request(
        method, server.url + path, headers=AUTH if headers is None else headers, **kwargs
    ) as response:
        return response.status, await response.json(), response


async def create(
    session: aiohttp.ClientSession, server: FakeSoapServer, body: Any = None, **kwargs: Any
) -> tuple[int, Any]:
    status, payload, _ = await call(
        session, server, "POST", CUSTOMERS, json=JANE if body is None else body, **kwargs
    )
    return status, payload


async def search(
    session: aiohttp.ClientSession, server: FakeSoapServer, **params: str
) -> tuple[int, Any]:
    status, payload, _ = await call(session, server, "GET", SEARCH, params=params)
    return status, payload


# --------------------------------------------------------------------------- auth


@pytest.mark.parametrize("authorization", [f"Bearer {API_KEY}", API_KEY])
async def test_both_auth_forms_are_accepted(
    server: FakeSoapServer, session: aiohttp.ClientSession, authorization: str
) -> None:
    status, body = await create(session, server, headers={"Authorization": authorization})
    assert status == 200
    assert body["email"] == JANE["email"]


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer key_wrong"},
        {"Authorization": "key_wrong"},
        {"Authorization": f"bearer {API_KEY}"},
        {"Authorization": f"Token {API_KEY}"},
        {"X-API-Key": API_KEY},
    ],
)
async def test_bad_or_missing_key_is_401(
    server: FakeSoapServer, session: aiohttp.ClientSession, headers: dict[str, str]
) -> None:
    status, body = await create(session, server, headers=headers)
    assert (status, body) == (401, {"error": "Invalid API key"})
    status, body, _ = await call(session, server, "GET", SEARCH, headers=headers, params=JANE)
    assert (status, body) == (401, {"error": "Invalid API key"})
    assert server.customers == []


async def test_custom_api_key(session: aiohttp.ClientSession) -> None:
    async with FakeSoapServer(api_key="key_other") as server:
        status, _ = await create(session, server)
        assert status == 401
        status, _ = await create(session, server, headers={"Authorization": "key_other"})
        assert status == 200


# --------------------------------------------------------------------------- create


async def test_create_returns_the_stored_customer(
    server: FakeSoapServer, session: aiohttp.ClientSession
) -> None:
    request = {
        **JANE,
        "phone_number": "5551234567",
        "date_of_birth": "1990-01-31",
        "internal_id": "3f1b8c4e-7c2e-4c2c-8d2f-179cf0efb36b",
    }
    before = datetime.datetime.now(datetime.timezone.utc)
    status, body = await create(session, server, request)
    after = datetime.datetime.now(datetime.timezone.utc)

    assert status == 200
    assert set(body) == {
        "id",
        "internal_id",
        "email",
        "first_name",
        "last_name",
        "phone_number",
        "date_of_birth",
        "created_at",
    }
    assert ID_RE.fullmatch(body["id"]), body["id"]
    assert CREATED_AT_RE.fullmatch(body["created_at"]), body["created_at"]
    created = datetime.datetime.strptime(body["created_at"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(
        tzinfo=datetime.timezone.utc
    )
    assert before - datetime.timedelta(milliseconds=1) <= created <= after
    assert {key: body[key] for key in request} == request
    assert server.customers == [body]


async def test_create_optional_fields_are_null(
    server: FakeSoapServer, session: aiohttp.ClientSession
) -> None:
    status, body = await create(session, server, {**JANE, "phone_number": None})
    assert status == 200
    assert body["internal_id"] is None
    assert body["phone_number"] is None
    assert body["date_of_birth"] is None


async def test_create_keeps_email_as_given_and_ids_are_unique(
    server: FakeSoapServer, session: aiohttp.ClientSession
) -> None:
    _, first = await create(session, server, {**JANE, "email": "Jane.Doe@Example.COM"})
    _, second = await create(session, server, {**JANE, "email": "john@example.com"})
    assert first["email"] == "Jane.Doe@Example.COM"
    assert first["id"] != second["id"]
    assert [c["email"] for c in server.customers] == ["Jane.Doe@Example.COM", "john@example.com"]
    assert server.customer_by_email("jane.doe@example.com") == first
    assert server.customer_by_email("nobody@example.com") is None


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({**JANE, "nickname": "JD"}, "Unrecognized field: nickname"),
        ({"email": "", "first_name": "", "nickname": "JD"}, "Unrecognized field: nickname"),
        ({**JANE, "id": "cus_x"}, "Unrecognized field: id"),
        ({"first_name": "Jane", "last_name": "Doe"}, "Email can't be blank"),
        ({**JANE, "email": ""}, "Email can't be blank"),
        ({**JANE, "email": "   "}, "Email can't be blank"),
        ({**JANE, "email": None}, "Email can't be blank"),
        ({**JANE, "email": "jane"}, "Email is invalid"),
        ({**JANE, "email": "jane@example"}, "Email is invalid"),
        ({**JANE, "email": "ja ne@example.com"}, "Email is invalid"),
        ({**JANE, "email": "jane@@example.com"}, "Email is invalid"),
        ({**JANE, "email": "jane@exa@mple.com"}, "Email is invalid"),
        ({**JANE, "email": 42}, "Email is invalid"),
        ({"email": "jane", "first_name": ""}, "Email is invalid"),
        ({"email": "jane@example.com", "last_name": "Doe"}, "First name can't be blank"),
        ({**JANE, "first_name": " "}, "First name can't be blank"),
        ({**JANE, "first_name": "", "last_name": ""}, "First name can't be blank"),
        ({"email": "jane@example.com", "first_name": "Jane"}, "Last name can't be blank"),
        ({**JANE, "last_name": ""}, "Last name can't be blank"),
        ({**JANE, "phone_number": "15551234567"}, "Phone number must be 10 digits"),
        ({**JANE, "phone_number": "+15551234567"}, "Phone number must be 10 digits"),
        ({**JANE, "phone_number": "555-123-4567"}, "Phone number must be 10 digits"),
        ({**JANE, "phone_number": "555123456"}, "Phone number must be 10 digits"),
        ({**JANE, "phone_number": 5551234567}, "Phone number must be 10 digits"),
        (
            {**JANE, "phone_number": "1", "date_of_birth": "x", "internal_id": 1},
            "Phone number must be 10 digits",
        ),
        ({**JANE, "date_of_birth": "1990-02-30"}, "Date of birth is invalid"),
        ({**JANE, "date_of_birth": "1990/01/01"}, "Date of birth is invalid"),
        ({**JANE, "date_of_birth": "19900101"}, "Date of birth is invalid"),
        ({**JANE, "date_of_birth": "1990-01-01T00:00:00"}, "Date of birth is invalid"),
        ({**JANE, "date_of_birth": 19900101}, "Date of birth is invalid"),
        ({**JANE, "date_of_birth": "x", "internal_id": 1}, "Date of birth is invalid"),
        ({**JANE, "internal_id": 123}, "Internal id must be a string"),
        ({**JANE, "internal_id": ["a"]}, "Internal id must be a string"),
        ([JANE], "Request body must be a JSON object"),
        ("jane@example.com", "Request body must be a JSON object"),
    ],
)
async def test_create_validation_messages(
    server: FakeSoapServer, session: aiohttp.ClientSession, body: Any, message: str
) -> None:
    status, answer = await create(session, server, body)
    assert (status, answer) == (422, {"error": message})
    assert server.customers == []


@pytest.mark.parametrize("data", [b"", b"{not json", b"null"])
async def test_create_body_that_is_not_a_json_object(
    server: FakeSoapServer, session: aiohttp.ClientSession, data: bytes
) -> None:
    status, answer, _ = await call(
        session,
        server,
        "POST",
        CUSTOMERS,
        data=data,
        headers={**AUTH, "Content-Type": "application/json"},
    )
    assert (status, answer) == (422, {"error": "Request body must be a JSON object"})


async def test_duplicate_email_is_refused_case_insensitively(
    server: FakeSoapServer, session: aiohttp.ClientSession
) -> None:
    assert (await create(session, server))[0] == 200
    status, body = await create(session, server, {**JANE, "email": "JANE@Example.com"})
    assert (status, body) == (422, {"error": "Email has already been taken"})
    assert len(server.customers) == 1


# --------------------------------------------------------------------------- search


@pytest.fixture
async def jane(server: FakeSoapServer, session: aiohttp.ClientSession) -> dict[str, Any]:
    status, body = await create(
        session, server, {**JANE, "phone_number": "5551234567", "date_of_birth": "1990-01-31"}
    )
    assert status == 200
    return dict(body)


def as_search_result(customer: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in customer.items() if key != "date_of_birth"}


async def test_search_by_email_is_case_insensitive_and_exact(
    server: FakeSoapServer, session: aiohttp.ClientSession, jane: dict[str, Any]
) -> None:
    await create(session, server, {**JANE, "email": "jane@example.co"})
    status, body = await search(session, server, email="JANE@EXAMPLE.COM")
    assert status == 200
    assert body == {"results": [as_search_result(jane)]}
    assert "date_of_birth" not in body["results"][0]
    assert set(body["results"][0]) == {
        "id",
        "internal_id",
        "email",
        "first_name",
        "last_name",
        "phone_number",
        "created_at",
    }


@pytest.mark.parametrize(
    "phone",
    [
        "5551234567",
        "+15551234567",
        "15551234567",
        "(555) 123-4567",
        "+1 555-123-4567",
        "555.123.4567",
    ],
)
async def test_search_by_phone_normalises_spellings(
    server: FakeSoapServer, session: aiohttp.ClientSession, jane: dict[str, Any], phone: str
) -> None:
    await create(
        session, server, {**JANE, "email": "john@example.com", "phone_number": "5559999999"}
    )
    status, body = await search(session, server, phone_number=phone)
    assert (status, body) == (200, {"results": [as_search_result(jane)]})


async def test_search_with_both_params_needs_both_to_match(
    server: FakeSoapServer, session: aiohttp.ClientSession, jane: dict[str, Any]
) -> None:
    status, body = await search(session, server, email=JANE["email"], phone_number="5551234567")
    assert (status, body) == (200, {"results": [as_search_result(jane)]})
    status, body = await search(session, server, email=JANE["email"], phone_number="5550000000")
    assert (status, body) == (200, {"results": []})
    status, body = await search(session, server, email="x@example.com", phone_number="5551234567")
    assert (status, body) == (200, {"results": []})


async def test_search_without_match_is_an_empty_list(
    server: FakeSoapServer, session: aiohttp.ClientSession
) -> None:
    assert await search(session, server, email=JANE["email"]) == (200, {"results": []})


@pytest.mark.parametrize("params", [{}, {"email": ""}, {"email": "", "phone_number": ""}])
async def test_search_without_params_is_422(
    server: FakeSoapServer, session: aiohttp.ClientSession, params: dict[str, str]
) -> None:
    status, body = await search(session, server, **params)
    assert (status, body) == (422, {"error": "email or phone_number is required"})


@pytest.mark.parametrize("phone", ["555123456", "25551234567", "+44 20 7946 0958", "phone"])
async def test_search_with_bad_phone_is_422(
    server: FakeSoapServer, session: aiohttp.ClientSession, phone: str
) -> None:
    status, body = await search(session, server, email=JANE["email"], phone_number=phone)
    assert (status, body) == (422, {"error": "Phone number must be 10 digits"})


# --------------------------------------------------------------------------- routing


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "/"), ("GET", "/api/v1/nothing"), ("GET", CUSTOMERS), ("POST", SEARCH)],
)
@pytest.mark.parametrize("headers", [AUTH, {}])
async def test_unknown_routes_are_404(
    server: FakeSoapServer,
    session: aiohttp.ClientSession,
    method: str,
    path: str,
    headers: dict[str, str],
) -> None:
    status, body, _ = await call(session, server, method, path, headers=headers)
    assert (status, body) == (404, {"error": "Not found"})


# --------------------------------------------------------------------------- recording


async def test_requests_are_recorded_in_order(
    server: FakeSoapServer, session: aiohttp.ClientSession
) -> None:
    await create(session, server)
    await search(session, server, email="jane@example.com")
    await create(session, server, headers={"Authorization": "nope"})

    first, second, third = server.requests
    assert isinstance(first, RecordedRequest)
    assert (first.method, first.path, first.query) == ("POST", CUSTOMERS, {})
    assert first.json == JANE
    assert first.headers["Authorization"] == f"Bearer {API_KEY}"
    assert (first.fault, first.status) == (None, 200)
    assert (second.method, second.path) == ("GET", SEARCH)
    assert second.query == {"email": "jane@example.com"}
    assert second.json is None
    assert second.status == 200
    assert third.headers["Authorization"] == "nope"
    assert third.status == 401
    with pytest.raises(AttributeError):
        first.status = 500  # type: ignore[misc]


async def test_reset_forgets_everything(
    server: FakeSoapServer, session: aiohttp.ClientSession
) -> None:
    await create(session, server)
    server.inject(Fault.status(500))
    server.inject_random([Fault.status(503)], rate=1.0, seed=1)
    server.reset()
    assert server.customers == []
    assert server.requests == []
    assert (await create(session, server))[0] == 200
    assert [r.status for r in server.requests] == [200]


# --------------------------------------------------------------------------- faults


async def test_status_fault_with_retry_after(
    server: FakeSoapServer, session: aiohttp.ClientSession
) -> None:
    server.inject(Fault.status(429, retry_after=2))
    status, body, response = await call(session, server, "POST", CUSTOMERS, json=JANE)
    assert (status, body) == (429, {"error": "Too Many Requests"})
    assert response.headers["Retry-After"] == "2"
    assert server.customers == []
    assert server.requests[0].fault == "status_429"
    assert server.requests[0].status == 429
    # Only the next request was faulted.
    assert (await create(session, server))[0] == 200


@pytest.mark.parametrize(
    ("retry_after", "header"),
    [(1.5, "1.5"), (3.0, "3"), (0, "0"), ("Wed, 21 Oct 2015 07:28:00 GMT", None), ("soon", None)],
)
async def test_status_fault_retry_after_formats(
    server: FakeSoapServer,
    session: aiohttp.ClientSession,
    retry_after: str | float,
    header: str | None,
) -> None:
    server.inject(Fault.status(503, retry_after=retry_after))
    status, body, response = await call(session, server, "POST", CUSTOMERS, json=JANE)
    assert (status, body) == (503, {"error": "Service Unavailable"})
    assert response.headers["Retry-After"] == (retry_after if header is None else header)


@pytest.mark.parametrize(
    ("code", "reason"),
    [(408, "Request Timeout"), (500, "Internal Server Error"), (502, "Bad Gateway")],
)
async def test_status_fault_without_retry_after(
    server: FakeSoapServer, session: aiohttp.ClientSession, code: int, reason: str
) -> None:
    server.inject(Fault.status(code))
    status, body, response = await call(session, server, "GET", SEARCH, params={"email": "x@y.z"})
    assert (status, body) == (code, {"error": reason})
    assert "Retry-After" not in response.headers


async def test_status_fault_custom_error_and_applies_before_auth(
    server: FakeSoapServer, session: aiohttp.ClientSession
) -> None:
    server.inject(Fault.status(504, error="upstream timed out"))
    # No key and an invalid body: a gateway error does not look at the request.
    status, body, _ = await call(session, server, "POST", CUSTOMERS, headers={}, json=[])
    assert (status, body) == (504, {"error": "upstream timed out"})


async def test_drop_before_stores_nothing_and_disconnects(
    server: FakeSoapServer, session: aiohttp.ClientSession, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    server.inject(Fault.drop_before())
    with pytest.raises(aiohttp.ServerDisconnectedError):
        await create(session, server)
    assert server.customers == []
    (recorded,) = server.requests
    assert (recorded.fault, recorded.status, recorded.json) == ("drop_before", None, JANE)
    # The same client goes on working, and the drop logged nothing alarming.
    assert (await create(session, server))[0] == 200
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == []


async def test_drop_after_stores_the_customer_and_disconnects(
    server: FakeSoapServer, session: aiohttp.ClientSession, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    server.inject(Fault.drop_after())
    with pytest.raises(aiohttp.ServerDisconnectedError):
        await create(session, server)
    assert [c["email"] for c in server.customers] == [JANE["email"]]
    assert (server.requests[0].fault, server.requests[0].status) == ("drop_after", None)
    # The retry a naive client would send now collides with its own first attempt.
    assert await create(session, server) == (422, {"error": "Email has already been taken"})
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == []


@pytest.mark.parametrize("fault", [Fault.drop_before(), Fault.drop_after()])
async def test_drop_sends_no_response_byte(server: FakeSoapServer, fault: Fault) -> None:
    server.inject(fault)
    reader, writer = await asyncio.open_connection("127.0.0.1", int(server.url.rsplit(":", 1)[1]))
    body = b'{"email": "jane@example.com", "first_name": "Jane", "last_name": "Doe"}'
    writer.write(
        b"POST /api/v1/customers HTTP/1.1\r\nHost: x\r\nAuthorization: key_test\r\n"
        b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body)
    )
    await writer.drain()
    try:
        received = await asyncio.wait_for(reader.read(), timeout=2)
    finally:
        writer.close()
        await writer.wait_closed()
    assert received == b""
    assert len(server.customers) == (1 if fault.kind == "drop_after" else 0)


async def test_delay_then_client_timeout_keeps_the_work(
    server: FakeSoapServer, session: aiohttp.ClientSession
) -> None:
    server.inject(Fault.delay(0.2))
    with pytest.raises(asyncio.TimeoutError):
        await create(session, server, timeout=aiohttp.ClientTimeout(total=0.05))
    assert [c["email"] for c in server.customers] == [JANE["email"]]
    await asyncio.sleep(0.3)  # let the delayed handler find its client gone
    assert (server.requests[0].fault, server.requests[0].status) == ("delay", None)
    assert await create(session, server) == (422, {"error": "Email has already been taken"})


async def test_delay_answers_late(server: FakeSoapServer, session: aiohttp.ClientSession) -> None:
    server.inject(Fault.delay(0.15))
    started = time.monotonic()
    status, _ = await create(session, server)
    assert status == 200
    assert time.monotonic() - started >= 0.15
    assert (server.requests[0].fault, server.requests[0].status) == ("delay", 200)


async def test_delay_without_processing_and_client_gone_stores_nothing(
    server: FakeSoapServer, session: aiohttp.ClientSession
) -> None:
    server.inject(Fault.delay(0.15, process=False))
    with pytest.raises(asyncio.TimeoutError):
        await create(session, server, timeout=aiohttp.ClientTimeout(total=0.05))
    assert server.customers == []
    await asyncio.sleep(0.25)
    assert server.customers == []
    assert server.requests[0].status is None


async def test_delay_without_processing_processes_for_a_patient_client(
    server: FakeSoapServer, session: aiohttp.ClientSession
) -> None:
    server.inject(Fault.delay(0.1, process=False))
    assert (await create(session, server))[0] == 200
    assert len(server.customers) == 1


async def test_closing_the_server_cuts_a_long_delay_short(session: aiohttp.ClientSession) -> None:
    server = FakeSoapServer()
    await server.astart()
    server.inject(Fault.delay(30))
    request = asyncio.ensure_future(create(session, server))
    while not server.requests:
        await asyncio.sleep(0.01)
    started = time.monotonic()
    await server.aclose()
    assert time.monotonic() - started < 2
    assert (await request)[0] == 200
    assert [t for t in asyncio.all_tasks() if t is not asyncio.current_task()] == []


async def test_times_counts_matching_requests(
    server: FakeSoapServer, session: aiohttp.ClientSession
) -> None:
    server.inject(Fault.status(500), times=2)
    statuses = [(await create(session, server))[0] for _ in range(3)]
    assert statuses == [500, 500, 200]
    assert [r.fault for r in server.requests] == ["status_500", "status_500", None]


async def test_injections_queue_in_fifo_order(
    server: FakeSoapServer, session: aiohttp.ClientSession
) -> None:
    server.inject(Fault.status(502))
    server.inject(Fault.status(503), times=2)
    server.inject(Fault.status(504))
    statuses = [(await create(session, server))[0] for _ in range(5)]
    assert statuses == [502, 503, 503, 504, 200]


async def test_injection_matches_method_and_path(
    server: FakeSoapServer, session: aiohttp.ClientSession
) -> None:
    server.inject(Fault.status(500), method="POST", path=CUSTOMERS)
    server.inject(Fault.status(503), method="get")
    server.inject(Fault.status(502), path="/api/v1/other")
    # The query string is not part of the path that is matched.
    assert (await search(session, server, email="x@y.z"))[0] == 503
    assert (await search(session, server, email="x@y.z"))[0] == 200
    assert (await create(session, server))[0] == 500
    assert (await create(session, server))[0] == 200
    assert [r.fault for r in server.requests] == ["status_503", None, "status_500", None]


async def test_injection_by_path_only(
    server: FakeSoapServer, session: aiohttp.ClientSession
) -> None:
    server.inject(Fault.status(503), path=SEARCH, times=2)
    assert (await create(session, server))[0] == 200
    assert (await search(session, server, email="x@y.z"))[0] == 503
    assert (await search(session, server, phone_number="5551234567"))[0] == 503
    assert (await search(session, server, email="x@y.z"))[0] == 200


async def test_clear_faults(server: FakeSoapServer, session: aiohttp.ClientSession) -> None:
    server.inject(Fault.status(500), times=5)
    server.inject_random([Fault.status(503)], rate=1.0, seed=0)
    server.clear_faults()
    assert (await create(session, server))[0] == 200


async def random_statuses(server: FakeSoapServer, session: aiohttp.ClientSession) -> list[int]:
    return [(await search(session, server, email=f"u{i}@x.io"))[0] for i in range(30)]


async def test_inject_random_is_deterministic_for_a_seed(
    server: FakeSoapServer, session: aiohttp.ClientSession
) -> None:
    faults = [Fault.status(500), Fault.status(503)]
    server.inject_random(faults, rate=0.4, seed=7)
    first = await random_statuses(server, session)
    server.reset()
    server.inject_random(faults, rate=0.4, seed=7)
    second = await random_statuses(server, session)

    rng = random.Random(7)
    expected = [rng.choice([500, 503]) if rng.random() < 0.4 else 200 for _ in range(30)]
    assert first == second == expected
    assert {200, 500, 503} <= set(first)

    server.reset()
    server.inject_random(faults, rate=0.4, seed=8)
    assert await random_statuses(server, session) != first


async def test_inject_random_respects_matching_and_queued_rules(
    server: FakeSoapServer, session: aiohttp.ClientSession
) -> None:
    server.inject_random([Fault.status(500)], rate=1.0, seed=3, method="GET", path=SEARCH)
    server.inject(Fault.status(429), path=SEARCH)
    assert (await search(session, server, email="x@y.z"))[0] == 429
    assert (await search(session, server, email="x@y.z"))[0] == 500
    assert (await create(session, server))[0] == 200


async def test_inject_random_can_drop(
    server: FakeSoapServer, session: aiohttp.ClientSession
) -> None:
    server.inject_random([Fault.drop_before()], rate=1.0, seed=0)
    with pytest.raises(aiohttp.ServerDisconnectedError):
        await create(session, server)
    assert server.requests[0].fault == "drop_before"


def test_fault_names_and_validation() -> None:
    assert Fault.status(429).name == "status_429"
    assert Fault.drop_before().name == "drop_before"
    assert Fault.drop_after().name == "drop_after"
    assert Fault.delay(0.1).name == "delay"
    assert Fault.delay(0.1, process=False).process is False
    with pytest.raises(ValueError, match="status code"):
        Fault.status(200)
    with pytest.raises(ValueError, match="negative"):
        Fault.status(503, retry_after=-1)
    with pytest.raises(ValueError, match="negative"):
        Fault.delay(-0.1)
    server = FakeSoapServer()
    with pytest.raises(ValueError, match="times"):
        server.inject(Fault.drop_before(), times=0)
    with pytest.raises(ValueError, match="rate"):
        server.inject_random([Fault.drop_before()], rate=1.5, seed=0)
    with pytest.raises(ValueError, match="empty"):
        server.inject_random([], rate=0.5, seed=0)


# --------------------------------------------------------------------------- lifecycle


async def use_server(url: str) -> tuple[int, int]:
    async with aiohttp.ClientSession() as client:
        async with client.post(url + CUSTOMERS, json=JANE, headers=AUTH) as response:
            created = response.status
        async with client.get(url + SEARCH, params={"email": JANE["email"]}, headers=AUTH) as r:
            found = len((await r.json())["results"])
    return created, found


def fake_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "FakeSoapServer"]


def test_threaded_mode_from_sync_code() -> None:
    with FakeSoapServer() as server:
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+", server.url)
        assert len(fake_threads()) == 1
        assert asyncio.run(use_server(server.url)) == (200, 1)
        assert server.customer_by_email(JANE["email"]) is not None
        assert [r.status for r in server.requests] == [200, 200]
    assert fake_threads() == []
    server.stop()  # idempotent
    with pytest.raises(RuntimeError):
        _ = server.url


def test_threaded_start_stop_and_restart() -> None:
    server = FakeSoapServer()
    with pytest.raises(RuntimeError):
        _ = server.url
    server.start()
    try:
        with pytest.raises(RuntimeError, match="already running"):
            server.start()
        server.inject(Fault.drop_after())
        with pytest.raises(aiohttp.ServerDisconnectedError):
            asyncio.run(use_server(server.url))
    finally:
        server.stop()
    assert fake_threads() == []
    server.start()
    try:
        # State survives a restart; the port may change.
        assert asyncio.run(use_server(server.url)) == (422, 1)
    finally:
        server.stop()
        server.stop()
    assert fake_threads() == []


def test_threaded_stop_with_a_delayed_request_in_flight() -> None:
    async def post(url: str) -> int:
        async with (
            aiohttp.ClientSession() as client,
            client.post(url + CUSTOMERS, json=JANE, headers=AUTH) as response,
        ):
            return response.status

    server = FakeSoapServer()
    server.start()
    server.inject(Fault.delay(30))
    statuses: list[int] = []
    client = threading.Thread(target=lambda: statuses.append(asyncio.run(post(server.url))))
    client.start()
    while not server.requests:
        time.sleep(0.01)
    started = time.monotonic()
    server.stop()
    assert time.monotonic() - started < 2
    client.join(timeout=5)
    assert not client.is_alive()
    # Closing wakes the delayed handler, which answers rather than hanging up.
    assert statuses == [200]
    assert fake_threads() == []


async def test_threaded_mode_inside_a_running_loop(session: aiohttp.ClientSession) -> None:
    with FakeSoapServer() as server:
        async with session.post(server.url + CUSTOMERS, json=JANE, headers=AUTH) as response:
            assert response.status == 200
    assert fake_threads() == []


def busy_port() -> tuple[socket.socket, int]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen()
    return sock, int(sock.getsockname()[1])


def test_threaded_start_reports_a_bind_error() -> None:
    sock, port = busy_port()
    with sock:
        server = FakeSoapServer(port=port)
        with pytest.raises(OSError, match=r"(?i)address already in use"):
            server.start()
    assert fake_threads() == []
    server.stop()


async def test_async_start_reports_a_bind_error() -> None:
    sock, port = busy_port()
    with sock:
        server = FakeSoapServer(port=port)
        with pytest.raises(OSError, match=r"(?i)address already in use"):
            await server.astart()
    await server.aclose()


async def test_explicit_port_and_async_lifecycle(session: aiohttp.ClientSession) -> None:
    sock, port = busy_port()
    sock.close()
    server = FakeSoapServer(port=port)
    await server.astart()
    try:
        assert server.url == f"http://127.0.0.1:{port}"
        with pytest.raises(RuntimeError, match="already running"):
            await server.astart()
        with pytest.raises(RuntimeError, match="aclose"):
            server.stop()
        assert (await create(session, server))[0] == 200
    finally:
        await server.aclose()
    await server.aclose()
    with pytest.raises(RuntimeError):
        _ = server.url
