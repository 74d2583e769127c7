"""An aiohttp web app: customer sign-up through one shared client, and Soap webhooks.

- `POST /signup` with a JSON body `{"email", "first_name", "last_name"}` (optionally
  `phone_number`, `date_of_birth`) creates the customer at Soap and answers 201
  `{"customer_id": "cus_..."}`; bad input is a 400, an email already registered a 409.
- `POST /soap/webhooks` receives Soap's webhooks and keeps a small in-memory ledger:
  a succeeded deposit credits the customer, `checkout.hold` debits the withdrawal when
  the balance covers it (answering 200) or refuses it (402), and
  `checkout.release_hold` credits back a withdrawal that failed after its hold.
- `GET /customers/{customer_id}/balance` shows the ledger: `{"balance_cents": 1500}`.

Run it (configuration from the environment, nothing hard-coded):

    SOAP_API_KEY=... SOAP_WEBHOOK_SECRET=... python examples/aiohttp_app.py --port 8080

Against the fake server instead of Soap's sandbox: start one (`soap-async fake-server`,
or see docs/testing.md), then also set `SOAP_BASE_URL` to its URL; its API key is
`key_test` and it signs webhooks with `wss_test` unless told otherwise. Then:

    curl -X POST localhost:8080/signup -H 'Content-Type: application/json' \\
        -d '{"email": "ada@example.com", "first_name": "Ada", "last_name": "Lovelace"}'

The app creates its `AsyncSoapClient` once, at startup, and shares it (and its
connection pool) between all requests; it is closed at shutdown.
"""

from __future__ import annotations

import argparse
import logging
import os
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any

from aiohttp import web

from soap_async import AsyncSoapClient, EmailTakenError, InvalidRequestError, SoapError
from soap_async.webhooks import (
    CheckoutHoldEvent,
    CheckoutReleaseHoldEvent,
    CheckoutSucceededEvent,
    EventDeduplicator,
    WebhookEvent,
    webhook_handler,
)

__all__ = ["LEDGER", "SOAP_CLIENT", "Ledger", "main", "make_app"]

log = logging.getLogger("examples.aiohttp_app")

SIGNUP_FIELDS = ("email", "first_name", "last_name", "phone_number", "date_of_birth")


class Ledger:
    """Balances in cents per customer id, in memory.

    A real app keeps them in its database and makes each booking idempotent (keyed on
    the event id), since deduplication in memory only covers one process.
    """

    def __init__(self) -> None:
        self._balances: dict[str, int] = {}

    def balance(self, customer_id: str) -> int:
        """The customer's balance (0 for a customer never seen)."""
        return self._balances.get(customer_id, 0)

    def credit(self, customer_id: str, cents: int) -> None:
        """Add `cents` to the customer's balance."""
        self._balances[customer_id] = self.balance(customer_id) + cents

    def try_debit(self, customer_id: str, cents: int) -> bool:
        """Take `cents` if the balance covers them; whether it did."""
        if self.balance(customer_id) < cents:
            return False
        self._balances[customer_id] = self.balance(customer_id) - cents
        return True


SOAP_CLIENT = web.AppKey("soap_client", AsyncSoapClient)
LEDGER = web.AppKey("ledger", Ledger)


def on_soap_event(ledger: Ledger) -> Callable[[WebhookEvent], bool | None]:
    """The webhook handler: books each event in `ledger`.

    It is a plain function, so it runs on the event loop without awaiting anything in
    the middle of a booking. For `checkout.hold` its return value is the decision
    (`True`: funds available, 200; `False`: 402, Soap aborts the withdrawal).
    """

    def handle(event: WebhookEvent) -> bool | None:
        match event:
            case CheckoutHoldEvent(data=data):
                approved = ledger.try_debit(data.customer.id, data.charge.amount_cents)
                log.info("hold %s for %s: %s", data.id, data.customer.id, approved)
                return approved
            case CheckoutSucceededEvent(data=data) if data.type == "deposit":
                ledger.credit(data.customer.id, data.charge.amount_cents)
            case CheckoutReleaseHoldEvent(data=data):
                ledger.credit(data.customer.id, data.charge.amount_cents)
            case _:
                pass  # a succeeded withdrawal was debited on hold; others: nothing to book
        return None

    return handle


async def signup(request: web.Request) -> web.Response:
    """`POST /signup`: create the customer at Soap; 201 with its id."""
    try:
        body: Any = await request.json()
    except ValueError:
        return web.json_response({"error": "the body must be JSON"}, status=400)
    if not isinstance(body, dict):
        return web.json_response({"error": "the body must be a JSON object"}, status=400)
    fields = {name: body.get(name) for name in SIGNUP_FIELDS}
    try:
        customer = await request.app[SOAP_CLIENT].customers.create(**fields)
    except InvalidRequestError as error:
        return web.json_response({"error": str(error), "field": error.field}, status=400)
    except EmailTakenError:
        return web.json_response({"error": "this email is already registered"}, status=409)
    except SoapError:
        # Soap down (after the SDK's retries), or our own configuration is wrong.
        log.exception("customer creation failed")
        return web.json_response({"error": "the payment service is unavailable"}, status=502)
    return web.json_response({"customer_id": customer.id}, status=201)


async def balance(request: web.Request) -> web.Response:
    """`GET /customers/{customer_id}/balance`: the ledger's balance of a customer."""
    cents = request.app[LEDGER].balance(request.match_info["customer_id"])
    return web.json_response({"balance_cents": cents})


def make_app(
    *,
    webhook_secret: str | None = None,
    client_factory: Callable[[], AsyncSoapClient] = AsyncSoapClient,
    ledger: Ledger | None = None,
) -> web.Application:
    """The application.

    - `webhook_secret`: defaults to `SOAP_WEBHOOK_SECRET`; an empty one is refused
      here (`InvalidRequestError`), not when the first webhook arrives.
    - `client_factory`: makes the shared client at startup; `AsyncSoapClient` reads
      `SOAP_API_KEY` (and `SOAP_BASE_URL`, `SOAP_ENVIRONMENT`) from the environment.
    - `ledger`: where balances are kept (a new, empty one by default); also
      `app[LEDGER]`.
    """
    secret = os.environ.get("SOAP_WEBHOOK_SECRET", "") if webhook_secret is None else webhook_secret
    app = web.Application()
    app[LEDGER] = ledger if ledger is not None else Ledger()

    async def soap_client(app: web.Application) -> AsyncIterator[None]:
        async with client_factory() as client:
            app[SOAP_CLIENT] = client
            yield

    app.cleanup_ctx.append(soap_client)
    app.router.add_post("/signup", signup)
    app.router.add_get("/customers/{customer_id}/balance", balance)
    app.router.add_post(
        "/soap/webhooks",
        webhook_handler(secret, on_soap_event(app[LEDGER]), seen=EventDeduplicator()),
    )
    return app


def main(argv: Sequence[str] | None = None) -> None:
    """Serve the app until interrupted (Ctrl-C)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--host", default="127.0.0.1", help="interface (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8080, help="port (default 8080)")
    args = parser.parse_args(argv)
    for name in ("SOAP_API_KEY", "SOAP_WEBHOOK_SECRET"):
        if not os.environ.get(name):
            parser.error(f"set {name} (see the module docstring)")
    logging.basicConfig(level=logging.INFO)
    web.run_app(make_app(), host=args.host, port=args.port)


if __name__ == "__main__":
    main()
