"""Builders of realistic Soap webhook events, for testing webhook handlers.

Like the fake server, this module is an independent reading of the contract
(``soap-api.md`` §5.2 and the ``webhooks`` of ``soap-openapi.yaml``): it shares no code
with the SDK.
"""

from __future__ import annotations

import copy
import datetime
import secrets
from collections.abc import Mapping
from typing import Any, Literal

__all__ = ["EVENT_TYPES", "make_event"]

_BASE58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"

# Charge-style events: (checkout type, charge status, charge from_status).
_CHARGE_EVENTS: dict[str, tuple[str, str, str]] = {
    "checkout.pending": ("deposit", "pending", "created"),
    "checkout.succeeded": ("deposit", "succeeded", "pending"),
    "checkout.failed": ("deposit", "failed", "pending"),
    "checkout.hold": ("withdrawal", "held", "created"),
    "checkout.release_hold": ("withdrawal", "failed", "held"),
    "checkout.returned": ("deposit", "returned", "succeeded"),
    "checkout.voided": ("deposit", "voided", "succeeded"),
}
# Events that end a session: the name of their (non ISO 8601) timestamp field.
_ENDING_EVENTS: dict[str, str] = {
    "checkout.expired": "expired_at",
    "checkout.terminally_failed": "terminally_failed_at",
}
# Manual payment review events: the review status.
_REVIEW_EVENTS: dict[str, str] = {
    "checkout.review.created": "created",
    "checkout.review.approved": "approved",
    "checkout.review.declined": "declined",
}

EVENT_TYPES: tuple[str, ...] = (*_CHARGE_EVENTS, *_ENDING_EVENTS, *_REVIEW_EVENTS)
"""The twelve webhook event types Soap is known to send, in the order of soap-api.md §5.2."""

_DECLINE_REASON = "Payment declined after manual review"


def make_event(
    type: str,
    *,
    checkout_id: str | None = None,
    customer_id: str | None = None,
    amount_cents: int = 1000,
    checkout_type: Literal["deposit", "withdrawal"] | None = None,
    **overrides: Any,
) -> dict[str, Any]:
    """Build a realistic webhook event of type `type`, to feed a webhook handler.

    Every event is an envelope `{"event_id": "ev_...", "type": type, "data": {...}}` with
    a fresh `event_id`; `data.id` is the checkout id and `data.type` the checkout type.
    `data` then depends on the type:

    - charge-style (`checkout.pending`, `succeeded`, `failed`, `hold`, `release_hold`,
      `returned`, `voided`): `charge` `{id, status, from_status, amount_cents,
      transaction_type}`, `customer` `{id}`, `line_items` (empty) and
      `line_items_total_amount_cents` (null). `hold` and `release_hold` are withdrawals
      (`transaction_type` `debit`), the others deposits (`credit`); the statuses follow
      the documented transitions, e.g. `held` from `created` for `checkout.hold`.
    - `checkout.expired` / `checkout.terminally_failed`: `customer` and `expired_at` /
      `terminally_failed_at`, formatted like Soap does, `"2025-05-30 06:05:22 UTC"`
      (not ISO 8601).
    - `checkout.review.*`: `customer` and a `review` `{id cpilr_..., status,
      decline_reason, reviewed_at, created_at, amount_cents}` with ISO 8601 timestamps;
      `decline_reason` is only set for `declined`, `reviewed_at` only once reviewed.

    Args:
        type: one of [`EVENT_TYPES`][soap_async.testing.EVENT_TYPES].
        checkout_id: `data.id`; a fresh `chk_...` id by default.
        customer_id: `data.customer.id`; a fresh `cus_...` id by default.
        amount_cents: the charge's (or the review's) amount.
        checkout_type: `data.type`, `"deposit"` or `"withdrawal"`; by default
            `"withdrawal"` for `checkout.hold` and `checkout.release_hold`, else
            `"deposit"`. It also sets `charge.transaction_type` (`debit` / `credit`).
        **overrides: keys of `data` to set. A dict merges into the default dict (so
            `charge={"status": "failed"}` changes only the status); any other value
            replaces the default. `event_id=` replaces the envelope's id.

    Raises:
        ValueError: `type` is not a known event type.
    """
    if type not in EVENT_TYPES:
        raise ValueError(f"unknown event type {type!r}; known types: {', '.join(EVENT_TYPES)}")
    event_id = overrides.pop("event_id", None) or _new_id("ev_")
    now = datetime.datetime.now(datetime.timezone.utc)
    kind = checkout_type or (_CHARGE_EVENTS[type][0] if type in _CHARGE_EVENTS else "deposit")
    data: dict[str, Any] = {
        "id": checkout_id or _new_id("chk_"),
        "type": kind,
        "customer": {"id": customer_id or _new_id("cus_")},
    }
    if type in _CHARGE_EVENTS:
        _, status, from_status = _CHARGE_EVENTS[type]
        data["charge"] = {
            "id": _new_id("ch_"),
            "status": status,
            "from_status": from_status,
            "amount_cents": amount_cents,
            "transaction_type": "debit" if kind == "withdrawal" else "credit",
        }
        data["line_items"] = []
        data["line_items_total_amount_cents"] = None
    elif type in _ENDING_EVENTS:
        data[_ENDING_EVENTS[type]] = now.strftime("%Y-%m-%d %H:%M:%S UTC")
    else:
        status = _REVIEW_EVENTS[type]
        opened = now - datetime.timedelta(minutes=5)
        data["review"] = {
            "id": _new_id("cpilr_"),
            "status": status,
            "decline_reason": _DECLINE_REASON if status == "declined" else None,
            "reviewed_at": None if status == "created" else _iso_seconds(now),
            "created_at": _iso_seconds(opened),
            "amount_cents": amount_cents,
        }
    return {"event_id": event_id, "type": type, "data": _merged(data, overrides)}


def _merged(base: Mapping[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    """`base` with `overrides` applied: dicts merge recursively, other values replace."""
    result = dict(base)
    for key, value in overrides.items():
        current = result.get(key)
        if isinstance(value, Mapping) and isinstance(current, Mapping):
            result[key] = _merged(current, value)
        else:
            result[key] = copy.deepcopy(value)
    return result


def _new_id(prefix: str) -> str:
    """A Soap-looking id: `prefix` plus 32 base58 characters (soap-api.md §6)."""
    return prefix + "".join(secrets.choice(_BASE58) for _ in range(32))


def _iso_seconds(moment: datetime.datetime) -> str:
    """ISO 8601 in UTC to the second, the format of review timestamps."""
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
