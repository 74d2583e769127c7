"""Outcomes of batch creation: one `BatchItem` per input row, and their `BatchResult`."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, overload

import attrs

from ..errors import SoapError
from .customers import CreateCustomerRequest, Customer

__all__ = ["BatchItem", "BatchProgress", "BatchResult"]


@attrs.frozen(kw_only=True)
class BatchItem:
    """The outcome of one input row of `create_many` / `iter_create_many`.

    Exactly one of `customer` and `error` is set. `index` is the row's position in the
    input; `request` is the validated `CreateCustomerRequest`, or the row as given when
    it could not be turned into one (then `error` is an `InvalidRequestError`).
    `created` is true when this call created the customer (including a create the SDK
    recovered after an ambiguous failure), false when it returned an existing one.
    """

    index: int
    request: CreateCustomerRequest | Any
    customer: Customer | None = None
    error: SoapError | None = None
    created: bool = False

    @property
    def ok(self) -> bool:
        """True when the row succeeded."""
        return self.error is None


@attrs.frozen(kw_only=True)
class BatchProgress:
    """Counters passed to `on_progress` after each row finishes."""

    done: int
    succeeded: int
    failed: int
    in_flight: int
    concurrency: int
    item: BatchItem


@attrs.frozen
class BatchResult(Sequence[BatchItem]):
    """Every `BatchItem` of a `create_many` call, in input order.

    ```python
    result = await soap.customers.create_many(rows, concurrency=16)
    print(len(result.succeeded), "created,", len(result.failed), "failed")
    for item in result.failed:
        print(item.index, item.error)
    ```
    """

    items: tuple[BatchItem, ...]

    def __len__(self) -> int:
        return len(self.items)

    @overload
    def __getitem__(self, index: int) -> BatchItem: ...

    @overload
    def __getitem__(self, index: slice) -> Sequence[BatchItem]: ...

    def __getitem__(self, index: int | slice) -> BatchItem | Sequence[BatchItem]:
        return self.items[index]

    def __iter__(self) -> Iterator[BatchItem]:
        return iter(self.items)

    @property
    def succeeded(self) -> list[BatchItem]:
        """The items that have a customer."""
        return [item for item in self.items if item.error is None]

    @property
    def failed(self) -> list[BatchItem]:
        """The items that have an error."""
        return [item for item in self.items if item.error is not None]

    @property
    def customers(self) -> list[Customer]:
        """The customers of the succeeded items, in input order."""
        return [item.customer for item in self.items if item.customer is not None]
