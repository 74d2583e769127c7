"""KYC models: identity data verified by your own KYC provider, synced to Soap."""

from __future__ import annotations

import datetime as dt

import attrs

from .._validation import (
    check_bool,
    check_email,
    check_id,
    check_pattern,
    check_text,
    normalize_phone,
    parse_date_of_birth,
)
from ._base import rule

__all__ = ["KycIdentity", "KycUpsertRequest"]


def _customer_id(field: str, value: object) -> str:
    return check_id(field, value, "cus_")


def _state(field: str, value: object) -> str:
    return check_pattern(field, value, r"[A-Z]{2}", "two upper-case letters (e.g. 'NY')")


def _country(field: str, value: object) -> str:
    return check_pattern(field, value, r"[A-Z]{3}", "three upper-case letters (e.g. 'USA')")


def _last_four_ssn(field: str, value: object) -> str:
    return check_pattern(field, value, r"[0-9]{4}", "exactly four digits")


def _email(field: str, value: object) -> str:
    return check_email(value, field)


def _date_of_birth(value: dt.date | str) -> dt.date:
    return parse_date_of_birth(value)


def _phone(value: str | None) -> str | None:
    return None if value is None else normalize_phone(value)


@attrs.frozen(kw_only=True)
class KycUpsertRequest:
    """Identity data for a customer, created or replaced (`kyc.upsert`).

    Checked before sending: `state` is two upper-case letters, `country` three
    (default `"USA"`), `last_four_ssn` four digits, `verified` a real bool (`False` is
    allowed: Soap then runs its own checks), names, address line 1 and city non-empty,
    `date_of_birth` a date not in the future, `phone_number` normalised like a
    customer's. `last_four_ssn` never appears in the repr.
    """

    customer_id: str = attrs.field(validator=rule(_customer_id))
    first_name: str = attrs.field(validator=rule(check_text))
    last_name: str = attrs.field(validator=rule(check_text))
    date_of_birth: dt.date = attrs.field(converter=_date_of_birth)
    address_line_1: str = attrs.field(validator=rule(check_text))
    city: str = attrs.field(validator=rule(check_text))
    state: str = attrs.field(validator=rule(_state))
    postal_code: str = attrs.field(validator=rule(check_text))
    provider: str = attrs.field(validator=rule(check_text))
    verified: bool = attrs.field(validator=rule(check_bool))
    country: str = attrs.field(default="USA", validator=rule(_country))
    address_line_2: str | None = attrs.field(
        default=None, validator=rule(check_text, optional=True)
    )
    email: str | None = attrs.field(default=None, validator=rule(_email, optional=True))
    phone_number: str | None = attrs.field(default=None, converter=_phone)
    last_four_ssn: str | None = attrs.field(
        default=None, validator=rule(_last_four_ssn, optional=True), repr=False
    )


@attrs.frozen(kw_only=True)
class KycIdentity:
    """The identity Soap stored (`id_...`), echoing what was sent."""

    id: str
    first_name: str | None = None
    last_name: str | None = None
    date_of_birth: dt.date | None = None
    address_line_1: str | None = None
    address_line_2: str | None = None
    city: str | None = None
    state: str | None = None
    postal_code: str | None = None
    country: str | None = None
    provider: str | None = None
    verified: bool | None = None
    email: str | None = None
    phone_number: str | None = None
    last_four_ssn: str | None = attrs.field(default=None, repr=False)
