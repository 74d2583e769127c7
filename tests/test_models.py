"""Request models of checkouts, KYC and customer updates: shapes Soap would refuse fail early."""

from __future__ import annotations

import datetime as dt

import pytest

from soap_async import (
    Charge,
    ChargeStatus,
    CreateCheckoutRequest,
    InvalidRequestError,
    KycUpsertRequest,
    LineItem,
    SubscriptionData,
    TransactionType,
    UpdateCustomerRequest,
)
from soap_async._convert import structure_response, unstructure_request

CUS = "cus_A3GuXEbThpqk2t6UTxEuoceVJyUEAX7V"
COINS = LineItem.inline("Gold Coins Pack", price_cents=999, sku="gold-1000", dedup=True)


# -- checkouts: every flow of the docs, as its named constructor builds it ---------------


@pytest.mark.parametrize(
    ("request_", "body"),
    [
        (
            CreateCheckoutRequest.deposit(CUS, experience="web", return_url="https://x.example/w"),
            {
                "customer_id": CUS,
                "type": "deposit",
                "experience": "web",
                "return_url": "https://x.example/w",
            },
        ),
        (
            CreateCheckoutRequest.preset_deposit(CUS, 10_000),
            {"customer_id": CUS, "type": "deposit", "fixed_amount_cents": 10_000},
        ),
        (
            CreateCheckoutRequest.purchase(CUS, [COINS]),
            {
                "customer_id": CUS,
                "type": "deposit",
                "line_items": [
                    {
                        "quantity": 1,
                        "name": "Gold Coins Pack",
                        "price_cents": 999,
                        "sku": "gold-1000",
                        "dedup": True,
                    }
                ],
            },
        ),
        (
            CreateCheckoutRequest.purchase(
                CUS,
                [
                    LineItem.product("pr_123abc", quantity=2),
                    LineItem.inline("Shipping", price_cents=500, sku="shipping"),
                    LineItem.inline("Tax", price_cents=120, sku="tax"),
                ],
                experience="webview",
            ),
            {
                "customer_id": CUS,
                "type": "deposit",
                "experience": "webview",
                "line_items": [
                    {"quantity": 2, "product_id": "pr_123abc"},
                    {"quantity": 1, "name": "Shipping", "price_cents": 500, "sku": "shipping"},
                    {"quantity": 1, "name": "Tax", "price_cents": 120, "sku": "tax"},
                ],
            },
        ),
        (
            CreateCheckoutRequest.subscription(CUS, [COINS], "month"),
            {
                "customer_id": CUS,
                "type": "deposit",
                "line_items": [
                    {
                        "quantity": 1,
                        "name": "Gold Coins Pack",
                        "price_cents": 999,
                        "sku": "gold-1000",
                        "dedup": True,
                    }
                ],
                "subscription_data": {"interval": "month", "interval_count": 1},
            },
        ),
        (
            CreateCheckoutRequest.balance_withdrawal(CUS, 25_000),
            {"customer_id": CUS, "type": "withdrawal", "balance_amount_cents": 25_000},
        ),
        (
            CreateCheckoutRequest.preset_withdrawal(CUS, 10_000),
            {"customer_id": CUS, "type": "withdrawal", "fixed_amount_cents": 10_000},
        ),
    ],
)
def test_each_flow_builds_the_documented_body(
    request_: CreateCheckoutRequest, body: dict[str, object]
) -> None:
    assert unstructure_request(request_) == body


@pytest.mark.parametrize(
    ("build", "field", "message"),
    [
        (
            lambda: LineItem.inline("Coins", price_cents=999, dedup=True),
            "sku",
            "sku is required when dedup is true",
        ),
        (lambda: LineItem(quantity=1), "name", "needs product_id, or name and price_cents"),
        (lambda: LineItem(quantity=1, product_id="pr_1", name="x"), "product_id", "not both"),
        (lambda: LineItem.product("prod_1"), "product_id", "starting with 'pr_'"),
        (lambda: LineItem.inline("Coins", price_cents=0), "price_cents", ">= 1"),
        (lambda: LineItem.inline("Coins", price_cents=9.99), "price_cents", "must be an integer"),
        (lambda: LineItem.inline("Coins", price_cents=999, quantity=0), "quantity", ">= 1"),
        (lambda: SubscriptionData(interval="fortnight"), "interval", "day, week, month, year"),
        (lambda: CreateCheckoutRequest.deposit("ch_123"), "customer_id", "'cus_'"),
        (
            lambda: CreateCheckoutRequest(customer_id=CUS, type="refund"),
            "type",
            "deposit, withdrawal",
        ),
        (
            lambda: CreateCheckoutRequest(customer_id=CUS, type="withdrawal", line_items=[COINS]),
            "line_items",
            "not used by withdrawals",
        ),
        (
            lambda: CreateCheckoutRequest(
                customer_id=CUS, type="deposit", subscription_data=SubscriptionData(interval="week")
            ),
            "subscription_data",
            "needs line_items",
        ),
        (
            lambda: CreateCheckoutRequest(
                customer_id=CUS, type="deposit", line_items=[COINS], fixed_amount_cents=100
            ),
            "fixed_amount_cents",
            "cannot be combined with line_items",
        ),
        (
            lambda: CreateCheckoutRequest(
                customer_id=CUS, type="deposit", balance_amount_cents=100
            ),
            "balance_amount_cents",
            "only used by withdrawals",
        ),
        (lambda: CreateCheckoutRequest.purchase(CUS, []), "line_items", "must not be empty"),
        (
            lambda: CreateCheckoutRequest.deposit(CUS, experience="app"),
            "experience",
            "web, webview",
        ),
        (lambda: CreateCheckoutRequest.preset_deposit(CUS, -5), "fixed_amount_cents", ">= 1"),
    ],
)
def test_shapes_soap_rejects_are_refused(build: object, field: str, message: str) -> None:
    with pytest.raises(InvalidRequestError, match=message) as info:
        build()  # type: ignore[operator]
    assert info.value.field == field


# -- KYC -----------------------------------------------------------------------------------

KYC = {
    "customer_id": CUS,
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


def test_kyc_body_with_defaults_and_normalised_phone() -> None:
    request = KycUpsertRequest(**KYC, phone_number="(800) 800-1234", last_four_ssn="1234")
    body = unstructure_request(request)
    assert body == {**KYC, "country": "USA", "phone_number": "8008001234", "last_four_ssn": "1234"}
    assert "1234" not in repr(request).replace("8008001234", "")


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("state", "ny", "two upper-case letters"),
        ("state", "NYC", "two upper-case letters"),
        ("country", "US", "three upper-case letters"),
        ("last_four_ssn", "12345", "exactly four digits"),
        ("last_four_ssn", "12a4", "exactly four digits"),
        ("verified", "true", "must be True or False"),
        ("verified", 1, "must be True or False"),
        ("city", "", "must not be empty"),
        ("email", "nope", "must be an email address"),
        ("date_of_birth", "2999-01-01", "must not be in the future"),
        ("customer_id", "id_123", "'cus_'"),
    ],
)
def test_kyc_format_rules(field: str, value: object, message: str) -> None:
    with pytest.raises(InvalidRequestError, match=message) as info:
        KycUpsertRequest(**{**KYC, field: value})  # type: ignore[arg-type]
    assert info.value.field == field


# -- customer updates ---------------------------------------------------------------------


def test_update_sends_only_what_is_given() -> None:
    request = UpdateCustomerRequest(
        phone_number="+1 800 800 1234", date_of_birth=dt.date(1990, 1, 2)
    )
    assert unstructure_request(request) == {
        "phone_number": "8008001234",
        "date_of_birth": "1990-01-02",
    }


def test_update_needs_a_field() -> None:
    with pytest.raises(InvalidRequestError, match="at least one of email"):
        UpdateCustomerRequest()


# -- charges: open enums --------------------------------------------------------------------

CHARGE = {
    "id": "ch_1",
    "amount_cents": 2500,
    "transaction_type": "credit",
    "currency": "USD",
    "status": "succeeded",
    "created_at": "2025-03-10T16:08:14.427Z",
    "updated_at": "2025-03-10T16:09:00.000Z",
}


def test_charge_status_is_an_open_enum() -> None:
    known = structure_response(CHARGE, Charge)
    assert known.status is ChargeStatus.SUCCEEDED
    assert known.status == "succeeded"
    assert known.transaction_type is TransactionType.CREDIT
    new = structure_response({**CHARGE, "status": "disputed", "transaction_type": "swap"}, Charge)
    assert new.status == "disputed"
    assert not isinstance(new.status, ChargeStatus)
    assert new.transaction_type == "swap"
