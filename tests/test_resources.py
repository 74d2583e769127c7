"""Every resource on both clients, against the fake server over loopback."""

from __future__ import annotations

import datetime as dt

import pytest

from soap_async import (
    AsyncSoapClient,
    AuthenticationError,
    ChargeStatus,
    CreateCheckoutRequest,
    EmailTakenError,
    InvalidRequestError,
    LineItem,
    SoapClient,
    TransactionType,
    UnprocessableEntityError,
    UpdateCustomerRequest,
)
from soap_async.testing import FakeSoapServer, Fault

from .conftest import API_KEY
from .helpers import FakeClock

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


def client_for(server: FakeSoapServer) -> AsyncSoapClient:
    return AsyncSoapClient(api_key=API_KEY, base_url=server.url, retry=FakeClock().policy())


# -- customers.update -----------------------------------------------------------------------


async def test_update_changes_only_the_given_fields(server: FakeSoapServer) -> None:
    async with client_for(server) as soap:
        ada = await soap.customers.create(**ADA, internal_id="u1")
        updated = await soap.customers.update(ada.id, last_name="King", phone_number="800.800.1234")
        again = await soap.customers.update(ada.id, UpdateCustomerRequest(first_name="Augusta"))
    assert server.requests[1].method == "PATCH"
    assert server.requests[1].path == f"/api/v1/customers/{ada.id}"
    assert server.requests[1].json == {"last_name": "King", "phone_number": "8008001234"}
    assert (updated.last_name, updated.first_name, updated.internal_id) == ("King", "Ada", "u1")
    assert updated.updated_at is not None
    assert updated.updated_at.tzinfo is not None
    assert again.first_name == "Augusta"


async def test_update_refusals(server: FakeSoapServer) -> None:
    async with client_for(server) as soap:
        ada = await soap.customers.create(**ADA)
        grace = await soap.customers.create(**{**ADA, "email": "grace@example.com"})
        with pytest.raises(InvalidRequestError, match="at least one of"):
            await soap.customers.update(ada.id)
        with pytest.raises(InvalidRequestError, match="starting with 'cus_'"):
            await soap.customers.update("ch_123", first_name="X")
        with pytest.raises(TypeError, match="internal_id"):  # not even in the signature
            await soap.customers.update(ada.id, **{"internal_id": "u2"})  # type: ignore[arg-type]
        with pytest.raises(EmailTakenError):
            await soap.customers.update(grace.id, email="ADA@example.com")
        with pytest.raises(UnprocessableEntityError, match="Customer not found"):
            await soap.customers.update("cus_doesnotexist", first_name="X")


# -- checkouts -----------------------------------------------------------------------------


async def test_every_checkout_flow(server: FakeSoapServer) -> None:
    coins = LineItem.inline("Gold Coins", price_cents=999, quantity=2, sku="gold", dedup=True)
    async with client_for(server) as soap:
        cus = (await soap.customers.create(**ADA)).id
        flows = [
            CreateCheckoutRequest.deposit(cus, experience="web", return_url="https://x.example/r"),
            CreateCheckoutRequest.preset_deposit(cus, 5_000),
            CreateCheckoutRequest.purchase(cus, [coins, LineItem.inline("Tax", 80, sku="tax")]),
            CreateCheckoutRequest.purchase(cus, [LineItem.product("pr_123")]),
            CreateCheckoutRequest.subscription(cus, [coins], "month", 1),
            CreateCheckoutRequest.balance_withdrawal(cus, 25_000),
            CreateCheckoutRequest.preset_withdrawal(cus, 10_000),
        ]
        checkouts = [await soap.checkouts.create(flow) for flow in flows]
        by_keyword = await soap.checkouts.create(customer_id=cus, type="deposit")
    assert [c.type for c in checkouts] == ["deposit"] * 5 + ["withdrawal"] * 2
    assert all(c.id.startswith("chk_") and c.client_secret in c.url for c in checkouts)
    assert checkouts[0].experience == "web"
    assert checkouts[2].line_items_total_amount_cents == 2 * 999 + 80
    assert checkouts[4].subscription == {"interval": "month", "interval_count": 1}
    assert checkouts[5].balance_amount_cents == 25_000
    assert by_keyword.type == "deposit"
    assert len(server.checkouts) == 8
    assert checkouts[0].client_secret not in repr(checkouts[0])


async def test_checkout_for_an_unknown_customer(server: FakeSoapServer) -> None:
    async with client_for(server) as soap:
        with pytest.raises(UnprocessableEntityError, match="Customer not found"):
            await soap.checkouts.create(CreateCheckoutRequest.deposit("cus_nobody"))


# -- charges -------------------------------------------------------------------------------


async def test_retrieve_a_card_charge(server: FakeSoapServer) -> None:
    stored = server.add_charge(status="failed", failure_code="card_declined")
    async with client_for(server) as soap:
        charge = await soap.charges.retrieve(stored["id"])
    assert charge.id == stored["id"]
    assert charge.status is ChargeStatus.FAILED
    assert charge.failure_code == "card_declined"
    assert charge.transaction_type is TransactionType.CREDIT
    assert charge.amount_cents == stored["amount_cents"]
    assert charge.payment_method is not None
    assert charge.payment_method.card is not None
    assert charge.payment_method.card.last_four == stored["payment_method"]["card"]["last_four"]
    assert charge.threeds is not None
    assert charge.threeds.liability_shifted == stored["threeds"]["liability_shifted"]
    assert charge.created_at.tzinfo is not None


async def test_a_missing_charge_says_so(server: FakeSoapServer) -> None:
    async with client_for(server) as soap:
        with pytest.raises(UnprocessableEntityError) as info:
            await soap.charges.retrieve("ch_missing")
    assert "No charge ch_missing for this account" in str(info.value)
    assert "another merchant" in str(info.value)
    assert info.value.status_code == 422
    assert len(server.requests) == 1  # a 422 is not retried


# -- KYC -----------------------------------------------------------------------------------


async def test_kyc_upsert_creates_then_replaces(server: FakeSoapServer) -> None:
    async with client_for(server) as soap:
        cus = (await soap.customers.create(**ADA)).id
        first = await soap.kyc.upsert(customer_id=cus, **KYC, last_four_ssn="1234")
        second = await soap.kyc.upsert(customer_id=cus, **{**KYC, "verified": False})
    assert first.id.startswith("id_")
    assert second.id == first.id
    assert first.date_of_birth == dt.date(1990, 1, 31)
    assert (first.country, first.state, first.verified) == ("USA", "NY", True)
    assert second.verified is False
    assert server.kyc_identities[cus]["verified"] is False
    assert "1234" not in repr(first)


# -- device pings --------------------------------------------------------------------------


async def test_latest_geo_check_or_none(server: FakeSoapServer) -> None:
    async with client_for(server) as soap:
        cus = (await soap.customers.create(**ADA)).id
        assert await soap.device_pings.latest_geo_check(cus) is None
        ping = await soap.device_pings.create(
            cus, latitude=40.7, longitude=-74.0, client_secret="secr_test"
        )
        check = await soap.device_pings.latest_geo_check(cus)
    assert ping.id.startswith("dp_")
    assert check is not None
    assert check.id == ping.geo_check.id  # type: ignore[union-attr]
    assert check.passed is ping.geo_check.passed  # type: ignore[union-attr]
    assert check.checked_at is not None
    ping_request = next(r for r in server.requests if r.path == "/api/v1/device_pings")
    assert ping_request.headers["Authorization"] == "secr_test"  # the client secret, raw


async def test_device_pings_need_the_client_secret(server: FakeSoapServer) -> None:
    async with client_for(server) as soap:
        cus = (await soap.customers.create(**ADA)).id
        with pytest.raises(AuthenticationError):
            await soap.device_pings.create(cus, latitude=1, longitude=2, client_secret=API_KEY)
        with pytest.raises(InvalidRequestError, match="latitude must be between -90 and 90"):
            await soap.device_pings.create(cus, latitude=91, longitude=2, client_secret="s")


# -- the sync client has every method ----------------------------------------------------


def test_sync_client_covers_every_resource(threaded_server: FakeSoapServer) -> None:
    threaded_server.inject(Fault.status(503))  # and retries work through each of them
    charge = threaded_server.add_charge()
    with SoapClient(
        api_key=API_KEY, base_url=threaded_server.url, retry=FakeClock().policy()
    ) as soap:
        cus = soap.customers.create(**ADA).id
        assert soap.customers.search(email=ADA["email"])[0].id == cus
        assert soap.customers.update(cus, first_name="Augusta").first_name == "Augusta"
        assert soap.checkouts.create(CreateCheckoutRequest.deposit(cus)).type == "deposit"
        assert soap.charges.retrieve(charge["id"]).id == charge["id"]
        assert soap.kyc.upsert(customer_id=cus, **KYC).id.startswith("id_")
        assert soap.device_pings.latest_geo_check(cus) is None
