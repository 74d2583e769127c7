"""Contract: everything the SDK sends, and every answer it reads, matches the OpenAPI spec.

Each test drives the SDK (both clients) through every operation, success and error
paths, against the fake server, then validates the recorded traffic with openapi-core.
So the SDK, the fake server and the spec cannot drift apart unnoticed.
"""

from __future__ import annotations

import pytest

from soap_async import (
    AsyncSoapClient,
    CreateCheckoutRequest,
    LineItem,
    SoapClient,
    SoapError,
    UpdateCustomerRequest,
)
from soap_async.testing import FakeSoapServer, Fault, make_event
from soap_async.webhooks import parse_event

from .conftest import API_KEY
from .contract import assert_event_matches_spec, assert_matches_spec
from .helpers import FakeClock

SECRET = "secr_test"
ADA = {"email": "ada@example.com", "first_name": "Ada", "last_name": "Lovelace"}
KYC = {
    "first_name": "Ada",
    "last_name": "Lovelace",
    "date_of_birth": "1990-01-31",
    "address_line_1": "1 Main St",
    "city": "Springfield",
    "state": "NY",
    "postal_code": "10001",
    "provider": "plaid",
    "verified": True,
}


@pytest.mark.parametrize("auth_scheme", ["bearer", "raw"])
async def test_async_client_traffic_matches_the_spec(
    server: FakeSoapServer, auth_scheme: str
) -> None:
    charge = server.add_charge()
    server.inject(Fault.drop_after(), path="/api/v1/customers")  # exercise the recovery path
    async with AsyncSoapClient(
        api_key=API_KEY, base_url=server.url, auth_scheme=auth_scheme, retry=FakeClock().policy()
    ) as soap:
        cus = (
            await soap.customers.create(
                **ADA, phone_number="8008001234", date_of_birth="1990-01-31", internal_id="u1"
            )
        ).id
        await soap.customers.search(email=ADA["email"])
        await soap.customers.search(phone_number="(800) 800-1234")
        await soap.customers.search(email=ADA["email"], phone_number="8008001234")
        await soap.customers.update(cus, UpdateCustomerRequest(last_name="King"))
        await soap.customers.get_or_create(**{**ADA, "email": "grace@example.com"})
        await soap.customers.create_many([{**ADA, "email": f"b{n}@example.com"} for n in range(3)])
        coins = LineItem.inline(
            "Coins", price_cents=999, sku="coins", dedup=True, url="https://x.example/c.png"
        )
        for request in (
            CreateCheckoutRequest.deposit(
                cus, experience="webview", return_url="https://x.example"
            ),
            CreateCheckoutRequest.preset_deposit(cus, 1_000),
            CreateCheckoutRequest.purchase(cus, [coins, LineItem.product("pr_abc", 2)]),
            CreateCheckoutRequest.subscription(cus, [coins], "year", 2),
            CreateCheckoutRequest.balance_withdrawal(cus, 9_000),
            CreateCheckoutRequest.preset_withdrawal(cus, 1_000),
        ):
            await soap.checkouts.create(request)
        await soap.charges.retrieve(charge["id"])
        await soap.kyc.upsert(
            customer_id=cus,
            **KYC,
            address_line_2="Apt 2",
            email="ada@example.com",
            phone_number="8008001234",
            last_four_ssn="1234",
        )
        await soap.device_pings.latest_geo_check(cus)
        await soap.device_pings.create(cus, latitude=40.7, longitude=-74, client_secret=SECRET)
        await soap.device_pings.latest_geo_check(cus)
        # Error paths: the answers must have the documented error shape too.
        for failing in (
            soap.customers.create(**ADA),  # 422 email taken
            soap.customers.update("cus_unknown", first_name="X"),
            soap.checkouts.create(CreateCheckoutRequest.deposit("cus_unknown")),
            soap.charges.retrieve("ch_unknown"),
        ):
            with pytest.raises(SoapError):
                await failing
    async with AsyncSoapClient(api_key="key_wrong", base_url=server.url) as wrong:
        with pytest.raises(SoapError):
            await wrong.customers.search(email=ADA["email"])

    assert len(server.requests) > 25
    assert_matches_spec(server.requests, api_key=API_KEY, client_secret=SECRET)


def test_sync_client_traffic_matches_the_spec(threaded_server: FakeSoapServer) -> None:
    charge = threaded_server.add_charge(status="held", transaction_type="debit")
    with SoapClient(api_key=API_KEY, base_url=threaded_server.url) as soap:
        cus = soap.customers.create(**ADA).id
        soap.customers.update(cus, email="ada.king@example.com")
        soap.checkouts.create(CreateCheckoutRequest.preset_withdrawal(cus, 500))
        soap.charges.retrieve(charge["id"])
        soap.kyc.upsert(customer_id=cus, **KYC)
        soap.device_pings.latest_geo_check(cus)
        list(soap.customers.iter_create_many([{**ADA, "email": "it@example.com"}]))
    assert_matches_spec(threaded_server.requests, api_key=API_KEY, client_secret=SECRET)


def test_events_the_sdk_parses_match_the_spec() -> None:
    from soap_async.testing import EVENT_TYPES

    for event_type in EVENT_TYPES:
        event = make_event(event_type)
        assert_event_matches_spec(event)
        assert parse_event(event).type == event_type
