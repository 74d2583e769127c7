"""`client.charges`: read charges."""

from __future__ import annotations

from .._config import Timeout
from .._convert import structure_response
from .._retry import RetryPolicy
from .._validation import check_id
from ..errors import UnprocessableEntityError
from ..models.charges import Charge
from ._base import AsyncResource, SyncResource, sync_method

__all__ = ["AsyncCharges", "Charges"]


class AsyncCharges(AsyncResource):
    """Charge operations of `AsyncSoapClient` (`client.charges`)."""

    name = "charges"

    async def retrieve(
        self,
        charge_id: str,
        *,
        timeout: Timeout | float | None = None,
        retry: RetryPolicy | int | None = None,
    ) -> Charge:
        """Fetch a charge (`GET /api/v1/charges/{id}`).

        Soap answers 422, not 404, for a charge that does not exist or belongs to
        another merchant (on purpose, so the two cannot be told apart); that raises an
        `UnprocessableEntityError` whose message says so.
        """
        charge_id = check_id("charge_id", charge_id, "ch_")
        try:
            data = await self._request(
                "GET", f"/api/v1/charges/{charge_id}", timeout=timeout, retry=retry
            )
        except UnprocessableEntityError as error:
            raise UnprocessableEntityError(
                f"No charge {charge_id} for this account: it does not exist or belongs to "
                f"another merchant (Soap said: {error.message})",
                status_code=error.status_code,
                body=error.body,
                headers=error.headers,
            ) from error
        return structure_response(data, Charge)


class Charges(SyncResource):
    """Charge operations of `SoapClient` (`client.charges`), blocking."""

    name = "charges"

    retrieve = sync_method(AsyncCharges.retrieve)
