"""`client.device_pings`: geolocation checks."""

from __future__ import annotations

from .._config import Timeout
from .._convert import structure_response
from .._retry import RetryPolicy
from .._validation import check_id, check_number, check_text
from ..models.device_pings import DevicePing, GeoCheck
from ._base import AsyncResource, SyncResource, sync_method

__all__ = ["AsyncDevicePings", "DevicePings"]


class AsyncDevicePings(AsyncResource):
    """Device-ping operations of `AsyncSoapClient` (`client.device_pings`)."""

    name = "device_pings"

    async def latest_geo_check(
        self,
        customer_id: str,
        *,
        timeout: Timeout | float | None = None,
        retry: RetryPolicy | int | None = None,
    ) -> GeoCheck | None:
        """The customer's latest geolocation check, or `None` if there was none yet.

        (`GET /api/v1/device_pings/latest_geo_check`.) `passed` says whether the
        device was in a place you serve.
        """
        customer_id = check_id("customer_id", customer_id, "cus_")
        data = await self._request(
            "GET",
            "/api/v1/device_pings/latest_geo_check",
            params={"customer_id": customer_id},
            timeout=timeout,
            retry=retry,
        )
        return None if data is None else structure_response(data, GeoCheck)

    async def create(
        self,
        customer_id: str,
        *,
        latitude: float,
        longitude: float,
        client_secret: str,
        timeout: Timeout | float | None = None,
        retry: RetryPolicy | int | None = None,
    ) -> DevicePing:
        """Record a device's location (`POST /api/v1/device_pings`). Rarely right on a server.

        Soap meant this call for the customer's browser or app: it is authenticated
        with the dashboard **client secret** (not the API key, which Soap refuses
        here), and Soap also records the caller's IP address. Called from your server,
        it records your server's IP next to the device's coordinates. Use it to relay
        a ping you received from the device, or in tests; otherwise call it from the
        device and read the result with `latest_geo_check`.
        """
        customer_id = check_id("customer_id", customer_id, "cus_")
        body = {
            "latitude": check_number("latitude", latitude, low=-90, high=90),
            "longitude": check_number("longitude", longitude, low=-180, high=180),
            "customer_id": customer_id,
        }
        data = await self._request(
            "POST",
            "/api/v1/device_pings",
            body=body,
            timeout=timeout,
            retry=retry,
            authorization=check_text("client_secret", client_secret),
        )
        return structure_response(data, DevicePing)


class DevicePings(SyncResource):
    """Device-ping operations of `SoapClient` (`client.device_pings`), blocking."""

    name = "device_pings"

    latest_geo_check = sync_method(AsyncDevicePings.latest_geo_check)
    create = sync_method(AsyncDevicePings.create)
