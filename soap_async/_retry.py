"""Retry policy: which failures to retry and how long to wait (pure functions)."""

from __future__ import annotations

import asyncio
import datetime as dt
import math
import random as _random
import time
from collections.abc import Awaitable, Callable
from email.utils import parsedate_to_datetime

import attrs

from .errors import InvalidRequestError

__all__ = ["DEFAULT_RETRY_STATUSES", "RetryPolicy", "backoff_delay", "parse_retry_after"]

DEFAULT_RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def parse_retry_after(value: str | None, now: dt.datetime) -> float | None:
    """Seconds to wait from a `Retry-After` header (delay-seconds or HTTP-date).

    Returns `None` when the header is absent or unreadable, so the caller falls back to
    its own backoff. A date in the past means "now" (0 seconds).
    """
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        pass
    else:
        return seconds if math.isfinite(seconds) and seconds >= 0 else None
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.timezone.utc)
    return max(0.0, (when - now).total_seconds())


def backoff_delay(retries_taken: int, *, initial: float, cap: float, rand: float) -> float:
    """Exponential backoff with full jitter: `rand * min(cap, initial * 2**retries_taken)`.

    `rand` is a number in [0, 1). Full jitter spreads the retries of many clients that
    failed together, where a fixed or downward-only jitter keeps them in step.
    """
    exponent = min(retries_taken, 64)  # 2**64 * initial is far beyond any cap
    return rand * min(cap, initial * 2.0**exponent)


def _non_negative(instance: object, attribute: attrs.Attribute[float], value: float) -> None:
    if not isinstance(value, (int, float)) or isinstance(value, bool) or value < 0:
        raise InvalidRequestError(
            f"RetryPolicy.{attribute.name} must be a number >= 0, got {value!r}",
            field=attribute.name,
        )


def _max_retries(instance: object, attribute: attrs.Attribute[int], value: int) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise InvalidRequestError(
            f"max_retries must be an integer >= 0, got {value!r}", field="max_retries"
        )


@attrs.frozen
class RetryPolicy:
    """How a request is retried.

    Retried: connection errors, timeouts and the statuses in `retry_statuses` (408, 429,
    500, 502, 503, 504). The wait before retry *n* (0-based) is the server's
    `Retry-After` when it sends one (capped at `max_retry_after`), otherwise
    `random() * min(max_delay, initial_delay * 2**n)`.

    `sleep`, `random` and `now` are injectable so tests never really wait:

    ```python
    RetryPolicy(max_retries=5, sleep=fake_sleep, random=lambda: 1.0)
    ```
    """

    max_retries: int = attrs.field(default=2, validator=_max_retries)
    initial_delay: float = attrs.field(default=0.5, validator=_non_negative)
    max_delay: float = attrs.field(default=8.0, validator=_non_negative)
    max_retry_after: float = attrs.field(default=60.0, validator=_non_negative)
    retry_statuses: frozenset[int] = attrs.field(
        default=DEFAULT_RETRY_STATUSES, converter=frozenset
    )
    sleep: Callable[[float], Awaitable[None]] = attrs.field(default=asyncio.sleep, repr=False)
    random: Callable[[], float] = attrs.field(default=_random.random, repr=False)
    now: Callable[[], dt.datetime] = attrs.field(default=_utcnow, repr=False)
    clock: Callable[[], float] = attrs.field(default=time.monotonic, repr=False)

    @classmethod
    def coerce(cls, value: RetryPolicy | int) -> RetryPolicy:
        """A `RetryPolicy` from a policy or a number of retries."""
        if isinstance(value, RetryPolicy):
            return value
        if isinstance(value, int) and not isinstance(value, bool):
            return cls(max_retries=value)
        raise InvalidRequestError(
            f"retry must be a RetryPolicy or an int, got {type(value).__name__}", field="retry"
        )

    def delay(self, retries_taken: int, retry_after: str | None = None) -> float:
        """Seconds to wait before the retry that follows `retries_taken` earlier retries."""
        server_wait = parse_retry_after(retry_after, self.now())
        if server_wait is not None:
            return min(server_wait, self.max_retry_after)
        return backoff_delay(
            retries_taken, initial=self.initial_delay, cap=self.max_delay, rand=self.random()
        )
