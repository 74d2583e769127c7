"""Test helpers: a recording sleep so retry tests never really wait."""

from __future__ import annotations

import datetime as dt

from soap_async import RetryPolicy

NOW = dt.datetime(2026, 11, 26, 12, 0, 0, tzinfo=dt.timezone.utc)


class FakeClock:
    """Records every sleep and advances a fake monotonic clock instead of waiting."""

    def __init__(self) -> None:
        self.sleeps: list[float] = []
        self.t = 1000.0

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.t += seconds

    def monotonic(self) -> float:
        return self.t

    def now(self) -> dt.datetime:
        return NOW + dt.timedelta(seconds=self.t - 1000.0)

    def policy(self, max_retries: int = 2, **kwargs: object) -> RetryPolicy:
        settings: dict[str, object] = {
            "sleep": self.sleep,
            "clock": self.monotonic,
            "now": self.now,
            "random": lambda: 1.0,
            **kwargs,
        }
        return RetryPolicy(max_retries=max_retries, **settings)  # type: ignore[arg-type]
