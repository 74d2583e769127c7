"""Field rules shared by the request models (pure functions, no I/O).

Each function returns the value to send, or raises `InvalidRequestError` naming the
field and the rule.
"""

from __future__ import annotations

import datetime as dt
import re

from .errors import InvalidRequestError

__all__ = [
    "check_bool",
    "check_choice",
    "check_email",
    "check_id",
    "check_int",
    "check_number",
    "check_pattern",
    "check_text",
    "normalize_phone",
    "parse_date_of_birth",
]

# Deliberately loose: one @, no whitespace, a dot in the domain. Soap is the judge of
# deliverability; this only catches values that cannot be an address at all.
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s.]+")
_PHONE_PUNCTUATION = re.compile(r"[\s().\-]")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _type_name(value: object) -> str:
    return type(value).__name__


def check_text(field: str, value: object) -> str:
    """A required, non-blank string."""
    if value is None:
        raise InvalidRequestError(f"{field} is required", field=field)
    if not isinstance(value, str):
        raise InvalidRequestError(f"{field} must be a string, got {_type_name(value)}", field=field)
    if not value or value.isspace():  # blank, without making a stripped copy
        raise InvalidRequestError(f"{field} must not be empty", field=field)
    return value


def check_email(value: object, field: str = "email") -> str:
    """An email address of plausible shape (`name@domain.tld`)."""
    email = check_text(field, value)
    if not _EMAIL.fullmatch(email):
        raise InvalidRequestError(
            f"{field} must be an email address like name@example.com, got {email!r}",
            field=field,
        )
    return email


def normalize_phone(value: object, field: str = "phone_number") -> str:
    """The 10 digits Soap wants, from common US spellings.

    Accepted: `8008001234`, `(800) 800-1234`, `800.800.1234`, `+1 800 800 1234`,
    `1-800-800-1234`, `18008001234`. Anything else (other country codes, letters,
    extensions, too few or too many digits) is refused: Soap rejects 11-digit and `+1`
    numbers, so sending the digits as given would fail at the server.
    """
    if not isinstance(value, str):
        raise InvalidRequestError(
            f"{field} must be a string of 10 digits, got {_type_name(value)}", field=field
        )
    compact = _PHONE_PUNCTUATION.sub("", value)
    if compact.startswith("+1"):
        compact = compact[2:]
    elif len(compact) == 11 and compact.startswith("1"):
        compact = compact[1:]
    if len(compact) != 10 or not compact.isascii() or not compact.isdigit():
        raise InvalidRequestError(
            f"{field} must be 10 digits (a US number, optionally written with +1 or "
            f"punctuation), got {value!r}",
            field=field,
        )
    return compact


def parse_date_of_birth(
    value: object, *, today: dt.date | None = None, field: str = "date_of_birth"
) -> dt.date:
    """A `date` from a `date` or a `YYYY-MM-DD` string; never in the future."""
    if isinstance(value, dt.datetime):
        raise InvalidRequestError(
            f"{field} must be a date or a 'YYYY-MM-DD' string, got a datetime "
            "(pass value.date() if you mean its calendar day)",
            field=field,
        )
    if isinstance(value, dt.date):
        day = value
    elif isinstance(value, str):
        if not _DATE.fullmatch(value):
            raise InvalidRequestError(
                f"{field} must be a date in YYYY-MM-DD form, got {value!r}", field=field
            )
        try:
            day = dt.date.fromisoformat(value)
        except ValueError:
            raise InvalidRequestError(
                f"{field} must be a real calendar date, got {value!r}", field=field
            ) from None
    else:
        raise InvalidRequestError(
            f"{field} must be a date or a 'YYYY-MM-DD' string, got {_type_name(value)}",
            field=field,
        )
    if day > (today or dt.date.today()):
        raise InvalidRequestError(
            f"{field} must not be in the future, got {day.isoformat()!r}", field=field
        )
    return day


def check_id(field: str, value: object, prefix: str) -> str:
    """A Soap object id such as `cus_...`: a string with the expected prefix.

    The prefix catches a charge id passed where a customer id belongs; the rest is not
    checked (Soap's ids vary in length).
    """
    text = check_text(field, value)
    if not text.startswith(prefix) or len(text) == len(prefix) or not text.isascii():
        raise InvalidRequestError(
            f"{field} must be a Soap id starting with {prefix!r}, got {text!r}", field=field
        )
    if not all(c.isalnum() or c == "_" for c in text):
        raise InvalidRequestError(
            f"{field} must contain only letters, digits and '_', got {text!r}", field=field
        )
    return text


def check_int(field: str, value: object, *, minimum: int = 1) -> int:
    """An `int` (not a bool, not a float) of at least `minimum`."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidRequestError(
            f"{field} must be an integer, got {_type_name(value)}", field=field
        )
    if value < minimum:
        raise InvalidRequestError(f"{field} must be >= {minimum}, got {value}", field=field)
    return value


def check_choice(field: str, value: object, choices: tuple[str, ...]) -> str:
    """One of `choices`."""
    if value not in choices:
        raise InvalidRequestError(
            f"{field} must be one of {', '.join(choices)}, got {value!r}", field=field
        )
    return str(value)


def check_pattern(field: str, value: object, pattern: str, rule: str) -> str:
    """A string matching `pattern` entirely; `rule` says it in words for the message."""
    text = check_text(field, value)
    if not re.fullmatch(pattern, text):
        raise InvalidRequestError(f"{field} must be {rule}, got {text!r}", field=field)
    return text


def check_bool(field: str, value: object) -> bool:
    """A real `bool` (not 0/1, not "true")."""
    if not isinstance(value, bool):
        raise InvalidRequestError(
            f"{field} must be True or False, got {_type_name(value)}", field=field
        )
    return value


def check_number(field: str, value: object, *, low: float, high: float) -> float:
    """A finite number in [low, high] (an int is accepted)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InvalidRequestError(f"{field} must be a number, got {_type_name(value)}", field=field)
    if not low <= value <= high:
        raise InvalidRequestError(
            f"{field} must be between {low:g} and {high:g}, got {value}", field=field
        )
    return float(value)
