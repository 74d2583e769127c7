"""Parsing Soap's answers: aware timestamps, dates, unknown fields, wrong shapes."""

from __future__ import annotations

import datetime as dt

import pytest

from soap_async import APIResponseValidationError, Customer
from soap_async._convert import parse_datetime, structure_response

UTC = dt.timezone.utc
CUSTOMER = {
    "id": "cus_A3GuXEbThpqk2t6UTxEuoceVJyUEAX7V",
    "internal_id": "cust_123",
    "email": "customer@example.com",
    "first_name": "John",
    "last_name": "Doe",
    "phone_number": "1234567890",
    "date_of_birth": "1990-01-01",
    "created_at": "2025-03-10T16:08:14.427Z",
}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2025-03-10T16:08:14.427Z", dt.datetime(2025, 3, 10, 16, 8, 14, 427000, tzinfo=UTC)),
        ("2025-05-30 06:05:22 UTC", dt.datetime(2025, 5, 30, 6, 5, 22, tzinfo=UTC)),
        ("2026-04-08T15:00:00Z", dt.datetime(2026, 4, 8, 15, 0, tzinfo=UTC)),
        ("2026-04-08T17:00:00+02:00", dt.datetime(2026, 4, 8, 15, 0, tzinfo=UTC)),
        ("2026-04-08T15:00:00", dt.datetime(2026, 4, 8, 15, 0, tzinfo=UTC)),
    ],
)
def test_timestamps_are_aware(text: str, expected: dt.datetime) -> None:
    parsed = parse_datetime(text)
    assert parsed == expected
    assert parsed.tzinfo is not None


def test_customer_from_the_documented_example() -> None:
    customer = structure_response(CUSTOMER, Customer)
    assert customer.id == CUSTOMER["id"]
    assert customer.date_of_birth == dt.date(1990, 1, 1)
    assert customer.created_at == dt.datetime(2025, 3, 10, 16, 8, 14, 427000, tzinfo=UTC)
    assert customer.updated_at is None


def test_unknown_fields_and_missing_optionals_never_break_parsing() -> None:
    data = {k: v for k, v in CUSTOMER.items() if k not in ("date_of_birth", "phone_number")}
    customer = structure_response({**data, "brand_new_field": {"x": 1}}, Customer)
    assert customer.phone_number is None
    assert customer.date_of_birth is None


def test_wrong_shapes_raise_a_validation_error_naming_the_path() -> None:
    with pytest.raises(APIResponseValidationError) as info:
        structure_response({**CUSTOMER, "first_name": None, "created_at": 5}, Customer)
    message = str(info.value)
    assert "$.first_name" in message
    assert "$.created_at" in message
    assert info.value.status_code == 200


def test_a_missing_required_field_is_reported() -> None:
    data = {k: v for k, v in CUSTOMER.items() if k != "id"}
    with pytest.raises(APIResponseValidationError, match=r"required field missing @ \$.id"):
        structure_response(data, Customer)
