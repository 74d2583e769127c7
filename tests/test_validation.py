"""Request models: every bad input is refused before sending, naming field and rule."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from soap_async import CreateCustomerRequest, InvalidRequestError
from soap_async._convert import unstructure_request
from soap_async._validation import check_email, normalize_phone, parse_date_of_birth

VALID = {"email": "ada@example.com", "first_name": "Ada", "last_name": "Lovelace"}


@pytest.mark.parametrize(
    "spelling",
    [
        "8008001234",
        "(800) 800-1234",
        "800-800-1234",
        "800.800.1234",
        "800 800 1234",
        "+1 800 800 1234",
        "+1 (800) 800-1234",
        "+18008001234",
        "18008001234",
        "1-800-800-1234",
    ],
)
def test_phone_spellings_become_ten_digits(spelling: str) -> None:
    assert normalize_phone(spelling) == "8008001234"


@pytest.mark.parametrize(
    "bad",
    [
        "123",
        "800800123",
        "280080012345",
        "+44 20 7946 0958",
        "800-800-123x",
        "",
        "\uff18" * 10,
    ],
)
def test_phone_refuses_other_numbers(bad: str) -> None:
    with pytest.raises(InvalidRequestError, match="phone_number must be 10 digits") as info:
        normalize_phone(bad)
    assert info.value.field == "phone_number"
    assert repr(bad) in str(info.value)


def test_phone_refuses_non_strings() -> None:
    with pytest.raises(InvalidRequestError, match="phone_number must be a string"):
        normalize_phone(8008001234)


@given(st.text(alphabet="0123456789", min_size=10, max_size=10))
def test_any_ten_digits_pass_through(digits: str) -> None:
    assert normalize_phone(digits) == digits


@pytest.mark.parametrize("bad", ["ada", "ada@", "@example.com", "ada@example", "a da@example.com"])
def test_email_shape(bad: str) -> None:
    with pytest.raises(InvalidRequestError, match="email must be an email address"):
        check_email(bad)


def test_date_of_birth_forms() -> None:
    today = dt.date(2026, 11, 26)
    assert parse_date_of_birth("1990-01-31", today=today) == dt.date(1990, 1, 31)
    assert parse_date_of_birth(dt.date(1990, 1, 31), today=today) == dt.date(1990, 1, 31)
    assert parse_date_of_birth("2026-11-26", today=today) == today


@pytest.mark.parametrize(
    ("bad", "rule"),
    [
        ("2026-11-27", "must not be in the future"),
        ("1990-02-30", "must be a real calendar date"),
        ("01/31/1990", "YYYY-MM-DD"),
        ("1990-1-31", "YYYY-MM-DD"),
        (19900131, "must be a date or a 'YYYY-MM-DD' string"),
        (dt.datetime(1990, 1, 31, 12, 0), "got a datetime"),
    ],
)
def test_date_of_birth_refusals(bad: object, rule: str) -> None:
    with pytest.raises(InvalidRequestError, match=rule) as info:
        parse_date_of_birth(bad, today=dt.date(2026, 11, 26))
    assert info.value.field == "date_of_birth"


def test_request_normalises_and_drops_none_from_the_body() -> None:
    request = CreateCustomerRequest(
        **VALID, phone_number="+1 (800) 800-1234", date_of_birth="1990-01-31"
    )
    assert unstructure_request(request) == {
        **VALID,
        "phone_number": "8008001234",
        "date_of_birth": "1990-01-31",
    }
    assert unstructure_request(CreateCustomerRequest(**VALID)) == VALID


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("email", "", "email must not be empty"),
        ("email", 42, "email must be a string, got int"),
        ("first_name", "   ", "first_name must not be empty"),
        ("last_name", None, "last_name is required"),
        ("internal_id", 7, "internal_id must be a string, got int"),
        ("date_of_birth", "3000-01-01", "date_of_birth must not be in the future"),
    ],
)
def test_request_refuses_bad_fields(field: str, value: object, message: str) -> None:
    with pytest.raises(InvalidRequestError, match=message) as info:
        CreateCustomerRequest(**{**VALID, field: value})  # type: ignore[arg-type]
    assert info.value.field == field
    assert isinstance(info.value, ValueError)


def test_request_is_frozen_and_slotted() -> None:
    request = CreateCustomerRequest(**VALID)
    with pytest.raises(AttributeError):
        request.email = "other@example.com"  # type: ignore[misc]
    assert not hasattr(request, "__dict__")
