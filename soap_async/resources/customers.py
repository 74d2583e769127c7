"""`client.customers`: create Soap customers."""

from __future__ import annotations

import datetime as dt

from .._config import Timeout
from .._convert import structure_response, unstructure_request
from .._retry import RetryPolicy
from ..models._base import build_request
from ..models.customers import CreateCustomerRequest, Customer
from ._base import AsyncResource, SyncResource, sync_method

__all__ = ["AsyncCustomers", "Customers"]


class AsyncCustomers(AsyncResource):
    """Customer operations of `AsyncSoapClient` (`client.customers`)."""

    name = "customers"

    async def create(
        self,
        request: CreateCustomerRequest | None = None,
        /,
        *,
        email: str | None = None,
        first_name: str | None = None,
        last_name: str | None = None,
        phone_number: str | None = None,
        date_of_birth: dt.date | str | None = None,
        internal_id: str | None = None,
        timeout: Timeout | float | None = None,
        retry: RetryPolicy | int | None = None,
    ) -> Customer:
        """Create a customer (`POST /api/v1/customers`).

        Pass a `CreateCustomerRequest` or the same fields as keywords; the input is
        checked before anything is sent. Soap refuses a second customer with the same
        email with `EmailTakenError`.

        ```python
        customer = await soap.customers.create(
            email="ada@example.com", first_name="Ada", last_name="Lovelace"
        )
        ```
        """
        request = build_request(
            CreateCustomerRequest,
            request,
            {
                "email": email,
                "first_name": first_name,
                "last_name": last_name,
                "phone_number": phone_number,
                "date_of_birth": date_of_birth,
                "internal_id": internal_id,
            },
        )
        data = await self._request(
            "POST",
            "/api/v1/customers",
            body=unstructure_request(request),
            timeout=timeout,
            retry=retry,
        )
        return structure_response(data, Customer)


class Customers(SyncResource):
    """Customer operations of `SoapClient` (`client.customers`), blocking."""

    name = "customers"

    create = sync_method(AsyncCustomers.create)
