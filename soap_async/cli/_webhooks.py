"""`soap-async webhooks verify`: check a saved delivery's signature and parse it."""

from __future__ import annotations

import datetime as dt
import time
from typing import IO

import click

from ..errors import WebhookVerificationError
from ..webhooks import (
    DEFAULT_TOLERANCE,
    LEGACY_SIGNATURE_HEADER,
    SIGNATURE_HEADER,
    UnknownEvent,
    parse_event,
    verify_signature,
)
from ._common import Settings, echo_fields, echo_json, json_option

__all__ = ["webhooks"]


def _tolerance(ctx: click.Context, param: click.Parameter, value: str) -> float | None:
    """Seconds >= 0, or `none` to skip the timestamp check."""
    text = value.strip().lower()
    if text in ("none", "off"):
        return None
    try:
        seconds = float(text)
    except ValueError:
        raise click.BadParameter(f"expected seconds or 'none', got {value!r}") from None
    if not seconds >= 0:  # also refuses NaN
        raise click.BadParameter(f"must be >= 0 or 'none', got {value!r}")
    return seconds


def _header_value(signature: str) -> str:
    """The header's value, also when the whole `Name: value` line was pasted."""
    name, sep, rest = signature.partition(":")
    known = (SIGNATURE_HEADER.lower(), LEGACY_SIGNATURE_HEADER.lower(), "soap-signature")
    if sep and name.strip().lower() in known:
        return rest.strip()
    return signature.strip()


@click.group()
def webhooks() -> None:
    """Webhook deliveries."""


@webhooks.command("verify")
@click.argument("body", type=click.File("rb"), default="-", metavar="[FILE]")
@click.option(
    "--secret",
    envvar="SOAP_WEBHOOK_SECRET",
    show_envvar=True,
    show_default=False,
    help="The Webhook Secret from the Soap dashboard (prefer the environment variable: "
    "command lines are visible to other users).",
)
@click.option(
    "--signature",
    required=True,
    metavar="HEADER",
    help="The SOAP-WEBHOOK-SIGNATURE header's value, t=<unix>,v1=<hex>.",
)
@click.option(
    "--tolerance",
    default=f"{DEFAULT_TOLERANCE:g}",
    callback=_tolerance,
    metavar="SECONDS|none",
    show_default=True,
    help="Seconds the signature's timestamp may be off from now; 'none' skips the check "
    "(for bodies saved a while ago).",
)
@json_option
@click.pass_obj
def verify(
    settings: Settings, body: IO[bytes], secret: str | None, signature: str, tolerance: float | None
) -> None:
    """Verify the signature of a saved raw webhook body (FILE, or - for stdin).

    Prints the event's type and id, or why it is not a genuine Soap delivery (exit 1).
    The body must be the exact bytes Soap sent: re-formatted JSON does not verify.
    """
    if secret is None or not secret.strip():
        raise click.UsageError(
            "No webhook secret: set the SOAP_WEBHOOK_SECRET environment variable or pass --secret."
        )
    raw = body.read()
    try:
        timestamp = verify_signature(raw, _header_value(signature), secret, tolerance=tolerance)
        event = parse_event(raw)
    except WebhookVerificationError as exc:
        if settings.json:
            echo_json({"verified": False, "error": str(exc)})
            raise click.exceptions.Exit(1) from None
        raise click.ClickException(f"not verified: {exc}") from None
    signed_at = dt.datetime.fromtimestamp(timestamp, dt.timezone.utc)
    if settings.json:
        echo_json(
            {
                "verified": True,
                "event_id": event.event_id,
                "type": event.type,
                "known_type": not isinstance(event, UnknownEvent),
                "signed_at": signed_at.isoformat(),
            }
        )
        return
    age = round(time.time() - timestamp)
    echo_fields(
        [
            ("verified", "yes"),
            ("type", event.type + ("" if not isinstance(event, UnknownEvent) else " (unknown)")),
            ("event_id", event.event_id),
            ("signed_at", f"{signed_at.isoformat()} ({age} s ago)"),
        ]
    )
