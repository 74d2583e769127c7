"""`client.customers`: create (exactly once), search, get-or-create, and batches."""

from __future__ import annotations

import datetime as dt
from collections.abc import (
    AsyncGenerator,
    AsyncIterable,
    Awaitable,
    Callable,
    Iterable,
    Mapping,
)
from typing import Any, Literal

import attrs

from .._batch import AdaptiveLimit, check_concurrency, collect_batch, run_batch
from .._config import Timeout
from .._convert import structure_response, unstructure_request
from .._logging import logger
from .._retry import RetryPolicy
from .._transport import AttemptLog
from .._validation import check_email, check_id, normalize_phone
from ..errors import EmailTakenError, InvalidRequestError, SoapError
from ..models._base import build_request
from ..models.batch import BatchItem, BatchProgress, BatchResult
from ..models.customers import CreateCustomerRequest, Customer, UpdateCustomerRequest
from ._base import AsyncResource, SyncResource, sync_iterator, sync_method

__all__ = ["AsyncCustomers", "Customers"]

CustomerRows = (
    Iterable[CreateCustomerRequest | Mapping[str, Any]]
    | AsyncIterable[CreateCustomerRequest | Mapping[str, Any]]
)
IfExists = Literal["error", "return"]

# How far Soap's clock may run behind ours before a customer stamped before this call
# began stops counting as possibly created by it.
CLOCK_SKEW = dt.timedelta(minutes=5)


@attrs.frozen
class _SearchResults:
    results: list[Customer]


def is_same_customer(
    request: CreateCustomerRequest, customer: Customer, since: dt.datetime
) -> bool:
    """Whether `customer` is what `request` would have created, no earlier than `since`.

    Compared: email (case-insensitively), both names, and `internal_id`, phone number
    and date of birth where the request gave them (Soap's search omits the date of
    birth; a missing one is not a mismatch). A customer created before the call began
    (allowing `CLOCK_SKEW`) was not created by it.
    """
    if customer.email.casefold() != request.email.casefold():
        return False
    if (customer.first_name, customer.last_name) != (request.first_name, request.last_name):
        return False
    if request.internal_id is not None and customer.internal_id != request.internal_id:
        return False
    if request.phone_number is not None and customer.phone_number != request.phone_number:
        return False
    if (
        request.date_of_birth is not None
        and customer.date_of_birth is not None
        and customer.date_of_birth != request.date_of_birth
    ):
        return False
    return customer.created_at >= since - CLOCK_SKEW


def _to_request(row: object) -> CreateCustomerRequest:
    if isinstance(row, CreateCustomerRequest):
        return row
    if isinstance(row, Mapping):
        return build_request(CreateCustomerRequest, None, row)
    raise InvalidRequestError(
        f"each row must be a CreateCustomerRequest or a mapping of its fields, "
        f"got {type(row).__name__}"
    )


def _create_request(
    request: CreateCustomerRequest | None,
    email: str | None,
    first_name: str | None,
    last_name: str | None,
    phone_number: str | None,
    date_of_birth: dt.date | str | None,
    internal_id: str | None,
) -> CreateCustomerRequest:
    """The request of `create` and `get_or_create`, from a model or from keywords."""
    if request is None:
        # The common case in one construction: the converters refuse a missing (None)
        # required field by name, as `build_request` would.
        return CreateCustomerRequest(
            email=email,  # type: ignore[arg-type]
            first_name=first_name,  # type: ignore[arg-type]
            last_name=last_name,  # type: ignore[arg-type]
            phone_number=phone_number,
            date_of_birth=date_of_birth,
            internal_id=internal_id,
        )
    return build_request(
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
        """Create a customer (`POST /api/v1/customers`), exactly once.

        Pass a `CreateCustomerRequest` or the same fields as keywords; the input is
        checked before anything is sent. Soap refuses a second customer with the same
        email with `EmailTakenError`.

        Retries are safe: when an attempt's outcome is unknown (a timeout or dropped
        connection after sending, or a 500, 502 or 504) and a retry then meets
        `Email has already been taken`, the SDK looks the email up and returns the
        stored customer if it matches this request (see `is_same_customer`).
        Otherwise the `EmailTakenError` is raised, with `existing_customer_id` set when
        the lookup found the customer.

        ```python
        customer = await soap.customers.create(
            email="ada@example.com", first_name="Ada", last_name="Lovelace"
        )
        ```
        """
        request = _create_request(
            request, email, first_name, last_name, phone_number, date_of_birth, internal_id
        )
        return await self._create(request, timeout, retry, AttemptLog())

    async def _create(
        self,
        request: CreateCustomerRequest,
        timeout: Timeout | float | None,
        retry: RetryPolicy | int | None,
        log: AttemptLog,
    ) -> Customer:
        client = self._client
        options = client._options.merge(timeout, retry)
        started = options.retry.clock()
        try:
            data = await client._transport.request(
                "POST",
                "/api/v1/customers",
                options=options,
                body=unstructure_request(request),
                log=log,
            )
        except EmailTakenError as error:
            if not log.ambiguous:
                raise
            # When the call began, on the wall clock (read only when it is needed).
            since = options.retry.now() - dt.timedelta(seconds=options.retry.clock() - started)
            return await self._recover(request, error, since, timeout, retry)
        return structure_response(data, Customer)

    async def _recover(
        self,
        request: CreateCustomerRequest,
        error: EmailTakenError,
        since: dt.datetime,
        timeout: Timeout | float | None,
        retry: RetryPolicy | int | None,
    ) -> Customer:
        found = await self.search(email=request.email, timeout=timeout, retry=retry)
        for customer in found:
            if is_same_customer(request, customer, since):
                logger.info("recovered customer %s after an ambiguous attempt", customer.id)
                if customer.date_of_birth is None and request.date_of_birth is not None:
                    # Search results omit it; the create that succeeded carried it.
                    customer = attrs.evolve(customer, date_of_birth=request.date_of_birth)
                return customer
        error.existing_customer_id = found[0].id if found else None
        raise error

    async def search(
        self,
        *,
        email: str | None = None,
        phone_number: str | None = None,
        timeout: Timeout | float | None = None,
        retry: RetryPolicy | int | None = None,
    ) -> list[Customer]:
        """Find customers by email and/or phone number (`GET /api/v1/customers/search`).

        At least one is required; with both, a customer must match both. Email matching
        is case-insensitive; the phone number is normalised like `create`'s. Results
        carry no `date_of_birth` (Soap's search does not return it).
        """
        params: dict[str, str] = {}
        if email is not None:
            params["email"] = check_email(email)
        if phone_number is not None:
            params["phone_number"] = normalize_phone(phone_number)
        if not params:
            raise InvalidRequestError("search needs email or phone_number (or both)")
        data = await self._request(
            "GET", "/api/v1/customers/search", params=params, timeout=timeout, retry=retry
        )
        return structure_response(data, _SearchResults).results

    async def update(
        self,
        customer_id: str,
        request: UpdateCustomerRequest | None = None,
        /,
        *,
        email: str | None = None,
        first_name: str | None = None,
        last_name: str | None = None,
        phone_number: str | None = None,
        date_of_birth: dt.date | str | None = None,
        timeout: Timeout | float | None = None,
        retry: RetryPolicy | int | None = None,
    ) -> Customer:
        """Change some fields of a customer (`PATCH /api/v1/customers/{id}`).

        Only the fields given are sent; at least one is required, and `internal_id`
        cannot be changed. The answer carries `updated_at`. An unknown customer id is
        an `UnprocessableEntityError` (Soap uses 422 for it).

        ```python
        customer = await soap.customers.update("cus_...", phone_number="(800) 800-1234")
        ```
        """
        customer_id = check_id("customer_id", customer_id, "cus_")
        request = build_request(
            UpdateCustomerRequest,
            request,
            {
                "email": email,
                "first_name": first_name,
                "last_name": last_name,
                "phone_number": phone_number,
                "date_of_birth": date_of_birth,
            },
        )
        data = await self._request(
            "PATCH",
            f"/api/v1/customers/{customer_id}",
            body=unstructure_request(request),
            timeout=timeout,
            retry=retry,
        )
        return structure_response(data, Customer)

    async def get_or_create(
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
    ) -> tuple[Customer, bool]:
        """The customer with this email, created if there is none: `(customer, created)`.

        Looks the email up first and creates only on a miss. An existing customer is
        returned as it is stored (its other fields are neither compared nor updated).
        A customer created by someone else between the lookup and the create is found
        and returned with `created=False`.
        """
        request = _create_request(
            request, email, first_name, last_name, phone_number, date_of_birth, internal_id
        )
        found = await self.search(email=request.email, timeout=timeout, retry=retry)
        if found:
            return found[0], False
        return await self._create_or_get(request, timeout, retry, AttemptLog())

    async def _create_or_get(
        self,
        request: CreateCustomerRequest,
        timeout: Timeout | float | None,
        retry: RetryPolicy | int | None,
        log: AttemptLog,
    ) -> tuple[Customer, bool]:
        try:
            return await self._create(request, timeout, retry, log), True
        except EmailTakenError:
            found = await self.search(email=request.email, timeout=timeout, retry=retry)
            if found:
                return found[0], False
            raise

    def iter_create_many(
        self,
        requests: CustomerRows,
        *,
        concurrency: int = 8,
        if_exists: IfExists = "error",
        on_progress: Callable[[BatchProgress], object] | None = None,
        timeout: Timeout | float | None = None,
        retry: RetryPolicy | int | None = None,
    ) -> AsyncGenerator[BatchItem, None]:
        """Create many customers, yielding a `BatchItem` for each row as it finishes.

        `requests` is any iterable or async iterable of `CreateCustomerRequest` or dicts
        of its fields, read lazily: memory does not grow with its length. At most
        `concurrency` creates are in flight; a 429 halves that number and successes
        raise it again. A row's bad input or failure is that item's `error`; it never
        stops the others. `if_exists="return"` turns `EmailTakenError` into the existing
        customer with `created=False` (useful to re-run an interrupted job).

        Each create is exactly-once as with `create`. Leaving the loop early or
        cancelling cancels what is in flight; use `contextlib.aclosing` to make that
        immediate when you `break`.
        """
        work = self._batch_work(concurrency, if_exists, timeout, retry)
        # The engine's own generator, not a wrapper around it: one step less per row,
        # and closing it (or leaving the loop) cancels the work at once.
        return run_batch(requests, work, concurrency=concurrency, on_progress=on_progress)

    def _batch_work(
        self,
        concurrency: int,
        if_exists: IfExists,
        timeout: Timeout | float | None,
        retry: RetryPolicy | int | None,
    ) -> Callable[[int, object, AdaptiveLimit], Awaitable[BatchItem]]:
        """What a batch does with one row; bad arguments fail here, before any row is read."""
        if if_exists not in ("error", "return"):
            raise InvalidRequestError(
                f"if_exists must be 'error' or 'return', got {if_exists!r}", field="if_exists"
            )
        self._client._options.merge(timeout, retry)
        check_concurrency(concurrency)

        async def work(index: int, row: object, limit: AdaptiveLimit) -> BatchItem:
            try:
                request = _to_request(row)
            except InvalidRequestError as error:
                return BatchItem(index=index, request=row, error=error)
            log = AttemptLog(on_rate_limited=limit.rate_limited)
            try:
                if if_exists == "return":
                    customer, created = await self._create_or_get(request, timeout, retry, log)
                else:
                    customer, created = await self._create(request, timeout, retry, log), True
            except SoapError as error:
                return BatchItem(index=index, request=request, error=error)
            limit.succeeded()
            return BatchItem(index=index, request=request, customer=customer, created=created)

        return work

    async def create_many(
        self,
        requests: CustomerRows,
        *,
        concurrency: int = 8,
        if_exists: IfExists = "error",
        on_progress: Callable[[BatchProgress], object] | None = None,
        timeout: Timeout | float | None = None,
        retry: RetryPolicy | int | None = None,
    ) -> BatchResult:
        """Create many customers and return every outcome, in input order.

        The same as `iter_create_many`, collected into a `BatchResult` (which holds
        every item: for very large inputs, iterate instead).
        """
        work = self._batch_work(concurrency, if_exists, timeout, retry)
        items = await collect_batch(
            requests, work, concurrency=concurrency, on_progress=on_progress
        )
        return BatchResult(tuple(items))


class Customers(SyncResource):
    """Customer operations of `SoapClient` (`client.customers`), blocking.

    `on_progress` callbacks of the batch methods run on the event loop of the batch.
    """

    name = "customers"

    create = sync_method(AsyncCustomers.create)
    search = sync_method(AsyncCustomers.search)
    update = sync_method(AsyncCustomers.update)
    get_or_create = sync_method(AsyncCustomers.get_or_create)
    create_many = sync_method(AsyncCustomers.create_many)
    iter_create_many = sync_iterator(AsyncCustomers.iter_create_many)
