"""`client.checkouts`: hosted checkout sessions."""

from __future__ import annotations

from collections.abc import Iterable

from .._config import Timeout
from .._convert import structure_response, unstructure_request
from .._retry import RetryPolicy
from ..models._base import build_request
from ..models.checkouts import (
    Checkout,
    CheckoutType,
    CreateCheckoutRequest,
    Experience,
    LineItem,
    SubscriptionData,
)
from ._base import AsyncResource, SyncResource, sync_method

__all__ = ["AsyncCheckouts", "Checkouts"]


class AsyncCheckouts(AsyncResource):
    """Checkout operations of `AsyncSoapClient` (`client.checkouts`)."""

    name = "checkouts"

    async def create(
        self,
        request: CreateCheckoutRequest | None = None,
        /,
        *,
        customer_id: str | None = None,
        type: CheckoutType | None = None,
        line_items: Iterable[LineItem] | None = None,
        subscription_data: SubscriptionData | None = None,
        fixed_amount_cents: int | None = None,
        balance_amount_cents: int | None = None,
        experience: Experience | None = None,
        return_url: str | None = None,
        timeout: Timeout | float | None = None,
        retry: RetryPolicy | int | None = None,
    ) -> Checkout:
        """Create a hosted checkout session (`POST /api/v1/checkouts`).

        Build the request with a `CreateCheckoutRequest` constructor for your flow
        (`deposit`, `preset_deposit`, `purchase`, `subscription`, `balance_withdrawal`,
        `preset_withdrawal`), or pass the same fields as keywords. Send the customer to
        the answer's `url`.

        Soap has no idempotency key for checkouts: when an attempt's answer is lost and
        the SDK retries, Soap may hold an extra unpaid session. It is harmless (nobody
        is sent to it, and it expires); pass `retry=0` if you would rather handle the
        failure yourself.

        ```python
        checkout = await soap.checkouts.create(
            CreateCheckoutRequest.preset_deposit("cus_...", 5_000, return_url="https://...")
        )
        ```
        """
        request = build_request(
            CreateCheckoutRequest,
            request,
            {
                "customer_id": customer_id,
                "type": type,
                "line_items": line_items,
                "subscription_data": subscription_data,
                "fixed_amount_cents": fixed_amount_cents,
                "balance_amount_cents": balance_amount_cents,
                "experience": experience,
                "return_url": return_url,
            },
        )
        data = await self._request(
            "POST",
            "/api/v1/checkouts",
            body=unstructure_request(request),
            timeout=timeout,
            retry=retry,
        )
        return structure_response(data, Checkout)


class Checkouts(SyncResource):
    """Checkout operations of `SoapClient` (`client.checkouts`), blocking."""

    name = "checkouts"

    create = sync_method(AsyncCheckouts.create)
