"""Customer models: the create request and the customer Soap returns."""

from __future__ import annotations

import datetime as dt

import attrs

from .._validation import check_email, check_text, normalize_phone, parse_date_of_birth
from ..errors import InvalidRequestError

__all__ = ["CreateCustomerRequest", "Customer", "UpdateCustomerRequest"]


def _email(value: str) -> str:
    return check_email(value)


def _first_name(value: str) -> str:
    return check_text("first_name", value)


def _last_name(value: str) -> str:
    return check_text("last_name", value)


def _phone(value: str | None) -> str | None:
    return None if value is None else normalize_phone(value)


def _date_of_birth(value: dt.date | str | None) -> dt.date | None:
    return None if value is None else parse_date_of_birth(value)


def _internal_id(value: str | None) -> str | None:
    return None if value is None else check_text("internal_id", value)


def _optional_email(value: str | None) -> str | None:
    return None if value is None else check_email(value)


def _optional_first_name(value: str | None) -> str | None:
    return None if value is None else check_text("first_name", value)


def _optional_last_name(value: str | None) -> str | None:
    return None if value is None else check_text("last_name", value)


@attrs.frozen(kw_only=True)
class CreateCustomerRequest:
    """The fields of a new customer, checked when the object is built.

    `phone_number` accepts common US spellings and keeps the 10 digits Soap wants;
    `date_of_birth` takes a `date` or `YYYY-MM-DD` and may not be in the future.
    Any bad value raises `InvalidRequestError` naming the field and the rule.

    ```python
    request = CreateCustomerRequest(
        email="ada@example.com", first_name="Ada", last_name="Lovelace",
        phone_number="(800) 800-1234",
    )
    assert request.phone_number == "8008001234"
    ```
    """

    email: str = attrs.field(converter=_email)
    first_name: str = attrs.field(converter=_first_name)
    last_name: str = attrs.field(converter=_last_name)
    phone_number: str | None = attrs.field(default=None, converter=_phone)
    date_of_birth: dt.date | None = attrs.field(default=None, converter=_date_of_birth)
    internal_id: str | None = attrs.field(default=None, converter=_internal_id)


@attrs.frozen(kw_only=True)
class UpdateCustomerRequest:
    """The fields to change on a customer; only those given are sent.

    At least one is required. `internal_id` cannot be changed: Soap refuses any field
    it does not know on update, so the SDK refuses it first. The same rules as
    `CreateCustomerRequest` apply to each field.

    ```python
    UpdateCustomerRequest(phone_number="+1 800 800 1234")
    ```
    """

    email: str | None = attrs.field(default=None, converter=_optional_email)
    first_name: str | None = attrs.field(default=None, converter=_optional_first_name)
    last_name: str | None = attrs.field(default=None, converter=_optional_last_name)
    phone_number: str | None = attrs.field(default=None, converter=_phone)
    date_of_birth: dt.date | None = attrs.field(default=None, converter=_date_of_birth)

    def __attrs_post_init__(self) -> None:
        if all(getattr(self, field.name) is None for field in attrs.fields(type(self))):
            raise InvalidRequestError(
                "an update needs at least one of email, first_name, last_name, "
                "phone_number, date_of_birth"
            )


@attrs.frozen(kw_only=True)
class Customer:
    """A Soap customer.

    `id` (`cus_...`) is what checkouts and other calls refer to. Timestamps are
    timezone-aware; `date_of_birth` is absent from search results, so it may be `None`
    even when Soap stores one; `updated_at` comes with the answer to an update. Fields
    Soap adds later are ignored, never an error.
    """

    id: str
    email: str
    first_name: str
    last_name: str
    created_at: dt.datetime
    internal_id: str | None = None
    phone_number: str | None = None
    date_of_birth: dt.date | None = None
    updated_at: dt.datetime | None = None
