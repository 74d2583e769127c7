"""`soap-async checkouts create` and `soap-async charges get`."""

from __future__ import annotations

from typing import Any

import click

from ..models.charges import Charge
from ..models.checkouts import Checkout, CreateCheckoutRequest, LineItem
from ._common import Settings, echo_fields, echo_json, json_option, run_async, to_jsonable

__all__ = ["charges", "checkouts"]

FLOWS = (
    "deposit",
    "preset-deposit",
    "purchase",
    "subscription",
    "balance-withdrawal",
    "preset-withdrawal",
)


def _int(text: str, what: str, param: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise click.BadParameter(
            f"{what} must be a whole number, got {text!r}", param_hint=param
        ) from None


def parse_item(text: str) -> LineItem:
    """`NAME:PRICE_CENTS[:QTY[:SKU]]` as an inline line item."""
    parts = text.split(":")
    if not 2 <= len(parts) <= 4 or not parts[0].strip():
        raise click.BadParameter(
            f"expected NAME:PRICE_CENTS[:QTY[:SKU]], got {text!r}", param_hint="--item"
        )
    name, price = parts[0].strip(), _int(parts[1], "PRICE_CENTS", "--item")
    quantity = _int(parts[2], "QTY", "--item") if len(parts) > 2 and parts[2] else 1
    sku = (parts[3].strip() or None) if len(parts) > 3 else None
    return LineItem.inline(name, price, quantity, sku=sku)


def parse_product(text: str) -> LineItem:
    """`PR_ID[:QTY]` as a line item for an existing product."""
    product_id, _, quantity = text.partition(":")
    if not product_id.strip():
        raise click.BadParameter(f"expected PR_ID[:QTY], got {text!r}", param_hint="--product")
    count = _int(quantity, "QTY", "--product") if quantity else 1
    return LineItem.product(product_id.strip(), count)


def build_checkout(
    customer_id: str,
    flow: str,
    *,
    amount_cents: int | None,
    items: tuple[str, ...],
    products: tuple[str, ...],
    interval: str | None,
    interval_count: int | None,
    experience: Any,
    return_url: str | None,
) -> CreateCheckoutRequest:
    """The request of a `--flow`, refusing the options that flow does not use."""
    lines = [parse_item(item) for item in items] + [parse_product(p) for p in products]
    uses_amount = flow in ("preset-deposit", "balance-withdrawal", "preset-withdrawal")
    uses_lines = flow in ("purchase", "subscription")
    if amount_cents is None and uses_amount:
        raise click.UsageError(f"--flow {flow} needs --amount-cents")
    if amount_cents is not None and not uses_amount:
        raise click.UsageError(f"--flow {flow} takes no --amount-cents")
    if uses_lines and not lines:
        raise click.UsageError(f"--flow {flow} needs at least one --item or --product")
    if lines and not uses_lines:
        raise click.UsageError(f"--flow {flow} takes no --item or --product")
    if flow == "subscription" and interval is None:
        raise click.UsageError("--flow subscription needs --interval")
    if flow != "subscription" and (interval is not None or interval_count is not None):
        raise click.UsageError("--interval and --interval-count are for --flow subscription")
    common: dict[str, Any] = {"experience": experience, "return_url": return_url}
    if flow == "deposit":
        return CreateCheckoutRequest.deposit(customer_id, **common)
    if flow == "purchase":
        return CreateCheckoutRequest.purchase(customer_id, lines, **common)
    if flow == "subscription":
        assert interval is not None
        return CreateCheckoutRequest.subscription(
            customer_id,
            lines,
            interval,  # type: ignore[arg-type]  # click.Choice checked it
            interval_count if interval_count is not None else 1,
            **common,
        )
    assert amount_cents is not None
    if flow == "preset-deposit":
        return CreateCheckoutRequest.preset_deposit(customer_id, amount_cents, **common)
    if flow == "balance-withdrawal":
        return CreateCheckoutRequest.balance_withdrawal(customer_id, amount_cents, **common)
    return CreateCheckoutRequest.preset_withdrawal(customer_id, amount_cents, **common)


@click.group()
def checkouts() -> None:
    """Hosted checkout sessions."""


@checkouts.command("create")
@click.argument("customer_id")
@click.option("--flow", type=click.Choice(FLOWS), required=True, help="Which Soap flow.")
@click.option(
    "--amount-cents",
    type=click.IntRange(min=1),
    help="The amount (preset-deposit, preset-withdrawal) or the balance (balance-withdrawal).",
)
@click.option(
    "--item",
    "items",
    multiple=True,
    metavar="NAME:PRICE_CENTS[:QTY[:SKU]]",
    help="An inline line item (purchase, subscription); repeatable.",
)
@click.option(
    "--product",
    "products",
    multiple=True,
    metavar="PR_ID[:QTY]",
    help="A line item for an existing product (purchase, subscription); repeatable.",
)
@click.option("--interval", type=click.Choice(["day", "week", "month", "year"]))
@click.option("--interval-count", type=click.IntRange(min=1), help="Every N intervals (1).")
@click.option("--experience", type=click.Choice(["web", "webview"]))
@click.option("--return-url", help="Where Soap sends the customer afterwards.")
@json_option
@click.pass_obj
def create_checkout(
    settings: Settings,
    customer_id: str,
    flow: str,
    amount_cents: int | None,
    items: tuple[str, ...],
    products: tuple[str, ...],
    interval: str | None,
    interval_count: int | None,
    experience: str | None,
    return_url: str | None,
) -> None:
    """Create a checkout session for CUSTOMER_ID and print its id and URL.

    \b
    Flows: deposit (the customer picks the amount), preset-deposit (--amount-cents),
    purchase (--item/--product), subscription (--item/--product and --interval),
    balance-withdrawal (--amount-cents = the withdrawable balance),
    preset-withdrawal (--amount-cents).
    """
    request = build_checkout(
        customer_id,
        flow,
        amount_cents=amount_cents,
        items=items,
        products=products,
        interval=interval,
        interval_count=interval_count,
        experience=experience,
        return_url=return_url,
    )
    client = settings.client()

    async def go() -> Checkout:
        async with client:
            return await client.checkouts.create(request)

    checkout = run_async(go())
    if settings.json:
        echo_json(to_jsonable(checkout))
        return
    echo_fields(
        [
            ("id", checkout.id),
            ("type", checkout.type),
            ("total", _money(checkout.line_items_total_amount_cents)),
            ("balance", _money(checkout.balance_amount_cents)),
            ("url", checkout.url),
        ]
    )


def _money(cents: int | None, currency: str = "USD") -> str | None:
    if cents is None:
        return None
    return f"{cents / 100:,.2f} {currency.upper()} ({cents} cents)"


def _payment_summary(charge: Charge) -> str | None:
    method = charge.payment_method
    if method is None:
        return None
    if method.card is not None:
        card = method.card
        parts = [card.card_brand or "card"]
        if card.last_four:
            parts.append(f"**** {card.last_four}")
        if card.card_expiration_month and card.card_expiration_year:
            parts.append(f"exp {card.card_expiration_month:02d}/{card.card_expiration_year}")
        if card.apple_pay:
            parts.append("(Apple Pay)")
        elif card.google_pay:
            parts.append("(Google Pay)")
        return f"{method.payment_type}: {' '.join(parts)}"
    return method.payment_type


@click.group()
def charges() -> None:
    """Charges (money moved for a checkout)."""


@charges.command("get")
@click.argument("charge_id")
@json_option
@click.pass_obj
def get_charge(settings: Settings, charge_id: str) -> None:
    """Print charge CHARGE_ID (ch_...): status, amount and payment method."""
    client = settings.client()

    async def go() -> Charge:
        async with client:
            return await client.charges.retrieve(charge_id)

    charge = run_async(go())
    if settings.json:
        echo_json(to_jsonable(charge))
        return
    customer = charge.customer
    names = " ".join(n for n in (customer.first_name, customer.last_name) if n) if customer else ""
    failure = None
    if charge.failure_code or charge.failure_message:
        failure = ": ".join(x for x in (charge.failure_code, charge.failure_message) if x)
    echo_fields(
        [
            ("id", charge.id),
            ("status", str(charge.status)),
            ("amount", _money(charge.amount_cents, charge.currency)),
            ("type", str(charge.transaction_type)),
            ("customer", customer and (f"{customer.id} ({names})" if names else customer.id)),
            ("payment", _payment_summary(charge)),
            ("3-D Secure", charge.threeds and charge.threeds.status),
            ("failure", failure),
            ("created_at", charge.created_at.isoformat()),
            ("updated_at", charge.updated_at.isoformat()),
        ]
    )
