"""`client.kyc`: sync identity data verified by your own KYC provider."""

from __future__ import annotations

import datetime as dt

from .._config import Timeout
from .._convert import structure_response, unstructure_request
from .._retry import RetryPolicy
from ..models._base import build_request
from ..models.kyc import KycIdentity, KycUpsertRequest
from ._base import AsyncResource, SyncResource, sync_method

__all__ = ["AsyncKyc", "Kyc"]


class AsyncKyc(AsyncResource):
    """KYC operations of `AsyncSoapClient` (`client.kyc`)."""

    name = "kyc"

    async def upsert(
        self,
        request: KycUpsertRequest | None = None,
        /,
        *,
        customer_id: str | None = None,
        first_name: str | None = None,
        last_name: str | None = None,
        date_of_birth: dt.date | str | None = None,
        address_line_1: str | None = None,
        address_line_2: str | None = None,
        city: str | None = None,
        state: str | None = None,
        postal_code: str | None = None,
        country: str | None = None,
        provider: str | None = None,
        verified: bool | None = None,
        email: str | None = None,
        phone_number: str | None = None,
        last_four_ssn: str | None = None,
        timeout: Timeout | float | None = None,
        retry: RetryPolicy | int | None = None,
    ) -> KycIdentity:
        """Create or replace a customer's identity data (`POST /api/v1/kyc/upsert`).

        For identities you verified with your own KYC provider (`verified=False` is
        allowed; Soap then runs its own checks). The format rules of
        `KycUpsertRequest` are checked before sending. Safe to retry: an upsert of the
        same data gives the same identity.
        """
        request = build_request(
            KycUpsertRequest,
            request,
            {
                "customer_id": customer_id,
                "first_name": first_name,
                "last_name": last_name,
                "date_of_birth": date_of_birth,
                "address_line_1": address_line_1,
                "address_line_2": address_line_2,
                "city": city,
                "state": state,
                "postal_code": postal_code,
                "country": country,
                "provider": provider,
                "verified": verified,
                "email": email,
                "phone_number": phone_number,
                "last_four_ssn": last_four_ssn,
            },
        )
        data = await self._request(
            "POST",
            "/api/v1/kyc/upsert",
            body=unstructure_request(request),
            timeout=timeout,
            retry=retry,
        )
        return structure_response(data, KycIdentity)


class Kyc(SyncResource):
    """KYC operations of `SoapClient` (`client.kyc`), blocking."""

    name = "kyc"

    upsert = sync_method(AsyncKyc.upsert)
