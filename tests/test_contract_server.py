"""The fake Soap server against the contract, tests/spec/soap-openapi.yaml.

Every operation is driven with raw aiohttp (valid bodies, invalid ones and each error
path), then the recorded traffic is checked with tests.contract. The last tests make
sure the checker itself can fail.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import yaml
from aiohttp import web

from soap_async.testing import EVENT_TYPES, FakeSoapServer, Fault, RecordedRequest, make_event

from .contract import SPEC_PATH, assert_event_matches_spec, assert_matches_spec

API_KEY = "key_contract"
CLIENT_SECRET = "secr_contract"
BEARER = f"Bearer {API_KEY}"
SHARED_SPEC = Path(__file__).resolve().parents[1].parent / "shared" / "api" / "soap-openapi.yaml"
JANE = {"email": "jane@example.com", "first_name": "Jane", "last_name": "Doe"}
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
UNKNOWN_CUSTOMER = "cus_doesnotexist"


def test_spec_copy_is_verbatim() -> None:
    if not SHARED_SPEC.exists():
        pytest.skip(f"{SHARED_SPEC} is not there (a clean clone)")
    assert SPEC_PATH.read_bytes() == SHARED_SPEC.read_bytes(), (
        f"{SPEC_PATH} drifted from {SHARED_SPEC}: copy it again"
    )


# --------------------------------------------------------------------------- driving


@dataclasses.dataclass
class Client:
    """Raw HTTP to the fake: (status, parsed JSON body)."""

    session: aiohttp.ClientSession
    server: FakeSoapServer
    emails: Iterator[int] = dataclasses.field(default_factory=itertools.count)

    async def __call__(
        self, method: str, path: str, *, auth: str | None = BEARER, **kwargs: Any
    ) -> tuple[int, Any]:
        headers = {} if auth is None else {"Authorization": auth}
        async with self.session.request(
            method, self.server.url + path, headers=headers, **kwargs
        ) as response:
            return response.status, await response.json()

    async def customer(self, **fields: Any) -> dict[str, Any]:
        """A new customer with a fresh email, unless told otherwise."""
        email = f"user{next(self.emails)}@example.com"
        body = {**JANE, "email": email, **fields}
        status, body = await self("POST", "/api/v1/customers", json=body)
        assert status == 200, body
        return dict(body)


@pytest.fixture
async def server() -> AsyncIterator[FakeSoapServer]:
    async with FakeSoapServer(api_key=API_KEY, client_secret=CLIENT_SECRET) as fake:
        yield fake


@pytest.fixture
async def client(server: FakeSoapServer) -> AsyncIterator[Client]:
    async with aiohttp.ClientSession() as session:
        yield Client(session, server)


async def customers(client: Client) -> None:
    path = "/api/v1/customers"
    full = {
        **JANE,
        "phone_number": "5551234567",
        "date_of_birth": "1990-01-31",
        "internal_id": "u-1",
    }
    assert (await client("POST", path, json=full))[0] == 200
    assert (await client("POST", path, json={**JANE, "email": "raw@example.com"}, auth=API_KEY))[
        0
    ] == 200
    for body in (
        full,  # email taken
        {**JANE, "email": "nope"},
        {**JANE, "nickname": "JD"},
        {"first_name": "Jane", "last_name": "Doe"},
        {**JANE, "phone_number": "+15551234567"},
        {**JANE, "date_of_birth": "1990-02-30"},
        [JANE],
    ):
        assert (await client("POST", path, json=body))[0] == 422
    assert (await client("POST", path, data=b"{not json"))[0] == 422
    for auth in (None, "key_wrong", "Bearer key_wrong", CLIENT_SECRET):
        assert (await client("POST", path, json=JANE, auth=auth))[0] == 401

    search = "/api/v1/customers/search"
    assert (await client("GET", search, params={"email": "JANE@example.com"}))[0] == 200
    assert (await client("GET", search, params={"phone_number": "+1 555-123-4567"}))[0] == 200
    assert (await client("GET", search, params={"email": "nobody@example.com"}))[0] == 200
    assert (await client("GET", search))[0] == 422
    assert (await client("GET", search, params={"phone_number": "123"}))[0] == 422
    assert (await client("GET", search, params={"email": "x@y.z"}, auth=None))[0] == 401


async def customer_updates(client: Client) -> None:
    jane = await client.customer()
    await client.customer(email="john@example.com")
    path = f"/api/v1/customers/{jane['id']}"
    assert (await client("PATCH", path, json={"first_name": "Janet"}))[0] == 200
    every_field = {
        "first_name": "Janet",
        "last_name": "Smith",
        "email": "janet@example.com",
        "phone_number": "5550001111",
        "date_of_birth": "1991-02-28",
    }
    assert (await client("PATCH", path, json=every_field))[0] == 200
    for body in (
        {},
        {"internal_id": "x"},
        {"nickname": "J"},
        {"email": "john@example.com"},
        {"email": "bad"},
        {"first_name": ""},
        {"phone_number": "15550001111"},
        {"date_of_birth": "yesterday"},
        ["first_name"],
    ):
        assert (await client("PATCH", path, json=body))[0] == 422
    for unknown in ("/api/v1/customers/cus_nobody", "/api/v1/customers/nobody"):
        assert (await client("PATCH", unknown, json={"first_name": "X"}))[0] == 422
    assert (await client("PATCH", path, json={"first_name": "X"}, auth=None))[0] == 401


async def checkouts(client: Client) -> None:
    cus = (await client.customer())["id"]
    path = "/api/v1/checkouts"
    inline = {"name": "Gold Coins Pack", "price_cents": 999, "quantity": 2}
    valid = [
        {"customer_id": cus, "type": "deposit"},
        {"customer_id": cus, "type": "deposit", "experience": "web", "return_url": "https://x.io"},
        {"customer_id": cus, "type": "deposit", "fixed_amount_cents": 10000},
        {
            "customer_id": cus,
            "type": "deposit",
            "line_items": [{**inline, "sku": "g", "dedup": True}],
        },
        {
            "customer_id": cus,
            "type": "deposit",
            "line_items": [{"product_id": "pr_1", "quantity": 1}],
        },
        {
            "customer_id": cus,
            "type": "deposit",
            "line_items": [{**inline, "url": "https://x.io/a.png"}, {**inline, "sku": "tax"}],
            "subscription_data": {"interval": "month", "interval_count": 1},
            "experience": "webview",
        },
        {"customer_id": cus, "type": "withdrawal", "balance_amount_cents": 10000},
        {"customer_id": cus, "type": "withdrawal", "fixed_amount_cents": 10000},
    ]
    for body in valid:
        status, answer = await client("POST", path, json=body)
        assert status == 200, answer
    invalid = [
        {"customer_id": UNKNOWN_CUSTOMER, "type": "deposit"},
        {"customer_id": cus},
        {"customer_id": cus, "type": "refund"},
        {"customer_id": cus, "type": "deposit", "fixed_amount_cents": 10.5},
        {"customer_id": cus, "type": "deposit", "fixed_amount_cents": "100"},
        {"customer_id": cus, "type": "deposit", "balance_amount_cents": 0},
        {"customer_id": cus, "type": "deposit", "experience": "app"},
        {"customer_id": cus, "type": "deposit", "coupon": "X"},
        {"customer_id": cus, "type": "withdrawal", "line_items": [inline]},
        {"customer_id": cus, "type": "deposit", "line_items": [{**inline, "dedup": True}]},
        {"customer_id": cus, "type": "deposit", "line_items": [{**inline, "quantity": 0}]},
        {"customer_id": cus, "type": "deposit", "line_items": [{"product_id": "x", "quantity": 1}]},
        {"customer_id": cus, "type": "deposit", "line_items": [{**inline, "product_id": "pr_1"}]},
        {"customer_id": cus, "type": "deposit", "line_items": "all"},
        {"customer_id": cus, "type": "deposit", "subscription_data": {"interval": "month"}},
        {
            "customer_id": cus,
            "type": "deposit",
            "line_items": [inline],
            "subscription_data": {"interval": "fortnight", "interval_count": 1},
        },
    ]
    for body in invalid:
        status, answer = await client("POST", path, json=body)
        assert status == 422, (body, answer)
    assert (await client("POST", path, json=valid[0], auth=CLIENT_SECRET))[0] == 401


async def charges(client: Client) -> None:
    charge = client.server.add_charge()
    withdrawal = client.server.add_charge(
        transaction_type="debit",
        status="failed",
        failure_code="insufficient_funds",
        failure_message="Insufficient funds",
        payment_method={"payment_type": "bank_account", "bank_account": {"last_four": "6789"}},
    )
    without_3ds = client.server.add_charge(threeds=None, amount_cents=5)
    for seeded in (charge, withdrawal, without_3ds):
        assert await client("GET", f"/api/v1/charges/{seeded['id']}") == (200, seeded)
    assert (await client("GET", "/api/v1/charges/ch_missing"))[0] == 422
    assert (await client("GET", "/api/v1/charges/missing"))[0] == 422
    assert (await client("GET", f"/api/v1/charges/{charge['id']}", auth=None))[0] == 401


async def kyc(client: Client) -> None:
    cus = (await client.customer())["id"]
    path = "/api/v1/kyc/upsert"
    assert (await client("POST", path, json={**KYC, "customer_id": cus}))[0] == 200
    full = {
        **KYC,
        "customer_id": cus,
        "address_line_2": "Apt 4",
        "email": "jane@example.com",
        "phone_number": "5551234567",
        "last_four_ssn": "1234",
        "verified": False,
    }
    assert (await client("POST", path, json=full))[0] == 200
    assert (await client("POST", path, json={**full, "address_line_2": None}))[0] == 200
    without_state = {key: value for key, value in full.items() if key != "state"}
    for body in (
        {**KYC, "customer_id": UNKNOWN_CUSTOMER},
        {**full, "state": "Illinois"},
        {**full, "country": "US"},
        {**full, "last_four_ssn": "12345"},
        {**full, "verified": "yes"},
        {**full, "first_name": ""},
        {**full, "date_of_birth": "31/01/1990"},
        {**full, "ssn": "123456789"},
        without_state,
    ):
        assert (await client("POST", path, json=body))[0] == 422
    assert (await client("POST", path, json=full, auth=None))[0] == 401


async def device_pings(client: Client) -> None:
    cus = (await client.customer())["id"]
    latest = "/api/v1/device_pings/latest_geo_check"
    assert await client("GET", latest, params={"customer_id": cus}) == (200, None)
    path = "/api/v1/device_pings"
    ping = {"latitude": 40.7, "longitude": -74, "customer_id": cus}
    assert (await client("POST", path, json=ping, auth=CLIENT_SECRET))[0] == 200
    abroad = {**ping, "latitude": 51.5, "longitude": -0.12}
    assert (await client("POST", path, json=abroad, auth=f"Bearer {CLIENT_SECRET}"))[0] == 200
    for body in (
        {**ping, "customer_id": UNKNOWN_CUSTOMER},
        {**ping, "latitude": "40.7"},
        {"longitude": 1, "customer_id": cus},
        {**ping, "altitude": 10},
    ):
        assert (await client("POST", path, json=body, auth=CLIENT_SECRET))[0] == 422
    for auth in (BEARER, API_KEY, None):
        assert (await client("POST", path, json=ping, auth=auth))[0] == 401
    status, check = await client("GET", latest, params={"customer_id": cus})
    assert (status, check["passed"]) == (200, False)
    assert (await client("GET", latest))[0] == 422
    assert (await client("GET", latest, params={"customer_id": cus}, auth=CLIENT_SECRET))[0] == 401


async def unknown_routes(client: Client) -> None:
    assert (await client("GET", "/api/v1/nothing"))[0] == 404
    assert (await client("GET", "/api/v1/customers"))[0] == 404
    assert (await client("DELETE", "/api/v1/charges/ch_1", auth=None))[0] == 404


async def faults(client: Client) -> None:
    client.server.inject(Fault.status(503), path="/api/v1/customers")
    assert (await client("POST", "/api/v1/customers", json=JANE))[0] == 503
    client.server.inject(Fault.drop_after(), path="/api/v1/customers")
    with pytest.raises(aiohttp.ServerDisconnectedError):
        await client("POST", "/api/v1/customers", json=JANE)
    client.server.inject(Fault.delay(0.01), path="/api/v1/customers/search")
    assert (await client("GET", "/api/v1/customers/search", params={"email": "a@b.co"}))[0] == 200


Scenario = Callable[[Client], Awaitable[None]]
SCENARIOS: list[Scenario] = [
    customers,
    customer_updates,
    checkouts,
    charges,
    kyc,
    device_pings,
    unknown_routes,
    faults,
]


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda scenario: scenario.__name__)
async def test_traffic_matches_the_contract(
    server: FakeSoapServer, client: Client, scenario: Scenario
) -> None:
    await scenario(client)
    assert_matches_spec(server.requests, api_key=API_KEY, client_secret=CLIENT_SECRET)


async def test_every_operation_is_driven(server: FakeSoapServer, client: Client) -> None:
    for scenario in SCENARIOS:
        await scenario(client)
    document = yaml.safe_load(SPEC_PATH.read_text(encoding="utf-8"))
    operations = {
        (method.upper(), path)
        for path, item in document["paths"].items()
        for method in item
        if method in ("get", "post", "patch", "put", "delete")
    }
    served = {
        (r.method, _template(r.path, document["paths"]))
        for r in server.requests
        if r.status == 200 and r.fault is None
    }
    assert operations <= served, f"never answered 200: {sorted(operations - served)}"
    assert_matches_spec(server.requests, api_key=API_KEY, client_secret=CLIENT_SECRET)


def _template(path: str, templates: dict[str, Any]) -> str:
    if path in templates:
        return path
    for template in templates:
        head = template.split("{")[0]
        if "{" in template and path.startswith(head) and "/" not in path[len(head) :]:
            return template
    return path


# --------------------------------------------------------------------------- webhooks


@pytest.mark.parametrize("event_type", EVENT_TYPES)
def test_made_events_match_the_contract(event_type: str) -> None:
    server = FakeSoapServer()
    event = make_event(event_type)
    assert_event_matches_spec(event, signature=server.sign_webhook(b"{}"))


async def test_delivered_webhooks_match_the_contract() -> None:
    async def handler(request: web.Request) -> web.Response:
        return web.Response(status=200)

    app = web.Application()
    app.router.add_post("/hooks", handler)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        url = f"http://127.0.0.1:{runner.addresses[0][1]}/hooks"
        server = FakeSoapServer()
        for event_type in EVENT_TYPES:
            assert await server.deliver_webhook(url, make_event(event_type)) == 200
    finally:
        await runner.cleanup()
    for delivery in server.webhook_deliveries:
        assert_event_matches_spec(delivery.body, signature=delivery.signature)


# --------------------------------------------------------------------------- the checker


def exchange(**fields: Any) -> RecordedRequest:
    """A hand-made exchange: a valid customer creation, unless told otherwise."""
    answer = {
        "id": "cus_abc",
        "internal_id": None,
        "email": JANE["email"],
        "first_name": "Jane",
        "last_name": "Doe",
        "phone_number": None,
        "date_of_birth": None,
        "created_at": "2026-01-02T03:04:05.678Z",
    }
    defaults: dict[str, Any] = {
        "method": "POST",
        "path": "/api/v1/customers",
        "query": {},
        "headers": {"Authorization": BEARER, "Content-Type": "application/json"},
        "json": JANE,
        "fault": None,
        "status": 200,
        "response": answer,
    }
    return RecordedRequest(**{**defaults, **fields})


def test_a_valid_hand_made_exchange_passes() -> None:
    assert_matches_spec([exchange()], api_key=API_KEY, client_secret=CLIENT_SECRET)


@pytest.mark.parametrize(
    ("broken", "expected"),
    [
        pytest.param(
            exchange(response={**exchange().response, "created_at": "yesterday"}),
            r"answer breaks the contract: response body: at \$\.created_at: 'yesterday' is not",
            id="bad-answer-field",
        ),
        pytest.param(
            exchange(response={**exchange().response, "id": "c_1"}),
            r"at \$\.id: 'c_1' does not match '\^cus_'",
            id="bad-answer-id",
        ),
        pytest.param(
            exchange(response={"id": "cus_1"}),
            r"'email' is a required property",
            id="incomplete-answer",
        ),
        pytest.param(
            exchange(json={**JANE, "nickname": "JD"}),
            r"request breaks the contract \(request body: at \$: Additional properties.*"
            r"answered 200, not 401 or 422",
            id="off-contract-request-accepted",
        ),
        pytest.param(
            exchange(json={**JANE, "nickname": "JD"}, fault="drop_after", status=None),
            r"no refusal was recorded",
            id="off-contract-request-unanswered",
        ),
        pytest.param(
            exchange(status=422, response={"message": "bad"}),
            r"answer is not an Error: at \$: 'error' is a required property",
            id="error-without-error",
        ),
        pytest.param(
            exchange(status=500, response={"error": "boom"}),
            r"answer status 500 is neither 200 nor an error status",
            id="undeclared-status",
        ),
        pytest.param(
            exchange(method="GET", path="/api/v1/customers", json=None),
            r"Operation get not found.*answered 200, not 404",
            id="unknown-operation-answered",
        ),
        pytest.param(
            exchange(headers={}, status=200),
            r"Security not found.*answered 200, not 401",
            id="missing-credential-accepted",
        ),
        pytest.param(
            exchange(headers={"Authorization": "Bearer key_other"}),
            r"Authorization 'Bearer key_other' is not the BearerApiKey or RawApiKey credential",
            id="wrong-credential-accepted",
        ),
        pytest.param(
            exchange(status=401, response={"error": "Invalid API key"}),
            r"the right credential \(BearerApiKey or RawApiKey\) was refused with a 401",
            id="right-credential-refused",
        ),
        pytest.param(
            exchange(
                path="/api/v1/device_pings",
                json={"latitude": 1, "longitude": 2, "customer_id": "cus_1"},
                response={"id": "dp_1", "geo_check": {"id": "gc_1"}, "ip_check": None},
            ),
            r"is not the ClientSecret credential, yet answered 200",
            id="api-key-accepted-for-device-pings",
        ),
        pytest.param(
            exchange(
                method="GET",
                path="/api/v1/device_pings/latest_geo_check",
                query={"customer_id": "cus_1"},
                json=None,
                response=[],
            ),
            r"\[\] is not valid under any of the given schemas",
            id="geo-check-not-object-or-null",
        ),
    ],
)
def test_the_checker_fails_broken_exchanges(broken: RecordedRequest, expected: str) -> None:
    with pytest.raises(AssertionError, match=expected) as caught:
        assert_matches_spec([exchange(), broken], api_key=API_KEY, client_secret=CLIENT_SECRET)
    message = str(caught.value)
    # The message names the exchange: index, method, path and outcome.
    assert f"#1 {broken.method} {broken.path}" in message
    assert "#0 " not in message


def test_the_checker_skips_answers_of_faulted_exchanges() -> None:
    assert_matches_spec(
        [
            exchange(fault="status_503", status=503, response={"error": "Service Unavailable"}),
            exchange(fault="delay", response={"nonsense": True}),
            exchange(fault="drop_before", status=None, response=None),
        ]
    )


@pytest.mark.parametrize(
    ("event", "signature", "expected"),
    [
        (
            {**make_event("checkout.succeeded"), "event_id": "evt_1"},
            None,
            r"does not match '\^ev_'",
        ),
        (make_event("checkout.hold", charge={"amount_cents": "10"}), None, r"'10' is not of type"),
        (make_event("checkout.expired"), "sha256=abc", r"SOAP-WEBHOOK-SIGNATURE"),
        (make_event("checkout.review.created", review={"status": "open"}), None, r"'open' is not"),
    ],
)
def test_the_checker_fails_broken_events(
    event: dict[str, Any], signature: str | None, expected: str
) -> None:
    with pytest.raises(AssertionError, match=expected):
        assert_event_matches_spec(event, signature=signature)
