"""Charge models: a payment's status, amount, payment method and card checks."""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

import attrs

__all__ = [
    "Card",
    "Charge",
    "ChargeCustomer",
    "ChargeStatus",
    "PaymentMethod",
    "ThreeDSecure",
    "TransactionType",
]


class ChargeStatus(str, enum.Enum):
    """The statuses Soap documents for a charge.

    `Charge.status` is a `ChargeStatus` when Soap sends one of these, and the plain
    string otherwise, so a status added later never breaks parsing. Either way it
    compares equal to the string: `charge.status == "succeeded"`.
    """

    CREATED = "created"
    PENDING = "pending"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    HELD = "held"
    VOIDED = "voided"
    RETURNED = "returned"
    REFUNDED = "refunded"
    CANCELLED = "cancelled"

    def __str__(self) -> str:
        return self.value


class TransactionType(str, enum.Enum):
    """`credit`: a deposit, money in; `debit`: a withdrawal, money out.

    Open like `ChargeStatus`: an unknown value stays a plain string.
    """

    CREDIT = "credit"
    DEBIT = "debit"

    def __str__(self) -> str:
        return self.value


@attrs.frozen(kw_only=True)
class Card:
    """Card details of a payment method."""

    last_four: str | None = None
    card_brand: str | None = None
    card_expiration_month: int | None = None
    card_expiration_year: int | None = None
    card_issuer_country: str | None = None
    name_on_card: str | None = None
    card_type: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    zip: str | None = None
    google_pay: bool | None = None
    apple_pay: bool | None = None
    bin: str | None = None


@attrs.frozen(kw_only=True)
class PaymentMethod:
    """How the customer paid: `card`, `bank_account` or `crypto_wallet` matches `payment_type`.

    Soap documents the card's fields only; bank account and crypto wallet details are
    kept as the dicts Soap sends.
    """

    id: str
    payment_type: str
    created_at: dt.datetime | None = None
    updated_at: dt.datetime | None = None
    saved: bool | None = None
    fingerprint: str | None = None
    card: Card | None = None
    bank_account: dict[str, Any] | None = None
    crypto_wallet: dict[str, Any] | None = None


@attrs.frozen(kw_only=True)
class ThreeDSecure:
    """The 3-D Secure result of a card charge."""

    eci: str | None = None
    version: str | None = None
    liability_shifted: bool | None = None
    failure_reason: str | None = None
    status: str | None = None


@attrs.frozen(kw_only=True)
class ChargeCustomer:
    """The customer a charge belongs to."""

    id: str
    first_name: str | None = None
    last_name: str | None = None


@attrs.frozen(kw_only=True)
class Charge:
    """A charge: money moved for a checkout. Amounts are integer cents.

    `failure_code` and `failure_message` are set when the charge failed. Card charges
    also carry `avs_result`, `cvv_result`, `network_authorization_code`,
    `processor_charge_id` and, when 3-D Secure ran, `threeds`.
    """

    id: str
    amount_cents: int
    transaction_type: TransactionType | str
    currency: str
    status: ChargeStatus | str
    created_at: dt.datetime
    updated_at: dt.datetime
    failure_code: str | None = None
    failure_message: str | None = None
    customer: ChargeCustomer | None = None
    payment_method: PaymentMethod | None = None
    avs_result: str | None = None
    cvv_result: str | None = None
    network_authorization_code: str | None = None
    processor_charge_id: str | None = None
    threeds: ThreeDSecure | None = None
