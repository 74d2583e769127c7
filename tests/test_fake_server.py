"""Tests of soap_async.testing.FakeSoapServer, driven with a raw aiohttp client.

The SDK is deliberately not used here: these tests pin the fake to the API contract
(soap-api.md sections 2 to 6) so that the SDK's own tests can trust it.
test_contract_server.py checks the same traffic against soap-openapi.yaml.
"""

from __future__ import annotations

import ast
import asyncio
import datetime
import hashlib
import hmac
import http.server
import json
import logging
import random
import re
import socket
import sys
import threading
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any, ClassVar

import aiohttp
import pytest
from aiohttp import web

from soap_async.testing import (
    EVENT_TYPES,
    FakeSoapServer,
    Fault,
    RecordedRequest,
    WebhookDelivery,
    make_event,
)

API_KEY = "key_test"
CLIENT_SECRET = "secr_test"
WEBHOOK_SECRET = "wss_test"
AUTH = {"Authorization": f"Bearer {API_KEY}"}
SECRET_AUTH = {"Authorization": CLIENT_SECRET}
CUSTOMERS = "/api/v1/customers"
SEARCH = "/api/v1/customers/search"
CHECKOUTS = "/api/v1/checkouts"
KYC_UPSERT = "/api/v1/kyc/upsert"
PINGS = "/api/v1/device_pings"
LATEST = "/api/v1/device_pings/latest_geo_check"
JANE = {"email": "jane@example.com", "first_name": "Jane", "last_name": "Doe"}
B58 = "[1-9A-HJ-NP-Za-km-z]{32}"
ID_RE = re.compile(rf"cus_{B58}")
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


# --------------------------------------------------------------------------- isolation


def test_the_fake_imports_nothing_from_the_sdk() -> None:
    """The fake is an independent implementation of the contract: stdlib, aiohttp and
    attrs only, besides its own package. (The pytest plugin, which wires SDK clients
    to the fake, is not part of the fake.)"""
    folder = Path(__file__).resolve().parents[1] / "soap_async" / "testing"
    allowed = set(sys.stdlib_module_names) | {"aiohttp", "attrs", "attr"}
    for module in (folder / "_server.py", folder / "_events.py"):
        for node in ast.walk(ast.parse(module.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            else:
                continue
            for name in names:
                assert name.startswith("soap_async.testing") or name.split(".")[0] in allowed, (
                    f"{module.name} imports {name}"
                )


# --------------------------------------------------------------------------- update


async def patch(
    session: aiohttp.ClientSession,
    server: FakeSoapServer,
    customer_id: str,
    body: Any,
    **kwargs: Any,
) -> tuple[int, Any]:
    status, payload, _ = await call(
        session, server, "PATCH", f"{CUSTOMERS}/{customer_id}", json=body, **kwargs
    )
    return status, payload


async def test_update_changes_only_the_fields_sent(
    server: FakeSoapServer, session: aiohttp.ClientSession, jane: dict[str, Any]
) -> None:
    status, body = await patch(session, server, jane["id"], {"first_name": "Janet"})
    assert status == 200
    assert body == {**jane, "first_name": "Janet", "updated_at": body["updated_at"]}
    assert CREATED_AT_RE.fullmatch(body["updated_at"]), body["updated_at"]
    assert body["updated_at"] >= body["created_at"]
    assert server.customers == [body]


async def test_update_every_updatable_field(
    server: FakeSoapServer, session: aiohttp.ClientSession, jane: dict[str, Any]
) -> None:
    fields = {
        "first_name": "Janet",
        "last_name": "Smith",
        "email": "Janet@Example.com",
        "phone_number": "5550001111",
        "date_of_birth": "1991-02-28",
    }
    status, body = await patch(session, server, jane["id"], fields)
    assert status == 200
    assert {key: body[key] for key in fields} == fields
    assert (body["id"], body["internal_id"], body["created_at"]) == (
        jane["id"],
        jane["internal_id"],
        jane["created_at"],
    )
    # The customer is found under its new email and phone only.
    assert (await search(session, server, email="janet@example.com"))[1]["results"][0]["id"] == (
        jane["id"]
    )
    assert await search(session, server, email=JANE["email"]) == (200, {"results": []})
    assert server.customer_by_email("janet@example.com") == body


async def test_update_with_a_null_phone_or_birth_date_clears_it(
    server: FakeSoapServer, session: aiohttp.ClientSession, jane: dict[str, Any]
) -> None:
    status, body = await patch(
        session, server, jane["id"], {"phone_number": None, "date_of_birth": None}
    )
    assert status == 200
    assert (body["phone_number"], body["date_of_birth"]) == (None, None)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({}, "At least one field is required"),
        ({"internal_id": "u-2"}, "Unrecognized field: internal_id"),
        ({"first_name": "Janet", "nickname": "J"}, "Unrecognized field: nickname"),
        ({"id": "cus_other"}, "Unrecognized field: id"),
        ({"created_at": "2020-01-01T00:00:00.000Z"}, "Unrecognized field: created_at"),
        ({"email": ""}, "Email can't be blank"),
        ({"email": None}, "Email can't be blank"),
        ({"email": "janet"}, "Email is invalid"),
        ({"email": 42}, "Email is invalid"),
        ({"first_name": " "}, "First name can't be blank"),
        ({"first_name": None}, "First name can't be blank"),
        ({"last_name": 5}, "Last name must be a string"),
        ({"phone_number": "15551234567"}, "Phone number must be 10 digits"),
        ({"phone_number": "555-123-4567"}, "Phone number must be 10 digits"),
        ({"date_of_birth": "1990-13-01"}, "Date of birth is invalid"),
        ({"email": "bad", "phone_number": "1"}, "Email is invalid"),
        ([{"first_name": "Janet"}], "Request body must be a JSON object"),
        ("Janet", "Request body must be a JSON object"),
    ],
)
async def test_update_validation_messages(
    server: FakeSoapServer,
    session: aiohttp.ClientSession,
    jane: dict[str, Any],
    body: Any,
    message: str,
) -> None:
    assert await patch(session, server, jane["id"], body) == (422, {"error": message})
    assert server.customers == [jane]


async def test_update_email_must_stay_unique_among_other_customers(
    server: FakeSoapServer, session: aiohttp.ClientSession, jane: dict[str, Any]
) -> None:
    _, john = await create(session, server, {**JANE, "email": "john@example.com"})
    taken = await patch(session, server, jane["id"], {"email": "JOHN@example.com"})
    assert taken == (422, {"error": "Email has already been taken"})
    # Her own email, in another case, is not taken by anybody else.
    status, body = await patch(session, server, jane["id"], {"email": "JANE@example.com"})
    assert (status, body["email"]) == (200, "JANE@example.com")
    assert server.customer_by_email("john@example.com") == john


@pytest.mark.parametrize("customer_id", ["cus_" + "1" * 32, "nobody", "search"])
async def test_update_of_an_unknown_customer_is_422(
    server: FakeSoapServer, session: aiohttp.ClientSession, jane: dict[str, Any], customer_id: str
) -> None:
    status, body = await patch(session, server, customer_id, {"first_name": "X"})
    assert (status, body) == (422, {"error": "Customer not found"})
    assert server.customers == [jane]


async def test_update_needs_the_api_key(
    server: FakeSoapServer, session: aiohttp.ClientSession, jane: dict[str, Any]
) -> None:
    for headers in ({}, SECRET_AUTH, {"Authorization": "key_wrong"}):
        status, body = await patch(
            session, server, jane["id"], {"first_name": "X"}, headers=headers
        )
        assert (status, body) == (401, {"error": "Invalid API key"})
    status, _ = await patch(session, server, jane["id"], {"first_name": "X"}, headers=AUTH)
    assert status == 200


# --------------------------------------------------------------------------- checkouts


CHECKOUT_ID_RE = re.compile(rf"chk_{B58}")
CHECKOUT_KEYS = {
    "id",
    "client_secret",
    "url",
    "line_items",
    "line_items_total_amount_cents",
    "balance_amount_cents",
    "type",
    "experience",
    "subscription",
}
GOLD = {"name": "Gold Coins Pack", "price_cents": 999, "quantity": 2}


async def checkout(
    session: aiohttp.ClientSession, server: FakeSoapServer, body: Any, **kwargs: Any
) -> tuple[int, Any]:
    status, payload, _ = await call(session, server, "POST", CHECKOUTS, json=body, **kwargs)
    return status, payload


async def test_checkout_for_a_plain_deposit(
    server: FakeSoapServer, session: aiohttp.ClientSession, jane: dict[str, Any]
) -> None:
    status, body = await checkout(session, server, {"customer_id": jane["id"], "type": "deposit"})
    assert status == 200
    assert set(body) == CHECKOUT_KEYS
    assert CHECKOUT_ID_RE.fullmatch(body["id"]), body["id"]
    assert body["client_secret"]
    assert body["url"] == (
        f"https://wallet-sandbox.paywithsoap.com?clientSecret={body['client_secret']}"
    )
    assert {key: body[key] for key in CHECKOUT_KEYS - {"id", "client_secret", "url"}} == {
        "line_items": [],
        "line_items_total_amount_cents": None,
        "balance_amount_cents": None,
        "type": "deposit",
        "experience": None,
        "subscription": None,
    }
    assert server.checkouts == [
        {**body, "customer_id": jane["id"], "fixed_amount_cents": None, "return_url": None}
    ]


async def test_checkout_ids_and_client_secrets_are_unique(
    server: FakeSoapServer, session: aiohttp.ClientSession, jane: dict[str, Any]
) -> None:
    answers = [
        (await checkout(session, server, {"customer_id": jane["id"], "type": "deposit"}))[1]
        for _ in range(3)
    ]
    assert len({answer["id"] for answer in answers}) == 3
    assert len({answer["client_secret"] for answer in answers}) == 3
    assert [c["id"] for c in server.checkouts] == [answer["id"] for answer in answers]


async def test_checkout_echoes_inline_items_and_totals_them(
    server: FakeSoapServer, session: aiohttp.ClientSession, jane: dict[str, Any]
) -> None:
    items = [
        {**GOLD, "sku": "gold-2000", "dedup": True, "url": "https://cdn.example/gold.png"},
        {"name": "Shipping", "price_cents": 500, "quantity": 1, "sku": "shipping"},
    ]
    request = {
        "customer_id": jane["id"],
        "type": "deposit",
        "line_items": items,
        "experience": "webview",
        "return_url": "https://myapp.example/wallet",
    }
    status, body = await checkout(session, server, request)
    assert status == 200
    assert body["line_items"] == items
    assert body["line_items_total_amount_cents"] == 999 * 2 + 500
    assert body["experience"] == "webview"
    assert server.checkouts[0]["return_url"] == "https://myapp.example/wallet"


@pytest.mark.parametrize(
    "items",
    [
        [{"product_id": "pr_abc", "quantity": 1}],
        [{"product_id": "pr_abc", "quantity": 3}, GOLD],
    ],
)
async def test_checkout_total_is_unknown_with_a_product_reference(
    server: FakeSoapServer, session: aiohttp.ClientSession, jane: dict[str, Any], items: Any
) -> None:
    request = {"customer_id": jane["id"], "type": "deposit", "line_items": items}
    status, body = await checkout(session, server, request)
    assert (status, body["line_items"], body["line_items_total_amount_cents"]) == (200, items, None)


async def test_checkout_for_a_subscription(
    server: FakeSoapServer, session: aiohttp.ClientSession, jane: dict[str, Any]
) -> None:
    request = {
        "customer_id": jane["id"],
        "type": "deposit",
        "line_items": [{"name": "Premium", "price_cents": 2999, "quantity": 1}],
        "subscription_data": {"interval": "month", "interval_count": 3},
    }
    status, body = await checkout(session, server, request)
    assert status == 200
    assert body["subscription"] == {"interval": "month", "interval_count": 3}
    assert body["line_items_total_amount_cents"] == 2999


@pytest.mark.parametrize(
    ("extra", "balance"),
    [
        ({"type": "deposit", "fixed_amount_cents": 10000}, None),
        ({"type": "withdrawal", "balance_amount_cents": 25000}, 25000),
        ({"type": "withdrawal", "fixed_amount_cents": 10000}, None),
        ({"type": "withdrawal", "line_items": []}, None),
    ],
)
async def test_checkout_amount_flows(
    server: FakeSoapServer,
    session: aiohttp.ClientSession,
    jane: dict[str, Any],
    extra: dict[str, Any],
    balance: int | None,
) -> None:
    status, body = await checkout(session, server, {"customer_id": jane["id"], **extra})
    assert status == 200
    assert (body["type"], body["balance_amount_cents"]) == (extra["type"], balance)
    assert server.checkouts[0]["fixed_amount_cents"] == extra.get("fixed_amount_cents")


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"coupon": "X"}, "Unrecognized field: coupon"),
        ({"customer_id": None}, "Customer id can't be blank"),
        ({"customer_id": 7}, "Customer id must be a string"),
        ({"type": None}, "Type can't be blank"),
        ({"type": "refund"}, "Type must be deposit or withdrawal"),
        ({"line_items": {"name": "x"}}, "Line items must be an array"),
        ({"subscription_data": "monthly"}, "Subscription data must be an object"),
        ({"fixed_amount_cents": 10.5}, "Fixed amount cents must be an integer of at least 1"),
        ({"fixed_amount_cents": 100.0}, "Fixed amount cents must be an integer of at least 1"),
        ({"fixed_amount_cents": "100"}, "Fixed amount cents must be an integer of at least 1"),
        ({"fixed_amount_cents": 0}, "Fixed amount cents must be an integer of at least 1"),
        ({"fixed_amount_cents": None}, "Fixed amount cents must be an integer of at least 1"),
        ({"fixed_amount_cents": True}, "Fixed amount cents must be an integer of at least 1"),
        ({"balance_amount_cents": -5}, "Balance amount cents must be an integer of at least 1"),
        ({"experience": "app"}, "Experience must be web or webview"),
        ({"return_url": 5}, "Return url must be a string"),
        (
            {"type": "withdrawal", "line_items": [GOLD]},
            "Line items are not allowed for withdrawals",
        ),
        ({"line_items": ["gold"]}, "Line item must be a JSON object"),
        ({"line_items": [{**GOLD, "dedup": True}]}, "sku is required when dedup is true"),
        (
            {"line_items": [{**GOLD, "dedup": True, "sku": ""}]},
            "sku is required when dedup is true",
        ),
        ({"line_items": [{**GOLD, "dedup": "yes", "sku": "g"}]}, "Dedup must be a boolean"),
        ({"line_items": [{**GOLD, "sku": 1}]}, "Sku must be a string"),
        ({"line_items": [{**GOLD, "url": 1}]}, "Url must be a string"),
        ({"line_items": [{**GOLD, "name": ""}]}, "Name can't be blank"),
        (
            {"line_items": [{**GOLD, "price_cents": 0}]},
            "Price cents must be an integer of at least 1",
        ),
        (
            {"line_items": [{**GOLD, "price_cents": 9.99}]},
            "Price cents must be an integer of at least 1",
        ),
        ({"line_items": [{**GOLD, "quantity": 0}]}, "Quantity must be an integer of at least 1"),
        ({"line_items": [{"name": "x", "price_cents": 1}]}, "Quantity can't be blank"),
        ({"line_items": [{**GOLD, "color": "red"}]}, "Unrecognized field: color"),
        ({"line_items": [{"product_id": "x", "quantity": 1}]}, "Product id must start with pr_"),
        ({"line_items": [{"product_id": "pr_1"}]}, "Quantity can't be blank"),
        ({"line_items": [{"product_id": "pr_1", **GOLD}]}, "Unrecognized field: name"),
        (
            {"line_items": [GOLD, {"product_id": "pr_1", "quantity": -1}]},
            "Quantity must be an integer of at least 1",
        ),
        (
            {"subscription_data": {"interval": "month", "interval_count": 1}},
            "Subscription data requires line items",
        ),
        (
            {
                "line_items": [GOLD],
                "subscription_data": {"interval": "fortnight", "interval_count": 1},
            },
            "Interval must be one of day, week, month, year",
        ),
        (
            {"line_items": [GOLD], "subscription_data": {"interval": "month", "interval_count": 0}},
            "Interval count must be an integer of at least 1",
        ),
        (
            {"line_items": [GOLD], "subscription_data": {"interval": "month"}},
            "Interval count can't be blank",
        ),
        (
            {
                "line_items": [GOLD],
                "subscription_data": {"interval": "month", "interval_count": 1, "x": 1},
            },
            "Unrecognized field: x",
        ),
    ],
)
async def test_checkout_validation_messages(
    server: FakeSoapServer,
    session: aiohttp.ClientSession,
    jane: dict[str, Any],
    fields: dict[str, Any],
    message: str,
) -> None:
    request = {"customer_id": jane["id"], "type": "deposit", **fields}
    assert await checkout(session, server, request) == (422, {"error": message})
    assert server.checkouts == []


@pytest.mark.parametrize("body", [[], "deposit", None])
async def test_checkout_body_must_be_an_object(
    server: FakeSoapServer, session: aiohttp.ClientSession, body: Any
) -> None:
    expected = (422, {"error": "Request body must be a JSON object"})
    assert await checkout(session, server, body) == expected


async def test_checkout_for_an_unknown_customer_is_422(
    server: FakeSoapServer, session: aiohttp.ClientSession
) -> None:
    request = {"customer_id": "cus_" + "1" * 32, "type": "deposit"}
    assert await checkout(session, server, request) == (422, {"error": "Customer not found"})


async def test_checkouts_are_copies(
    server: FakeSoapServer, session: aiohttp.ClientSession, jane: dict[str, Any]
) -> None:
    request = {"customer_id": jane["id"], "type": "deposit", "line_items": [GOLD]}
    await checkout(session, server, request)
    server.checkouts[0]["line_items"].append("x")
    server.checkouts[0]["type"] = "withdrawal"
    assert server.checkouts[0]["line_items"] == [GOLD]
    assert server.checkouts[0]["type"] == "deposit"


# --------------------------------------------------------------------------- charges


CARD_KEYS = {
    "last_four",
    "card_brand",
    "card_expiration_month",
    "card_expiration_year",
    "card_issuer_country",
    "name_on_card",
    "card_type",
    "first_name",
    "last_name",
    "zip",
    "google_pay",
    "apple_pay",
    "bin",
}


async def get_charge(
    session: aiohttp.ClientSession, server: FakeSoapServer, charge_id: str, **kwargs: Any
) -> tuple[int, Any]:
    status, payload, _ = await call(
        session, server, "GET", f"/api/v1/charges/{charge_id}", **kwargs
    )
    return status, payload


async def test_add_charge_stores_a_full_card_charge(
    server: FakeSoapServer, session: aiohttp.ClientSession
) -> None:
    charge = server.add_charge()
    assert re.fullmatch(rf"ch_{B58}", charge["id"])
    assert {
        key: charge[key] for key in ("amount_cents", "transaction_type", "currency", "status")
    } == {
        "amount_cents": 1000,
        "transaction_type": "credit",
        "currency": "USD",
        "status": "succeeded",
    }
    assert CREATED_AT_RE.fullmatch(charge["created_at"])
    assert CREATED_AT_RE.fullmatch(charge["updated_at"])
    assert set(charge["customer"]) == {"id", "first_name", "last_name"}
    method = charge["payment_method"]
    assert re.fullmatch(rf"pm_{B58}", method["id"])
    assert set(method) == {
        "id",
        "payment_type",
        "created_at",
        "updated_at",
        "saved",
        "fingerprint",
        "card",
    }
    assert method["payment_type"] == "card"
    assert set(method["card"]) == CARD_KEYS
    assert set(charge["threeds"]) == {
        "eci",
        "version",
        "liability_shifted",
        "failure_reason",
        "status",
    }
    for key in ("avs_result", "cvv_result", "network_authorization_code", "processor_charge_id"):
        assert isinstance(charge[key], str), key
    assert await get_charge(session, server, charge["id"]) == (200, charge)
    assert server.charges == [charge]


async def test_add_charge_overrides(server: FakeSoapServer, session: aiohttp.ClientSession) -> None:
    charge = server.add_charge(
        {"id": "ch_fixture", "amount_cents": 1, "status": "pending"},
        status="failed",
        failure_code="card_declined",
        customer={"id": "cus_jane"},
        payment_method={"card": {"last_four": "0002"}},
    )
    assert (charge["id"], charge["amount_cents"], charge["status"]) == ("ch_fixture", 1, "failed")
    assert charge["failure_code"] == "card_declined"
    # Dicts merge into the default: the names and the rest of the card stay.
    assert charge["customer"] == {"id": "cus_jane", "first_name": "Jane", "last_name": "Doe"}
    assert charge["payment_method"]["card"]["last_four"] == "0002"
    assert set(charge["payment_method"]["card"]) == CARD_KEYS
    assert await get_charge(session, server, "ch_fixture") == (200, charge)
    # The same id replaces the stored charge.
    replaced = server.add_charge(id="ch_fixture", status="refunded")
    assert (await get_charge(session, server, "ch_fixture"))[1] == replaced
    assert [c["status"] for c in server.charges] == ["refunded"]


def test_add_charge_without_a_card() -> None:
    server = FakeSoapServer()
    charge = server.add_charge(
        transaction_type="debit",
        payment_method={"payment_type": "bank_account", "bank_account": {"last_four": "6789"}},
    )
    assert "card" not in charge["payment_method"]
    assert charge["payment_method"]["bank_account"] == {"last_four": "6789"}
    assert "threeds" not in charge
    assert [charge[key] for key in ("avs_result", "cvv_result")] == [None, None]
    no_3ds = server.add_charge(threeds=None)
    assert "threeds" not in no_3ds
    assert no_3ds["payment_method"]["payment_type"] == "card"
    with pytest.raises(ValueError, match="charge id"):
        server.add_charge(id=None)


@pytest.mark.parametrize("charge_id", ["ch_" + "1" * 32, "nope"])
async def test_a_missing_charge_is_422(
    server: FakeSoapServer, session: aiohttp.ClientSession, charge_id: str
) -> None:
    server.add_charge()
    assert await get_charge(session, server, charge_id) == (422, {"error": "Charge not found"})


async def test_charges_need_the_api_key(
    server: FakeSoapServer, session: aiohttp.ClientSession
) -> None:
    charge = server.add_charge()
    status, body = await get_charge(session, server, charge["id"], headers=SECRET_AUTH)
    assert (status, body) == (401, {"error": "Invalid API key"})


# --------------------------------------------------------------------------- KYC


KYC = {
    "first_name": "Jane",
    "last_name": "Doe",
    "date_of_birth": "1990-01-31",
    "address_line_1": "1 Main St",
    "city": "Springfield",
    "state": "IL",
    "postal_code": "62701",
    "country": "USA",
    "provider": "plaid",
    "verified": True,
}
KYC_OPTIONAL = ("address_line_2", "email", "phone_number", "last_four_ssn")


async def upsert(
    session: aiohttp.ClientSession, server: FakeSoapServer, body: Any
) -> tuple[int, Any]:
    status, payload, _ = await call(session, server, "POST", KYC_UPSERT, json=body)
    return status, payload


async def test_kyc_upsert_echoes_the_fields_with_an_id(
    server: FakeSoapServer, session: aiohttp.ClientSession, jane: dict[str, Any]
) -> None:
    request = {**KYC, "customer_id": jane["id"]}
    status, body = await upsert(session, server, request)
    assert status == 200
    assert re.fullmatch(rf"id_{B58}", body["id"])
    assert body == {"id": body["id"], **request, **dict.fromkeys(KYC_OPTIONAL)}
    assert server.kyc_identities == {jane["id"]: body}


async def test_kyc_upsert_keeps_one_identity_per_customer(
    server: FakeSoapServer, session: aiohttp.ClientSession, jane: dict[str, Any]
) -> None:
    _, john = await create(session, server, {**JANE, "email": "john@example.com"})
    _, first = await upsert(session, server, {**KYC, "customer_id": jane["id"]})
    update = {
        **KYC,
        "customer_id": jane["id"],
        "verified": False,
        "address_line_2": "Apt 4",
        "email": "jane@example.com",
        "phone_number": "5551234567",
        "last_four_ssn": "0123",
    }
    status, second = await upsert(session, server, update)
    assert status == 200
    assert second == {"id": first["id"], **update}
    _, other = await upsert(session, server, {**KYC, "customer_id": john["id"]})
    assert other["id"] != first["id"]
    assert server.kyc_identities == {jane["id"]: second, john["id"]: other}


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"ssn": "123456789"}, "Unrecognized field: ssn"),
        ({"customer_id": None}, "Customer id can't be blank"),
        ({"first_name": ""}, "First name can't be blank"),
        ({"last_name": None}, "Last name can't be blank"),
        ({"date_of_birth": None}, "Date of birth can't be blank"),
        ({"date_of_birth": "31/01/1990"}, "Date of birth is invalid"),
        ({"address_line_1": " "}, "Address line 1 can't be blank"),
        ({"address_line_2": 4}, "Address line 2 must be a string"),
        ({"city": ""}, "City can't be blank"),
        ({"state": "Illinois"}, "State must be two upper-case letters"),
        ({"state": "il"}, "State must be two upper-case letters"),
        ({"state": None}, "State can't be blank"),
        ({"postal_code": 62701}, "Postal code must be a string"),
        ({"country": "US"}, "Country must be three upper-case letters"),
        ({"country": "usa"}, "Country must be three upper-case letters"),
        ({"provider": None}, "Provider can't be blank"),
        ({"verified": None}, "Verified can't be blank"),
        ({"verified": "true"}, "Verified must be a boolean"),
        ({"verified": 1}, "Verified must be a boolean"),
        ({"email": None}, "Email must be a string"),
        ({"phone_number": 5551234567}, "Phone number must be a string"),
        ({"last_four_ssn": "12345"}, "Last four ssn must be 4 digits"),
        ({"last_four_ssn": "12a4"}, "Last four ssn must be 4 digits"),
    ],
)
async def test_kyc_validation_messages(
    server: FakeSoapServer,
    session: aiohttp.ClientSession,
    jane: dict[str, Any],
    fields: dict[str, Any],
    message: str,
) -> None:
    request = {**KYC, "customer_id": jane["id"], **fields}
    assert await upsert(session, server, request) == (422, {"error": message})
    assert server.kyc_identities == {}


@pytest.mark.parametrize("missing", ["customer_id", *KYC])
async def test_kyc_required_fields(
    server: FakeSoapServer, session: aiohttp.ClientSession, jane: dict[str, Any], missing: str
) -> None:
    request = {**KYC, "customer_id": jane["id"]}
    del request[missing]
    label = missing.replace("_", " ").capitalize()
    assert await upsert(session, server, request) == (422, {"error": f"{label} can't be blank"})


async def test_kyc_for_an_unknown_customer_is_422(
    server: FakeSoapServer, session: aiohttp.ClientSession
) -> None:
    request = {**KYC, "customer_id": "cus_" + "1" * 32}
    assert await upsert(session, server, request) == (422, {"error": "Customer not found"})


# --------------------------------------------------------------------------- device pings


async def ping(
    session: aiohttp.ClientSession,
    server: FakeSoapServer,
    body: Any,
    headers: dict[str, str] = SECRET_AUTH,
) -> tuple[int, Any]:
    status, payload, _ = await call(session, server, "POST", PINGS, json=body, headers=headers)
    return status, payload


async def latest(
    session: aiohttp.ClientSession, server: FakeSoapServer, customer_id: str | None, **kwargs: Any
) -> tuple[int, Any]:
    params = {} if customer_id is None else {"customer_id": customer_id}
    status, payload, _ = await call(session, server, "GET", LATEST, params=params, **kwargs)
    return status, payload


@pytest.mark.parametrize("authorization", [CLIENT_SECRET, f"Bearer {CLIENT_SECRET}"])
async def test_device_ping_records_a_geo_check(
    server: FakeSoapServer, session: aiohttp.ClientSession, jane: dict[str, Any], authorization: str
) -> None:
    body = {"latitude": 40.73, "longitude": -73.99, "customer_id": jane["id"]}
    status, answer = await ping(session, server, body, {"Authorization": authorization})
    assert status == 200
    assert re.fullmatch(rf"dp_{B58}", answer["id"])
    assert answer["ip_check"] is None
    check = answer["geo_check"]
    assert re.fullmatch(rf"gc_{B58}", check["id"])
    assert check == {
        "id": check["id"],
        "passed": True,
        "municipality": "New York",
        "region": "NY",
        "country": "US",
        "latitude": 40.73,
        "longitude": -73.99,
    }
    status, found = await latest(session, server, jane["id"])
    assert status == 200
    assert CREATED_AT_RE.fullmatch(found["checked_at"])
    assert found == {**check, "checked_at": found["checked_at"]}


@pytest.mark.parametrize(
    ("latitude", "longitude", "municipality", "region", "passed"),
    [
        (34.05, -118.24, "Los Angeles", "CA", True),
        (47, -122, "Seattle", "WA", True),
        (25.8, -80.2, "Miami", "FL", True),
        (51.5, -0.12, "New York", "NY", False),  # London: outside the United States
        (19.43, -99.13, "Houston", "TX", False),  # Mexico City
    ],
)
async def test_device_ping_geo_check_depends_on_the_position(
    server: FakeSoapServer,
    session: aiohttp.ClientSession,
    jane: dict[str, Any],
    latitude: float,
    longitude: float,
    municipality: str,
    region: str,
    passed: bool,
) -> None:
    body = {"latitude": latitude, "longitude": longitude, "customer_id": jane["id"]}
    _, answer = await ping(session, server, body)
    check = answer["geo_check"]
    assert (check["municipality"], check["region"], check["passed"]) == (
        municipality,
        region,
        passed,
    )


async def test_the_latest_geo_check_wins(
    server: FakeSoapServer, session: aiohttp.ClientSession, jane: dict[str, Any]
) -> None:
    await ping(session, server, {"latitude": 40.7, "longitude": -74, "customer_id": jane["id"]})
    await ping(session, server, {"latitude": 51.5, "longitude": -0.1, "customer_id": jane["id"]})
    status, found = await latest(session, server, jane["id"])
    assert (status, found["passed"], found["latitude"]) == (200, False, 51.5)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"latitude": 1, "longitude": 2}, "Customer id can't be blank"),
        ({"longitude": 2, "customer_id": "cus_x"}, "Latitude can't be blank"),
        ({"latitude": 1, "customer_id": "cus_x"}, "Longitude can't be blank"),
        ({"latitude": "1", "longitude": 2, "customer_id": "cus_x"}, "Latitude must be a number"),
        ({"latitude": 1, "longitude": True, "customer_id": "cus_x"}, "Longitude must be a number"),
        ({"latitude": 1, "longitude": 2, "customer_id": 3}, "Customer id must be a string"),
        ({"latitude": 1, "longitude": 2, "customer_id": "x", "ip": "1"}, "Unrecognized field: ip"),
        ({"latitude": 1, "longitude": 2, "customer_id": "cus_x"}, "Customer not found"),
        ([1, 2], "Request body must be a JSON object"),
    ],
)
async def test_device_ping_validation_messages(
    server: FakeSoapServer, session: aiohttp.ClientSession, body: Any, message: str
) -> None:
    assert await ping(session, server, body) == (422, {"error": message})


async def test_device_pings_take_the_client_secret_and_nothing_else(
    server: FakeSoapServer, session: aiohttp.ClientSession, jane: dict[str, Any]
) -> None:
    body = {"latitude": 40.7, "longitude": -74, "customer_id": jane["id"]}
    for headers in ({}, AUTH, {"Authorization": API_KEY}, {"Authorization": "secr_wrong"}):
        status, answer = await ping(session, server, body, headers)
        assert (status, answer) == (401, {"error": "Invalid client secret"})
    # ...and the client secret opens nothing else.
    invalid_key = {"error": "Invalid API key"}
    assert await create(session, server, headers=SECRET_AUTH) == (401, invalid_key)
    assert await latest(session, server, jane["id"], headers=SECRET_AUTH) == (401, invalid_key)
    status, answer, _ = await call(
        session, server, "GET", SEARCH, params={"email": "x@y.z"}, headers=SECRET_AUTH
    )
    assert (status, answer) == (401, invalid_key)


async def test_custom_client_secret(session: aiohttp.ClientSession) -> None:
    async with FakeSoapServer(client_secret="secr_other") as server:
        _, jane = await create(session, server)
        body = {"latitude": 40.7, "longitude": -74, "customer_id": jane["id"]}
        assert (await ping(session, server, body))[0] == 401
        assert (await ping(session, server, body, {"Authorization": "secr_other"}))[0] == 200


async def test_latest_geo_check_is_null_without_any(
    server: FakeSoapServer, session: aiohttp.ClientSession, jane: dict[str, Any]
) -> None:
    async with session.get(
        server.url + LATEST, params={"customer_id": jane["id"]}, headers=AUTH
    ) as response:
        assert response.status == 200
        assert await response.read() == b"null"
    assert await latest(session, server, "cus_unknown") == (200, None)


@pytest.mark.parametrize("customer_id", [None, "", "  "])
async def test_latest_geo_check_needs_a_customer_id(
    server: FakeSoapServer, session: aiohttp.ClientSession, customer_id: str | None
) -> None:
    expected = (422, {"error": "customer_id is required"})
    assert await latest(session, server, customer_id) == expected


async def test_set_geo_check_seeds_and_clears(
    server: FakeSoapServer, session: aiohttp.ClientSession, jane: dict[str, Any]
) -> None:
    server.set_geo_check(jane["id"], {"passed": False, "region": "WA", "municipality": "Seattle"})
    status, found = await latest(session, server, jane["id"])
    assert status == 200
    assert (found["passed"], found["region"], found["municipality"]) == (False, "WA", "Seattle")
    assert re.fullmatch(rf"gc_{B58}", found["id"])
    assert set(found) == {
        "id",
        "passed",
        "municipality",
        "region",
        "country",
        "latitude",
        "longitude",
        "checked_at",
    }
    full = {**found, "id": "gc_seeded", "checked_at": "2026-01-02T03:04:05.000Z"}
    server.set_geo_check(jane["id"], full)
    assert await latest(session, server, jane["id"]) == (200, full)
    server.set_geo_check(jane["id"], None)
    server.set_geo_check("cus_never_checked", None)
    assert await latest(session, server, jane["id"]) == (200, None)


# --------------------------------------------------------------------------- more routing


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/v1/customers/cus_1"),
        ("PUT", "/api/v1/customers/cus_1"),
        ("GET", CHECKOUTS),
        ("DELETE", "/api/v1/charges/ch_1"),
        ("POST", "/api/v1/charges/ch_1"),
        ("GET", KYC_UPSERT),
        ("GET", PINGS),
        ("POST", LATEST),
    ],
)
@pytest.mark.parametrize("headers", [AUTH, SECRET_AUTH, {}])
async def test_wrong_methods_on_new_routes_are_404(
    server: FakeSoapServer,
    session: aiohttp.ClientSession,
    method: str,
    path: str,
    headers: dict[str, str],
) -> None:
    status, body, _ = await call(session, server, method, path, headers=headers)
    assert (status, body) == (404, {"error": "Not found"})


async def test_faults_apply_to_the_new_endpoints(
    server: FakeSoapServer, session: aiohttp.ClientSession, jane: dict[str, Any]
) -> None:
    server.inject(Fault.status(503), path=CHECKOUTS)
    request = {"customer_id": jane["id"], "type": "deposit"}
    assert await checkout(session, server, request) == (503, {"error": "Service Unavailable"})
    assert server.checkouts == []
    server.inject(Fault.drop_after(), method="PATCH")
    with pytest.raises(aiohttp.ServerDisconnectedError):
        await patch(session, server, jane["id"], {"first_name": "Janet"})
    assert server.customers[0]["first_name"] == "Janet"
    server.inject(Fault.drop_before(), path=PINGS)
    with pytest.raises(aiohttp.ServerDisconnectedError):
        await ping(session, server, {"latitude": 1, "longitude": 2, "customer_id": jane["id"]})
    assert await latest(session, server, jane["id"]) == (200, None)
    server.inject(Fault.status(429, retry_after=1), where=lambda r: r.path.startswith("/api/v1/ch"))
    assert (await get_charge(session, server, server.add_charge()["id"]))[0] == 429


async def test_reset_forgets_the_new_state(
    server: FakeSoapServer, session: aiohttp.ClientSession, jane: dict[str, Any]
) -> None:
    await checkout(session, server, {"customer_id": jane["id"], "type": "deposit"})
    await upsert(session, server, {**KYC, "customer_id": jane["id"]})
    server.add_charge()
    server.set_geo_check(jane["id"], {})
    server.reset()
    assert (server.checkouts, server.charges, server.kyc_identities) == ([], [], {})
    assert server.webhook_deliveries == []
    assert await latest(session, server, jane["id"]) == (200, None)


# --------------------------------------------------------------------------- answers


async def test_answers_are_recorded(server: FakeSoapServer, session: aiohttp.ClientSession) -> None:
    _, created = await create(session, server)
    await create(session, server)
    await create(session, server, headers={})
    _, none = await latest(session, server, created["id"])
    server.inject(Fault.status(503))
    await create(session, server)
    server.inject(Fault.delay(0.01))
    await search(session, server, email=JANE["email"])

    recorded = server.requests
    assert [(r.status, r.response) for r in recorded] == [
        (200, created),
        (422, {"error": "Email has already been taken"}),
        (401, {"error": "Invalid API key"}),
        (200, None),  # the JSON null of "no geo check"
        (503, {"error": "Service Unavailable"}),
        (200, {"results": [as_search_result(created)]}),
    ]
    assert none is None
    # Answers are copies.
    recorded[0].response["email"] = "changed"
    assert server.requests[0].response == created


@pytest.mark.parametrize("fault", [Fault.drop_before(), Fault.drop_after()])
async def test_no_answer_is_recorded_for_a_drop(
    server: FakeSoapServer, session: aiohttp.ClientSession, fault: Fault
) -> None:
    server.inject(fault)
    with pytest.raises(aiohttp.ServerDisconnectedError):
        await create(session, server)
    (recorded,) = server.requests
    assert (recorded.status, recorded.response) == (None, None)


async def test_no_answer_is_recorded_when_the_client_left(
    server: FakeSoapServer, session: aiohttp.ClientSession
) -> None:
    server.inject(Fault.delay(0.15))
    with pytest.raises(asyncio.TimeoutError):
        await create(session, server, timeout=aiohttp.ClientTimeout(total=0.05))
    await asyncio.sleep(0.25)
    (recorded,) = server.requests
    assert (recorded.status, recorded.response) == (None, None)


def test_recorded_request_keeps_its_old_constructor() -> None:
    recorded = RecordedRequest("GET", SEARCH, {}, {}, None, None, 200)
    assert recorded.response is None


# --------------------------------------------------------------------------- webhooks


def verify(header: str, body: bytes, secret: str = WEBHOOK_SECRET) -> int:
    """Check a signature header the way a handler would; return its timestamp."""
    parts = dict(part.split("=", 1) for part in header.split(","))
    assert set(parts) == {"t", "v1"}
    expected = hmac.new(secret.encode(), parts["t"].encode() + b"." + body, hashlib.sha256)
    assert hmac.compare_digest(parts["v1"], expected.hexdigest())
    return int(parts["t"])


def test_sign_webhook() -> None:
    server = FakeSoapServer()
    body = b'{"event_id":"ev_1","type":"checkout.succeeded","data":{}}'
    header = server.sign_webhook(body, timestamp=1700000000)
    expected = hmac.new(b"wss_test", b"1700000000." + body, hashlib.sha256).hexdigest()
    assert header == f"t=1700000000,v1={expected}"
    assert re.fullmatch(r"t=\d+,v1=[0-9a-f]{64}", header)
    assert abs(verify(server.sign_webhook(body), body) - time.time()) < 5
    with pytest.raises(AssertionError):
        verify(header, body + b" ")


def test_sign_webhook_with_a_custom_secret() -> None:
    server = FakeSoapServer(webhook_secret="wss_other")
    header = server.sign_webhook(b"{}", timestamp=1)
    verify(header, b"{}", secret="wss_other")
    with pytest.raises(AssertionError):
        verify(header, b"{}")


class Receiver:
    """A webhook handler on 127.0.0.1 that records what it receives."""

    def __init__(self, status: int = 200) -> None:
        self.status = status
        self.received: list[tuple[dict[str, str], bytes]] = []
        self.url = ""

    async def handle(self, request: web.Request) -> web.Response:
        self.received.append((dict(request.headers), await request.read()))
        return web.json_response({"ok": True}, status=self.status)


async def redirect(request: web.Request) -> web.Response:
    raise web.HTTPFound("http://example.com/")


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    hook = Receiver()
    app = web.Application()
    app.router.add_post("/webhooks/soap", hook.handle)
    app.router.add_post("/redirect", redirect)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    hook.url = f"http://127.0.0.1:{runner.addresses[0][1]}/webhooks/soap"
    try:
        yield hook
    finally:
        await runner.cleanup()


async def test_deliver_webhook(server: FakeSoapServer, receiver: Receiver) -> None:
    event = make_event("checkout.succeeded", amount_cents=2500)
    status = await server.deliver_webhook(receiver.url, event, timestamp=1700000000)
    assert status == 200
    ((headers, body),) = receiver.received
    assert body == json.dumps(event, separators=(",", ":")).encode()
    assert b" " not in body
    assert json.loads(body) == event
    assert headers["Content-Type"] == "application/json"
    assert verify(headers["SOAP-WEBHOOK-SIGNATURE"], body) == 1700000000
    assert headers["SOAP-WEBHOOK-SIGNATURE"] == server.sign_webhook(body, timestamp=1700000000)
    (delivery,) = server.webhook_deliveries
    assert isinstance(delivery, WebhookDelivery)
    assert (delivery.url, delivery.event_type, delivery.status) == (
        receiver.url,
        "checkout.succeeded",
        200,
    )
    assert (delivery.event, delivery.body) == (event, body)
    assert (delivery.header, delivery.signature) == (
        "SOAP-WEBHOOK-SIGNATURE",
        headers["SOAP-WEBHOOK-SIGNATURE"],
    )


async def test_deliver_webhook_returns_the_handlers_status(
    server: FakeSoapServer, receiver: Receiver
) -> None:
    receiver.status = 402  # checkout.hold: insufficient funds
    assert await server.deliver_webhook(receiver.url, make_event("checkout.hold")) == 402
    assert [(d.event_type, d.status) for d in server.webhook_deliveries] == [("checkout.hold", 402)]


async def test_deliver_webhook_old_header_and_wrong_secret(
    server: FakeSoapServer, receiver: Receiver
) -> None:
    event = make_event("checkout.expired")
    await server.deliver_webhook(receiver.url, event, header="soap_signature", secret="wss_bad")
    ((headers, body),) = receiver.received
    assert "SOAP-WEBHOOK-SIGNATURE" not in headers
    verify(headers["soap_signature"], body, secret="wss_bad")
    with pytest.raises(AssertionError):
        verify(headers["soap_signature"], body)


async def test_deliver_webhook_does_not_follow_redirects(
    server: FakeSoapServer, receiver: Receiver
) -> None:
    url = receiver.url.replace("/webhooks/soap", "/redirect")
    assert await server.deliver_webhook(url, make_event("checkout.pending")) == 302


async def test_deliver_webhook_works_while_the_server_is_down(receiver: Receiver) -> None:
    server = FakeSoapServer()
    assert await server.deliver_webhook(receiver.url, make_event("checkout.voided")) == 200


async def test_an_unreachable_handler_is_recorded_without_status(server: FakeSoapServer) -> None:
    sock, port = busy_port()
    sock.close()
    url = f"http://localhost:{port}/hook"
    with pytest.raises(aiohttp.ClientConnectionError):
        await server.deliver_webhook(url, make_event("checkout.failed"))
    (delivery,) = server.webhook_deliveries
    assert (delivery.url, delivery.event_type, delivery.status) == (url, "checkout.failed", None)


@pytest.mark.parametrize(
    "url",
    [
        "http://example.com/webhooks",
        "https://api.paywithsoap.com/hook",
        "http://10.0.0.1/hook",
        "http://192.168.1.10:8000/hook",
        "http://127.0.0.1.nip.io/hook",
        "http://localhost.example.com/hook",
        "http://user@example.com/hook",
        "ftp://127.0.0.1/hook",
        "/webhooks/soap",
        "127.0.0.1:8000/hook",
    ],
)
async def test_deliveries_outside_loopback_are_refused(server: FakeSoapServer, url: str) -> None:
    with pytest.raises(ValueError, match="loopback"):
        await server.deliver_webhook(url, make_event("checkout.pending"))
    with pytest.raises(ValueError, match="loopback"):
        server.deliver_webhook_sync(url, make_event("checkout.pending"))
    assert server.webhook_deliveries == []


class SyncReceiver(http.server.BaseHTTPRequestHandler):
    received: ClassVar[list[tuple[dict[str, str], bytes]]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        SyncReceiver.received.append((dict(self.headers), body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def sync_receiver() -> Iterator[str]:
    SyncReceiver.received = []
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), SyncReceiver)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/hook"
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join()


def test_deliver_webhook_sync(sync_receiver: str) -> None:
    server = FakeSoapServer()
    event = make_event("checkout.review.approved")
    assert server.deliver_webhook_sync(sync_receiver, event, timestamp=42) == 204
    ((headers, body),) = SyncReceiver.received
    assert body == json.dumps(event, separators=(",", ":")).encode()
    assert verify(headers["SOAP-WEBHOOK-SIGNATURE"], body) == 42
    assert [(d.event_type, d.status) for d in server.webhook_deliveries] == [
        ("checkout.review.approved", 204)
    ]


async def test_deliver_webhook_sync_from_a_running_loop(sync_receiver: str) -> None:
    server = FakeSoapServer()
    assert server.deliver_webhook_sync(sync_receiver, make_event("checkout.pending")) == 204


def test_deliver_webhook_sync_with_a_threaded_server(sync_receiver: str) -> None:
    with FakeSoapServer() as server:
        assert server.deliver_webhook_sync(sync_receiver, make_event("checkout.returned")) == 204


# --------------------------------------------------------------------------- events


EVENT_ID_RE = re.compile(rf"ev_{B58}")
SOAP_UTC_RE = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} UTC")
ISO_SECONDS_RE = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z")
CHARGE_EVENTS = {
    "checkout.pending": ("deposit", "pending", "created", "credit"),
    "checkout.succeeded": ("deposit", "succeeded", "pending", "credit"),
    "checkout.failed": ("deposit", "failed", "pending", "credit"),
    "checkout.hold": ("withdrawal", "held", "created", "debit"),
    "checkout.release_hold": ("withdrawal", "failed", "held", "debit"),
    "checkout.returned": ("deposit", "returned", "succeeded", "credit"),
    "checkout.voided": ("deposit", "voided", "succeeded", "credit"),
}


def test_event_types() -> None:
    assert len(EVENT_TYPES) == len(set(EVENT_TYPES)) == 12
    assert set(CHARGE_EVENTS) < set(EVENT_TYPES)


@pytest.mark.parametrize("event_type", EVENT_TYPES)
def test_make_event_envelope(event_type: str) -> None:
    event = make_event(event_type, checkout_id="chk_1", customer_id="cus_1")
    assert set(event) == {"event_id", "type", "data"}
    assert EVENT_ID_RE.fullmatch(event["event_id"])
    assert event["type"] == event_type
    assert event["data"]["id"] == "chk_1"
    assert event["data"]["customer"] == {"id": "cus_1"}
    assert event["data"]["type"] in ("deposit", "withdrawal")
    assert make_event(event_type)["event_id"] != event["event_id"]
    json.dumps(event)  # plain JSON


@pytest.mark.parametrize("event_type", list(CHARGE_EVENTS))
def test_make_charge_event(event_type: str) -> None:
    kind, status, from_status, transaction_type = CHARGE_EVENTS[event_type]
    data = make_event(event_type, amount_cents=2500)["data"]
    assert set(data) == {
        "id",
        "type",
        "charge",
        "customer",
        "line_items",
        "line_items_total_amount_cents",
    }
    assert re.fullmatch(rf"chk_{B58}", data["id"])
    assert re.fullmatch(rf"cus_{B58}", data["customer"]["id"])
    assert data["type"] == kind
    charge = data["charge"]
    assert re.fullmatch(rf"ch_{B58}", charge["id"])
    assert charge == {
        "id": charge["id"],
        "status": status,
        "from_status": from_status,
        "amount_cents": 2500,
        "transaction_type": transaction_type,
    }
    assert (data["line_items"], data["line_items_total_amount_cents"]) == ([], None)


@pytest.mark.parametrize(
    ("event_type", "field"),
    [("checkout.expired", "expired_at"), ("checkout.terminally_failed", "terminally_failed_at")],
)
def test_make_ending_event(event_type: str, field: str) -> None:
    data = make_event(event_type)["data"]
    assert set(data) == {"id", "type", "customer", field}
    assert SOAP_UTC_RE.fullmatch(data[field]), data[field]
    stamp = datetime.datetime.strptime(data[field], "%Y-%m-%d %H:%M:%S UTC")
    now = datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)
    assert abs((now - stamp).total_seconds()) < 5


@pytest.mark.parametrize(
    ("event_type", "status"),
    [
        ("checkout.review.created", "created"),
        ("checkout.review.approved", "approved"),
        ("checkout.review.declined", "declined"),
    ],
)
def test_make_review_event(event_type: str, status: str) -> None:
    data = make_event(event_type, amount_cents=777)["data"]
    assert set(data) == {"id", "type", "customer", "review"}
    review = data["review"]
    assert re.fullmatch(rf"cpilr_{B58}", review["id"])
    assert (review["status"], review["amount_cents"]) == (status, 777)
    assert ISO_SECONDS_RE.fullmatch(review["created_at"])
    if status == "created":
        assert review["reviewed_at"] is None
    else:
        assert ISO_SECONDS_RE.fullmatch(review["reviewed_at"])
        assert review["reviewed_at"] > review["created_at"]
    assert (review["decline_reason"] is not None) == (status == "declined")


def test_make_event_overrides() -> None:
    event = make_event(
        "checkout.succeeded",
        event_id="ev_fixed",
        charge={"status": "failed", "from_status": "succeeded"},
        line_items=[{"product_id": "pr_1", "quantity": 2}],
        line_items_total_amount_cents=None,
        extra="kept",
    )
    assert event["event_id"] == "ev_fixed"
    data = event["data"]
    assert (data["charge"]["status"], data["charge"]["from_status"]) == ("failed", "succeeded")
    assert data["charge"]["amount_cents"] == 1000  # the rest of the charge stays
    assert data["line_items"] == [{"product_id": "pr_1", "quantity": 2}]
    assert data["extra"] == "kept"
    withdrawal = make_event("checkout.succeeded", checkout_type="withdrawal")["data"]
    assert (withdrawal["type"], withdrawal["charge"]["transaction_type"]) == ("withdrawal", "debit")


def test_make_event_overrides_are_copies() -> None:
    items = [{"product_id": "pr_1", "quantity": 1}]
    event = make_event("checkout.pending", line_items=items)
    event["data"]["line_items"][0]["quantity"] = 9
    assert items == [{"product_id": "pr_1", "quantity": 1}]


def test_make_event_refuses_unknown_types() -> None:
    with pytest.raises(ValueError, match=r"checkout\.payment_review\.created.*checkout\.pending"):
        make_event("checkout.payment_review.created")
    with pytest.raises(ValueError, match=r"checkout\.review\.declined"):
        make_event("checkout.completed")
