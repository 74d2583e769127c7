"""Pure functions of the retry policy: backoff, Retry-After parsing, coercion."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from soap_async import InvalidRequestError, RetryPolicy
from soap_async._retry import backoff_delay, parse_retry_after

NOW = dt.datetime(2026, 11, 26, 12, 0, 0, tzinfo=dt.timezone.utc)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("3", 3.0),
        (" 2 ", 2.0),
        ("0.5", 0.5),
        ("0", 0.0),
        ("Thu, 26 Nov 2026 12:00:10 GMT", 10.0),
        ("Thu, 26 Nov 2026 11:59:00 GMT", 0.0),  # in the past: go now
        (None, None),
        ("", None),
        ("soon", None),
        ("-1", None),
        ("nan", None),
        ("inf", None),
    ],
)
def test_parse_retry_after(value: str | None, expected: float | None) -> None:
    assert parse_retry_after(value, NOW) == expected


def test_backoff_doubles_up_to_the_cap() -> None:
    delays = [backoff_delay(n, initial=0.5, cap=8.0, rand=1.0) for n in range(7)]
    assert delays == [0.5, 1.0, 2.0, 4.0, 8.0, 8.0, 8.0]


def test_backoff_survives_huge_attempt_numbers() -> None:
    assert backoff_delay(10_000, initial=0.5, cap=8.0, rand=0.5) == 4.0


@given(
    retries=st.integers(min_value=0, max_value=200),
    rand=st.floats(min_value=0.0, max_value=1.0, exclude_max=True),
)
def test_full_jitter_stays_between_zero_and_the_cap(retries: int, rand: float) -> None:
    delay = backoff_delay(retries, initial=0.5, cap=8.0, rand=rand)
    assert 0.0 <= delay < min(8.0, 0.5 * 2.0**retries) + 1e-9


def test_policy_prefers_retry_after_and_caps_it() -> None:
    policy = RetryPolicy(random=lambda: 1.0, now=lambda: NOW, max_retry_after=30.0)
    assert policy.delay(0, "2") == 2.0
    assert policy.delay(0, "3600") == 30.0
    assert policy.delay(3, None) == 4.0
    assert policy.delay(3, "garbage") == 4.0


def test_policy_coerces_an_int() -> None:
    assert RetryPolicy.coerce(5).max_retries == 5
    policy = RetryPolicy(max_retries=1)
    assert RetryPolicy.coerce(policy) is policy


@pytest.mark.parametrize("bad", [-1, 1.5, True, "3"])
def test_policy_refuses_bad_max_retries(bad: object) -> None:
    with pytest.raises(InvalidRequestError, match="max_retries must be an integer >= 0"):
        RetryPolicy(max_retries=bad)  # type: ignore[arg-type]


def test_coerce_names_the_field() -> None:
    with pytest.raises(InvalidRequestError) as info:
        RetryPolicy.coerce("twice")  # type: ignore[arg-type]
    assert info.value.field == "retry"
