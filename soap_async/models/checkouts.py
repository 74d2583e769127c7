"""Checkout models: hosted checkout sessions for deposits, purchases and withdrawals."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Literal

import attrs

from .._validation import check_bool, check_choice, check_id, check_int, check_text
from ..errors import InvalidRequestError
from ._base import rule

__all__ = ["Checkout", "CreateCheckoutRequest", "LineItem", "SubscriptionData"]

CheckoutType = Literal["deposit", "withdrawal"]
Experience = Literal["web", "webview"]
Interval = Literal["day", "week", "month", "year"]


def _product_id(field: str, value: object) -> str:
    return check_id(field, value, "pr_")


def _customer_id(field: str, value: object) -> str:
    return check_id(field, value, "cus_")


def _checkout_type(field: str, value: object) -> str:
    return check_choice(field, value, ("deposit", "withdrawal"))


def _experience(field: str, value: object) -> str:
    return check_choice(field, value, ("web", "webview"))


def _interval(field: str, value: object) -> str:
    return check_choice(field, value, ("day", "week", "month", "year"))


@attrs.frozen(kw_only=True)
class LineItem:
    """One line of a purchase: an existing product, or a product described inline.

    Build it with `LineItem.product(...)` or `LineItem.inline(...)`. With `dedup=True`
    Soap reuses an existing product whose `sku` and `price_cents` both match, so `sku`
    is then required. `sku="shipping"` and `sku="tax"` show as shipping and tax lines.

    ```python
    LineItem.inline("Gold Coins Pack", price_cents=999, sku="gold-1000", dedup=True)
    LineItem.product("pr_9kX...", quantity=2)
    ```
    """

    quantity: int = attrs.field(validator=rule(check_int))
    product_id: str | None = attrs.field(default=None, validator=rule(_product_id, optional=True))
    name: str | None = attrs.field(default=None, validator=rule(check_text, optional=True))
    price_cents: int | None = attrs.field(default=None, validator=rule(check_int, optional=True))
    sku: str | None = attrs.field(default=None, validator=rule(check_text, optional=True))
    url: str | None = attrs.field(default=None, validator=rule(check_text, optional=True))
    dedup: bool | None = attrs.field(default=None, validator=rule(check_bool, optional=True))

    def __attrs_post_init__(self) -> None:
        inline = (self.name, self.price_cents, self.sku, self.url, self.dedup)
        if self.product_id is not None:
            if any(value is not None for value in inline):
                raise InvalidRequestError(
                    "a line item is either an existing product (product_id, quantity) or an "
                    "inline product (name, price_cents, ...), not both",
                    field="product_id",
                )
            return
        if self.name is None or self.price_cents is None:
            raise InvalidRequestError(
                "a line item needs product_id, or name and price_cents for an inline product",
                field="name" if self.name is None else "price_cents",
            )
        if self.dedup and self.sku is None:
            raise InvalidRequestError("sku is required when dedup is true", field="sku")

    @classmethod
    def product(cls, product_id: str, quantity: int = 1) -> LineItem:
        """A line for an existing product (`pr_...`)."""
        return cls(product_id=product_id, quantity=quantity)

    @classmethod
    def inline(
        cls,
        name: str,
        price_cents: int,
        quantity: int = 1,
        *,
        sku: str | None = None,
        url: str | None = None,
        dedup: bool | None = None,
    ) -> LineItem:
        """A line for a product described here; `price_cents` is the unit price."""
        return cls(
            name=name, price_cents=price_cents, quantity=quantity, sku=sku, url=url, dedup=dedup
        )


@attrs.frozen(kw_only=True)
class SubscriptionData:
    """How often a subscription charges: every `interval_count` `interval`s."""

    interval: Interval = attrs.field(validator=rule(_interval))
    interval_count: int = attrs.field(default=1, validator=rule(check_int))


def _line_items(value: Iterable[LineItem] | None) -> tuple[LineItem, ...] | None:
    if value is None:
        return None
    if isinstance(value, (str, bytes, LineItem)) or not isinstance(value, Iterable):
        raise InvalidRequestError("line_items must be a list of LineItem", field="line_items")
    items = tuple(value)
    if not items:
        raise InvalidRequestError("line_items must not be empty", field="line_items")
    for item in items:
        if not isinstance(item, LineItem):
            raise InvalidRequestError(
                f"line_items must hold LineItem objects, got {type(item).__name__}",
                field="line_items",
            )
    return items


@attrs.frozen(kw_only=True)
class CreateCheckoutRequest:
    """A hosted checkout session. Prefer the named constructors, one per Soap flow:

    | flow | constructor |
    |---|---|
    | deposit, the customer types the amount | `CreateCheckoutRequest.deposit(...)` |
    | deposit of a preset amount | `CreateCheckoutRequest.preset_deposit(...)` |
    | digital-goods or ecommerce purchase | `CreateCheckoutRequest.purchase(...)` |
    | subscription | `CreateCheckoutRequest.subscription(...)` |
    | withdrawal up to a balance | `CreateCheckoutRequest.balance_withdrawal(...)` |
    | withdrawal of a preset amount | `CreateCheckoutRequest.preset_withdrawal(...)` |

    The SDK refuses shapes no flow has (line items on a withdrawal, a subscription
    without line items, ...); which flows your account may use is Soap's decision.

    ```python
    request = CreateCheckoutRequest.purchase(
        "cus_...", [LineItem.inline("Gold Coins", price_cents=999)], return_url="https://..."
    )
    ```
    """

    customer_id: str = attrs.field(validator=rule(_customer_id))
    type: CheckoutType = attrs.field(validator=rule(_checkout_type))
    line_items: tuple[LineItem, ...] | None = attrs.field(default=None, converter=_line_items)
    subscription_data: SubscriptionData | None = None
    fixed_amount_cents: int | None = attrs.field(
        default=None, validator=rule(check_int, optional=True)
    )
    balance_amount_cents: int | None = attrs.field(
        default=None, validator=rule(check_int, optional=True)
    )
    experience: Experience | None = attrs.field(
        default=None, validator=rule(_experience, optional=True)
    )
    return_url: str | None = attrs.field(default=None, validator=rule(check_text, optional=True))

    def __attrs_post_init__(self) -> None:
        def refuse(field: str, rule: str) -> None:
            raise InvalidRequestError(f"{field} {rule}", field=field)

        if self.subscription_data is not None and not isinstance(
            self.subscription_data, SubscriptionData
        ):
            refuse("subscription_data", "must be a SubscriptionData")
        if self.type == "withdrawal":
            if self.line_items is not None:
                refuse("line_items", "are not used by withdrawals")
            if self.subscription_data is not None:
                refuse("subscription_data", "is not used by withdrawals")
            if self.fixed_amount_cents is not None and self.balance_amount_cents is not None:
                refuse("balance_amount_cents", "cannot be combined with fixed_amount_cents")
            return
        if self.balance_amount_cents is not None:
            refuse("balance_amount_cents", "is only used by withdrawals")
        if self.subscription_data is not None and self.line_items is None:
            refuse("subscription_data", "needs line_items (what the subscription sells)")
        if self.line_items is not None and self.fixed_amount_cents is not None:
            refuse("fixed_amount_cents", "cannot be combined with line_items")

    @classmethod
    def deposit(
        cls,
        customer_id: str,
        *,
        experience: Experience | None = None,
        return_url: str | None = None,
    ) -> CreateCheckoutRequest:
        """A deposit where the customer chooses the amount."""
        return cls(
            customer_id=customer_id, type="deposit", experience=experience, return_url=return_url
        )

    @classmethod
    def preset_deposit(
        cls,
        customer_id: str,
        amount_cents: int,
        *,
        experience: Experience | None = None,
        return_url: str | None = None,
    ) -> CreateCheckoutRequest:
        """A deposit of a fixed amount."""
        return cls(
            customer_id=customer_id,
            type="deposit",
            fixed_amount_cents=amount_cents,
            experience=experience,
            return_url=return_url,
        )

    @classmethod
    def purchase(
        cls,
        customer_id: str,
        line_items: Iterable[LineItem],
        *,
        experience: Experience | None = None,
        return_url: str | None = None,
    ) -> CreateCheckoutRequest:
        """A purchase of line items (digital goods, or ecommerce with shipping and tax)."""
        return cls(
            customer_id=customer_id,
            type="deposit",
            line_items=tuple(line_items),
            experience=experience,
            return_url=return_url,
        )

    @classmethod
    def subscription(
        cls,
        customer_id: str,
        line_items: Iterable[LineItem],
        interval: Interval,
        interval_count: int = 1,
        *,
        experience: Experience | None = None,
        return_url: str | None = None,
    ) -> CreateCheckoutRequest:
        """A subscription to line items, charged every `interval_count` `interval`s."""
        return cls(
            customer_id=customer_id,
            type="deposit",
            line_items=tuple(line_items),
            subscription_data=SubscriptionData(interval=interval, interval_count=interval_count),
            experience=experience,
            return_url=return_url,
        )

    @classmethod
    def balance_withdrawal(
        cls,
        customer_id: str,
        balance_cents: int,
        *,
        experience: Experience | None = None,
        return_url: str | None = None,
    ) -> CreateCheckoutRequest:
        """A withdrawal of any amount up to the customer's withdrawable balance."""
        return cls(
            customer_id=customer_id,
            type="withdrawal",
            balance_amount_cents=balance_cents,
            experience=experience,
            return_url=return_url,
        )

    @classmethod
    def preset_withdrawal(
        cls,
        customer_id: str,
        amount_cents: int,
        *,
        experience: Experience | None = None,
        return_url: str | None = None,
    ) -> CreateCheckoutRequest:
        """A withdrawal of a fixed amount."""
        return cls(
            customer_id=customer_id,
            type="withdrawal",
            fixed_amount_cents=amount_cents,
            experience=experience,
            return_url=return_url,
        )


@attrs.frozen(kw_only=True)
class Checkout:
    """A checkout session: send the customer to `url` (it embeds `client_secret`).

    Both open the session to whoever holds them, so neither appears in the repr.

    `type` and `experience` are kept as Soap sends them, so a new value never breaks
    parsing. `subscription` is Soap's subscription object (its shape is undocumented)
    or `None`.
    """

    id: str
    url: str = attrs.field(repr=False)
    client_secret: str = attrs.field(repr=False)
    type: str
    line_items: list[dict[str, Any]] = attrs.field(factory=list)
    line_items_total_amount_cents: int | None = None
    balance_amount_cents: int | None = None
    experience: str | None = None
    subscription: dict[str, Any] | None = None
