"""`soap-async customers create|search|update|import`."""

from __future__ import annotations

import click

from ..models.customers import Customer
from ._common import Settings, echo_fields, echo_json, json_option, run_async, to_jsonable
from ._import import import_customers

__all__ = ["customers"]


def show_customer(customer: Customer, json_output: bool) -> None:
    if json_output:
        echo_json(to_jsonable(customer))
        return
    echo_fields(
        [
            ("id", customer.id),
            ("email", customer.email),
            ("first_name", customer.first_name),
            ("last_name", customer.last_name),
            ("phone_number", customer.phone_number),
            ("date_of_birth", customer.date_of_birth),
            ("internal_id", customer.internal_id),
            ("created_at", customer.created_at.isoformat()),
            ("updated_at", customer.updated_at and customer.updated_at.isoformat()),
        ]
    )


@click.group()
def customers() -> None:
    """Create, find and update customers; import them from a file."""


@customers.command()
@click.option("--email", required=True, help="Unique per customer.")
@click.option("--first-name", required=True)
@click.option("--last-name", required=True)
@click.option("--phone-number", help="10 US digits; (800) 800-1234 and +1 800 800 1234 work.")
@click.option("--date-of-birth", metavar="YYYY-MM-DD")
@click.option("--internal-id", help="Your own id for this customer.")
@json_option
@click.pass_obj
def create(
    settings: Settings,
    email: str,
    first_name: str,
    last_name: str,
    phone_number: str | None,
    date_of_birth: str | None,
    internal_id: str | None,
) -> None:
    """Create a customer and print it."""
    client = settings.client()

    async def go() -> Customer:
        async with client:
            return await client.customers.create(
                email=email,
                first_name=first_name,
                last_name=last_name,
                phone_number=phone_number,
                date_of_birth=date_of_birth,
                internal_id=internal_id,
            )

    show_customer(run_async(go()), settings.json)


@customers.command(short_help="Find customers by email and/or phone number.")
@click.option("--email")
@click.option("--phone-number")
@json_option
@click.pass_obj
def search(settings: Settings, email: str | None, phone_number: str | None) -> None:
    """Find customers by email and/or phone number (both must match when both are given)."""
    if email is None and phone_number is None:
        raise click.UsageError("give --email, --phone-number or both")
    client = settings.client()

    async def go() -> list[Customer]:
        async with client:
            return await client.customers.search(email=email, phone_number=phone_number)

    found = run_async(go())
    if settings.json:
        echo_json([to_jsonable(customer) for customer in found])
        return
    if not found:
        click.echo("No customer found.")
        return
    for number, customer in enumerate(found):
        if number:
            click.echo()
        show_customer(customer, json_output=False)


@customers.command(short_help="Change some fields of a customer.")
@click.argument("customer_id")
@click.option("--email")
@click.option("--first-name")
@click.option("--last-name")
@click.option("--phone-number")
@click.option("--date-of-birth", metavar="YYYY-MM-DD")
@json_option
@click.pass_obj
def update(
    settings: Settings,
    customer_id: str,
    email: str | None,
    first_name: str | None,
    last_name: str | None,
    phone_number: str | None,
    date_of_birth: str | None,
) -> None:
    """Change some fields of customer CUSTOMER_ID (cus_...) and print the result."""
    if all(value is None for value in (email, first_name, last_name, phone_number, date_of_birth)):
        raise click.UsageError(
            "give at least one field to change: --email, --first-name, --last-name, "
            "--phone-number, --date-of-birth"
        )
    client = settings.client()

    async def go() -> Customer:
        async with client:
            return await client.customers.update(
                customer_id,
                email=email,
                first_name=first_name,
                last_name=last_name,
                phone_number=phone_number,
                date_of_birth=date_of_birth,
            )

    show_customer(run_async(go()), settings.json)


customers.add_command(import_customers)
