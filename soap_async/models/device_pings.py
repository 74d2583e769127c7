"""Geolocation checks made from device pings."""

from __future__ import annotations

import datetime as dt
from typing import Any

import attrs

__all__ = ["DevicePing", "GeoCheck"]


@attrs.frozen(kw_only=True)
class GeoCheck:
    """Where a customer's device was, and whether that place is one you serve (`passed`)."""

    id: str
    passed: bool
    municipality: str | None = None
    region: str | None = None
    country: str | None = None
    latitude: float | None = None
    longitude: float | None = None
    checked_at: dt.datetime | None = None


@attrs.frozen(kw_only=True)
class DevicePing:
    """A recorded device ping (`dp_...`) and the geo check Soap made from it."""

    id: str
    geo_check: GeoCheck | None = None
    ip_check: Any = None
