"""Soap webhooks: verify the signature, parse the event, answer Soap (with aiohttp).

```python
from soap_async.webhooks import CheckoutHoldEvent, construct_event, signature_from_headers

event = construct_event(raw_body, signature_from_headers(headers), secret)
if isinstance(event, CheckoutHoldEvent):
    ...
```

Soap signs every delivery with `SOAP-WEBHOOK-SIGNATURE: t=<unix seconds>,v1=<hex>`, where
the hex is HMAC-SHA256 of `b"<t>." + raw body`, keyed with the dashboard's Webhook Secret.
The secret never appears in a message, repr or log record built here.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import hashlib
import hmac
import http
import inspect
import json
import logging
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import Any, Literal, Protocol

import attrs
import cattrs
from aiohttp import web

from ._convert import converter, parse_datetime
from .errors import InvalidRequestError, WebhookVerificationError
from .models.charges import ChargeStatus, TransactionType

__all__ = [
    "DEFAULT_TOLERANCE",
    "EVENT_TYPES",
    "LEGACY_SIGNATURE_HEADER",
    "SIGNATURE_HEADER",
    "ChargeEvent",
    "ChargeEventData",
    "CheckoutExpiredEvent",
    "CheckoutFailedEvent",
    "CheckoutHoldEvent",
    "CheckoutPendingEvent",
    "CheckoutReleaseHoldEvent",
    "CheckoutReturnedEvent",
    "CheckoutReviewApprovedEvent",
    "CheckoutReviewCreatedEvent",
    "CheckoutReviewDeclinedEvent",
    "CheckoutSucceededEvent",
    "CheckoutTerminallyFailedEvent",
    "CheckoutVoidedEvent",
    "EventCharge",
    "EventCustomer",
    "EventDeduplicator",
    "EventLineItem",
    "EventReview",
    "ExpiredEventData",
    "ReviewEvent",
    "ReviewEventData",
    "SeenEventStore",
    "TerminallyFailedEventData",
    "UnknownEvent",
    "WebhookEvent",
    "compute_signature",
    "construct_event",
    "parse_event",
    "signature_from_headers",
    "signature_header",
    "verify_signature",
    "webhook_handler",
]

logger = logging.getLogger("soap_async.webhooks")

SIGNATURE_HEADER = "SOAP-WEBHOOK-SIGNATURE"
"""The header Soap signs deliveries with (header names are case-insensitive)."""

LEGACY_SIGNATURE_HEADER = "soap_signature"
"""The header name Soap's own sample code read before 2025-06; still accepted."""

DEFAULT_TOLERANCE = 300.0
"""Seconds a signature timestamp may differ from the local clock, either way."""

# Headers of real deliveries are short; a cap keeps int() and the loop below cheap on
# hostile input without refusing anything Soap could plausibly send.
_MAX_HEADER_LENGTH = 4096
_MAX_TIMESTAMP_DIGITS = 15


# --------------------------------------------------------------------------- signing


def _check_secret(secret: str) -> bytes:
    # A configuration mistake, not a bad delivery: raising InvalidRequestError (not
    # WebhookVerificationError) makes an empty SOAP_WEBHOOK_SECRET fail loudly as a 500
    # instead of being mistaken for a stream of forged requests.
    if not isinstance(secret, str) or not secret.strip():
        raise InvalidRequestError(
            "the webhook secret is empty; use the Webhook Secret from the Soap dashboard",
            field="secret",
        )
    return secret.encode("utf-8")


def _check_tolerance(tolerance: float | None) -> None:
    # "not >= 0" also catches NaN, which would silently accept every timestamp.
    if tolerance is not None and not tolerance >= 0:
        raise InvalidRequestError(
            f"tolerance must be a number of seconds >= 0 or None, got {tolerance!r}",
            field="tolerance",
        )


def _check_body(body: bytes) -> bytes:
    if isinstance(body, str):
        raise TypeError(
            "body must be the raw request bytes, not str: the signature covers the exact "
            "bytes Soap sent, and decoding or re-serializing them can break it"
        )
    if not isinstance(body, (bytes, bytearray, memoryview)):
        raise TypeError(f"body must be bytes, got {type(body).__name__}")
    return bytes(body)


def compute_signature(secret: str, timestamp: int, body: bytes) -> str:
    """The hex HMAC-SHA256 Soap puts in `v1=`: keyed with `secret`, over `b"<t>." + body`.

    ```python
    compute_signature("whsec_test", 1767225600, b'{"event_id":"ev_1"}')  # 64 hex digits
    ```
    """
    key = _check_secret(secret)
    message = b"%d." % timestamp + _check_body(body)
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def signature_header(secret: str, timestamp: int, body: bytes) -> str:
    """A complete `t=<t>,v1=<hex>` header value, for tests and the fake server.

    ```python
    header = signature_header("whsec_test", int(time.time()), body)
    assert verify_signature(body, header, "whsec_test") > 0
    ```
    """
    return f"t={timestamp},v1={compute_signature(secret, timestamp, body)}"


def _malformed(detail: str) -> WebhookVerificationError:
    # The detail says what was wrong, never what was sent: the header is attacker input
    # and ends up in logs.
    return WebhookVerificationError(f"malformed signature header: {detail}")


def _parse_header(header: str) -> tuple[int, list[str]]:
    if len(header) > _MAX_HEADER_LENGTH:
        raise _malformed("too long")
    timestamp: int | None = None
    signatures: list[str] = []
    for entry in header.split(","):
        entry = entry.strip()
        if not entry:
            continue
        key, sep, value = entry.partition("=")
        key, value = key.strip(), value.strip()
        if not sep or not key:
            raise _malformed("entries must look like key=value")
        if key == "t":
            if timestamp is not None:
                raise _malformed("more than one t= entry")
            if not (value.isascii() and value.isdigit()) or len(value) > _MAX_TIMESTAMP_DIGITS:
                raise _malformed("t= must be unix seconds")
            timestamp = int(value)
        elif key == "v1":
            signatures.append(value)
        # Any other scheme (v0, a future v2) is skipped so Soap can add one without
        # breaking receivers, as Stripe does.
    if timestamp is None:
        raise _malformed("no t= entry")
    if not signatures:
        raise _malformed("no v1= entry")
    return timestamp, signatures


def verify_signature(
    body: bytes,
    header: str | None,
    secret: str,
    *,
    tolerance: float | None = DEFAULT_TOLERANCE,
    now: Callable[[], float] = time.time,
) -> int:
    """Check a delivery's signature header against the raw body; return its timestamp.

    `header` is the `SOAP-WEBHOOK-SIGNATURE` value (see `signature_from_headers`). Every
    `v1=` entry is compared in constant time and one match is enough, so deliveries
    signed during a secret rotation verify. The timestamp may differ from `now()` by at
    most `tolerance` seconds in either direction (`None` turns the check off). Raises
    `WebhookVerificationError` with the reason, and `InvalidRequestError` for an empty
    secret (a configuration mistake).

    ```python
    timestamp = verify_signature(await request.read(), request.headers.get(SIGNATURE_HEADER),
                                 secret)
    ```
    """
    key = _check_secret(secret)
    raw = _check_body(body)
    _check_tolerance(tolerance)
    if header is None or not header.strip():
        raise WebhookVerificationError("missing signature header")
    timestamp, candidates = _parse_header(header)
    expected = hmac.new(key, b"%d." % timestamp + raw, hashlib.sha256).hexdigest().encode()
    matched = False
    for candidate in candidates:
        # Bytes, because compare_digest refuses non-ASCII str; and every entry is
        # compared, so timing says nothing about which one matched.
        matched |= hmac.compare_digest(expected, candidate.lower().encode("utf-8"))
    if not matched:
        raise WebhookVerificationError("no v1 signature matches")
    if tolerance is not None and abs(now() - timestamp) > tolerance:
        raise WebhookVerificationError(f"timestamp outside the tolerance of {tolerance:g} s")
    return timestamp


def signature_from_headers(headers: Mapping[str, str]) -> str | None:
    """The signature header's value, looked up case-insensitively under both names.

    Works with aiohttp's `CIMultiDict`, Starlette's `Headers`, Django's `request.headers`
    and plain dicts. `SOAP-WEBHOOK-SIGNATURE` wins over the legacy `soap_signature`,
    which is also found as `Soap-Signature` (how WSGI and Django spell it); `None` when
    there is none.

    ```python
    signature_from_headers({"soap-webhook-signature": "t=1,v1=ab"})  # "t=1,v1=ab"
    ```
    """
    # WSGI turns both "soap_signature" and "soap-signature" into HTTP_SOAP_SIGNATURE,
    # and Django hands that back as "Soap-Signature".
    wanted = (SIGNATURE_HEADER.lower(), LEGACY_SIGNATURE_HEADER.lower(), "soap-signature")
    found: dict[str, str] = {}
    for name, value in headers.items():
        lowered = name.lower()
        if lowered in wanted and lowered not in found:
            found[lowered] = value
    for name in wanted:
        if name in found:
            return found[name]
    return None


# --------------------------------------------------------------------------- models


@attrs.frozen(kw_only=True)
class EventCustomer:
    """The customer a webhook is about: only the id (`cus_...`) is sent.

    ```python
    EventCustomer(id="cus_A3GuXEbThpqk2t6UTxEuoceVJyUEAX7V")
    ```
    """

    id: str


@attrs.frozen(kw_only=True)
class EventCharge:
    """The charge in a charge-style event.

    `status` is e.g. `pending`, `succeeded`, `failed`, `held`, `returned` or `voided`, and
    `from_status` the status before this change: use it to put out-of-order deliveries
    in order. `transaction_type` is `credit` or `debit`. They are open enums, as on
    `Charge`: a known value is a `ChargeStatus` / `TransactionType` (equal to its
    string), a value Soap adds later arrives as a plain string. Money is integer cents.

    ```python
    EventCharge(id="ch_1", status="held", from_status="created", amount_cents=5000,
                transaction_type="debit")
    ```
    """

    id: str
    status: ChargeStatus | str
    amount_cents: int
    from_status: ChargeStatus | str | None = None
    transaction_type: TransactionType | str | None = None


@attrs.frozen(kw_only=True)
class EventLineItem:
    """One line item of a charge-style event.

    ```python
    EventLineItem(product_id="pr_1", quantity=2)
    ```
    """

    product_id: str | None = None
    quantity: int | None = None


@attrs.frozen(kw_only=True)
class ChargeEventData:
    """`data` of the seven charge-style events.

    `id` is the checkout you created (`chk_...`) and `type` is `deposit` or `withdrawal`
    (a plain string: an unknown value is kept, not refused).

    ```python
    ChargeEventData(id="chk_1", type="withdrawal", customer=EventCustomer(id="cus_1"),
                    charge=EventCharge(id="ch_1", status="held", amount_cents=5000))
    ```
    """

    id: str
    type: str
    charge: EventCharge
    customer: EventCustomer
    line_items: tuple[EventLineItem, ...] | None = None
    line_items_total_amount_cents: int | None = None


@attrs.frozen(kw_only=True)
class ExpiredEventData:
    """`data` of `checkout.expired`: no charge, and when the session expired.

    `expired_at` is timezone-aware; Soap sends it as `2025-05-30 06:05:22 UTC`.

    ```python
    ExpiredEventData(id="chk_1", type="withdrawal", customer=EventCustomer(id="cus_1"))
    ```
    """

    id: str
    type: str
    customer: EventCustomer
    expired_at: dt.datetime | None = None


@attrs.frozen(kw_only=True)
class TerminallyFailedEventData:
    """`data` of `checkout.terminally_failed`: no charge, and when the session failed.

    `terminally_failed_at` is timezone-aware; Soap sends it as `2025-05-30 06:05:22 UTC`.

    ```python
    TerminallyFailedEventData(id="chk_1", type="deposit", customer=EventCustomer(id="cus_1"))
    ```
    """

    id: str
    type: str
    customer: EventCustomer
    terminally_failed_at: dt.datetime | None = None


@attrs.frozen(kw_only=True)
class EventReview:
    """A manual payment review (`cpilr_...`).

    `status` is `created`, `approved` or `declined` (kept as a plain string);
    `decline_reason` and `reviewed_at` are `None` until a decision. Timestamps are aware.

    ```python
    EventReview(id="cpilr_1", status="created", amount_cents=25000)
    ```
    """

    id: str
    status: str
    amount_cents: int
    decline_reason: str | None = None
    reviewed_at: dt.datetime | None = None
    created_at: dt.datetime | None = None


@attrs.frozen(kw_only=True)
class ReviewEventData:
    """`data` of the three `checkout.review.*` events.

    ```python
    ReviewEventData(id="chk_1", type="deposit", customer=EventCustomer(id="cus_1"),
                    review=EventReview(id="cpilr_1", status="created", amount_cents=25000))
    ```
    """

    id: str
    type: str
    review: EventReview
    customer: EventCustomer


def _envelope_first(cls: type, fields: list[attrs.Attribute[Any]]) -> list[attrs.Attribute[Any]]:
    # A subclass that narrows `type` would otherwise list it after `data` in reprs.
    order = {"event_id": 0, "type": 1}
    return sorted(fields, key=lambda field: order.get(field.name, 2))


@attrs.frozen(kw_only=True, field_transformer=_envelope_first)
class WebhookEvent:
    """Base class of every event: `event_id` (`ev_...`, dedupe on it), `type`, `raw`.

    `raw` is the whole parsed JSON body, for fields the SDK does not model; it takes no
    part in equality. Subclasses add a typed `data`. Dispatch with `isinstance` or
    `match`:

    ```python
    match event:
        case CheckoutSucceededEvent(data=data):
            credit(data.customer.id, data.charge.amount_cents)
        case UnknownEvent():
            pass
    ```
    """

    event_id: str
    type: str
    raw: dict[str, Any] = attrs.field(factory=dict, eq=False, repr=False)


@attrs.frozen(kw_only=True, field_transformer=_envelope_first)
class ChargeEvent(WebhookEvent):
    """Base of the seven charge-style events; `data` is a `ChargeEventData`.

    ```python
    if isinstance(event, ChargeEvent):
        print(event.data.charge.from_status, "->", event.data.charge.status)
    ```
    """

    data: ChargeEventData


@attrs.frozen(kw_only=True, field_transformer=_envelope_first)
class CheckoutPendingEvent(ChargeEvent):
    """`checkout.pending`: the charge is being processed. Nothing to book yet.

    ```python
    CheckoutPendingEvent(event_id="ev_1", data=data)
    ```
    """

    type: Literal["checkout.pending"] = "checkout.pending"


@attrs.frozen(kw_only=True, field_transformer=_envelope_first)
class CheckoutSucceededEvent(ChargeEvent):
    """`checkout.succeeded`: the payment completed.

    Credit a deposit. Debit a withdrawal only if you did not already debit it on
    `checkout.hold`.

    ```python
    CheckoutSucceededEvent(event_id="ev_1", data=data)
    ```
    """

    type: Literal["checkout.succeeded"] = "checkout.succeeded"


@attrs.frozen(kw_only=True, field_transformer=_envelope_first)
class CheckoutFailedEvent(ChargeEvent):
    """`checkout.failed`: the charge failed, but the checkout is not over.

    Usually nothing to book; a `from_status` of `succeeded` means a reversal.

    ```python
    CheckoutFailedEvent(event_id="ev_1", data=data)
    ```
    """

    type: Literal["checkout.failed"] = "checkout.failed"


@attrs.frozen(kw_only=True, field_transformer=_envelope_first)
class CheckoutHoldEvent(ChargeEvent):
    """`checkout.hold`: a withdrawal asks whether the customer has the funds.

    The answer's status code is the decision (2xx = proceed, anything else = abort),
    and Soap asks only once. With `webhook_handler`, return `True` or `False`.

    ```python
    CheckoutHoldEvent(event_id="ev_1", data=data)
    ```
    """

    type: Literal["checkout.hold"] = "checkout.hold"


@attrs.frozen(kw_only=True, field_transformer=_envelope_first)
class CheckoutReleaseHoldEvent(ChargeEvent):
    """`checkout.release_hold`: a held withdrawal failed; credit back what you debited.

    ```python
    CheckoutReleaseHoldEvent(event_id="ev_1", data=data)
    ```
    """

    type: Literal["checkout.release_hold"] = "checkout.release_hold"


@attrs.frozen(kw_only=True, field_transformer=_envelope_first)
class CheckoutReturnedEvent(ChargeEvent):
    """`checkout.returned`: a succeeded payment bounced; reverse what you booked.

    ```python
    CheckoutReturnedEvent(event_id="ev_1", data=data)
    ```
    """

    type: Literal["checkout.returned"] = "checkout.returned"


@attrs.frozen(kw_only=True, field_transformer=_envelope_first)
class CheckoutVoidedEvent(ChargeEvent):
    """`checkout.voided`: a succeeded charge was voided; reverse what you booked.

    ```python
    CheckoutVoidedEvent(event_id="ev_1", data=data)
    ```
    """

    type: Literal["checkout.voided"] = "checkout.voided"


@attrs.frozen(kw_only=True, field_transformer=_envelope_first)
class CheckoutExpiredEvent(WebhookEvent):
    """`checkout.expired`: the session expired; release any hold you placed.

    ```python
    CheckoutExpiredEvent(event_id="ev_1", data=ExpiredEventData(...))
    ```
    """

    type: Literal["checkout.expired"] = "checkout.expired"
    data: ExpiredEventData


@attrs.frozen(kw_only=True, field_transformer=_envelope_first)
class CheckoutTerminallyFailedEvent(WebhookEvent):
    """`checkout.terminally_failed`: the session cannot continue (geo, KYC or fraud).

    Release any hold you placed.

    ```python
    CheckoutTerminallyFailedEvent(event_id="ev_1", data=TerminallyFailedEventData(...))
    ```
    """

    type: Literal["checkout.terminally_failed"] = "checkout.terminally_failed"
    data: TerminallyFailedEventData


@attrs.frozen(kw_only=True, field_transformer=_envelope_first)
class ReviewEvent(WebhookEvent):
    """Base of the three `checkout.review.*` events; `data` is a `ReviewEventData`.

    Keep money under review in its own bucket, apart from hold and release_hold.

    ```python
    if isinstance(event, ReviewEvent):
        print(event.data.review.status, event.data.review.amount_cents)
    ```
    """

    data: ReviewEventData


@attrs.frozen(kw_only=True, field_transformer=_envelope_first)
class CheckoutReviewCreatedEvent(ReviewEvent):
    """`checkout.review.created`: Soap opened a manual payment review.

    ```python
    CheckoutReviewCreatedEvent(event_id="ev_1", data=data)
    ```
    """

    type: Literal["checkout.review.created"] = "checkout.review.created"


@attrs.frozen(kw_only=True, field_transformer=_envelope_first)
class CheckoutReviewApprovedEvent(ReviewEvent):
    """`checkout.review.approved`: the review approved the payment.

    ```python
    CheckoutReviewApprovedEvent(event_id="ev_1", data=data)
    ```
    """

    type: Literal["checkout.review.approved"] = "checkout.review.approved"


@attrs.frozen(kw_only=True, field_transformer=_envelope_first)
class CheckoutReviewDeclinedEvent(ReviewEvent):
    """`checkout.review.declined`: the review declined it; see `review.decline_reason`.

    ```python
    CheckoutReviewDeclinedEvent(event_id="ev_1", data=data)
    ```
    """

    type: Literal["checkout.review.declined"] = "checkout.review.declined"


@attrs.frozen(kw_only=True, field_transformer=_envelope_first)
class UnknownEvent(WebhookEvent):
    """An event type this version of the SDK does not know; `data` is the raw dict.

    Answer it with a 2xx (the handler helper does when you return `None`), or Soap
    keeps retrying something you will never understand.

    ```python
    UnknownEvent(event_id="ev_1", type="checkout.refunded", data={"id": "chk_1"})
    ```
    """

    data: dict[str, Any] = attrs.field(factory=dict, hash=False)


EVENT_TYPES: dict[str, type[WebhookEvent]] = {
    "checkout.pending": CheckoutPendingEvent,
    "checkout.succeeded": CheckoutSucceededEvent,
    "checkout.failed": CheckoutFailedEvent,
    "checkout.hold": CheckoutHoldEvent,
    "checkout.release_hold": CheckoutReleaseHoldEvent,
    "checkout.returned": CheckoutReturnedEvent,
    "checkout.voided": CheckoutVoidedEvent,
    "checkout.expired": CheckoutExpiredEvent,
    "checkout.terminally_failed": CheckoutTerminallyFailedEvent,
    "checkout.review.created": CheckoutReviewCreatedEvent,
    "checkout.review.approved": CheckoutReviewApprovedEvent,
    "checkout.review.declined": CheckoutReviewDeclinedEvent,
}
"""Every known event type and its class; `parse_event` uses `UnknownEvent` for the rest."""


# --------------------------------------------------------------------------- parsing


def _lenient_datetime(value: Any, _: type) -> dt.datetime | None:
    # Soap already uses two formats for webhook timestamps; a third must not cost the
    # whole event (a 400, then lost after Soap's retries) for a field that is only
    # informational. The original string stays in event.raw.
    try:
        if not isinstance(value, str):
            raise TypeError(type(value).__name__)
        return parse_datetime(value)
    except (TypeError, ValueError):
        logger.warning("unparseable webhook timestamp %.60r; set to None", value)
        return None


# A copy, so the API models keep refusing a bad timestamp; every webhook datetime field
# is optional, so the None this hook may return is always allowed.
_event_converter = converter.copy()
_event_converter.register_structure_hook(dt.datetime, _lenient_datetime)


def _load(body: bytes | bytearray | memoryview | str | Mapping[str, Any]) -> dict[str, Any]:
    if isinstance(body, Mapping):
        return dict(body)
    if isinstance(body, (bytearray, memoryview)):
        body = bytes(body)
    if not isinstance(body, (bytes, str)):
        raise TypeError(f"body must be bytes, str or a mapping, got {type(body).__name__}")
    try:
        loaded = json.loads(body)
    except (ValueError, RecursionError):
        raise WebhookVerificationError("body is not JSON") from None
    if not isinstance(loaded, dict):
        raise WebhookVerificationError("body is not a JSON object")
    return loaded


def parse_event(body: bytes | str | Mapping[str, Any]) -> WebhookEvent:
    """The typed event in a webhook body, WITHOUT checking its signature.

    Use `construct_event` for deliveries; this is for bodies already verified, stored
    events and tests. An unknown `type` gives an `UnknownEvent`; unknown fields are
    ignored; optional fields that are missing are `None`; timestamps in either of Soap's
    formats become aware datetimes. Raises `WebhookVerificationError` for a body that is
    not a JSON object with a string `event_id` and `type`, or a known event lacking what
    it cannot be acted on without (the checkout, customer and charge or review ids,
    statuses and amounts).

    ```python
    event = parse_event(b'{"event_id": "ev_1", "type": "checkout.refunded", "data": {}}')
    assert isinstance(event, UnknownEvent)
    ```
    """
    raw = _load(body)
    event_id, event_type = raw.get("event_id"), raw.get("type")
    if not isinstance(event_id, str) or not event_id:
        raise WebhookVerificationError("body is not a Soap event: no event_id")
    if not isinstance(event_type, str) or not event_type:
        raise WebhookVerificationError("body is not a Soap event: no type")
    data = raw.get("data")
    cls = EVENT_TYPES.get(event_type)
    if cls is None:
        return UnknownEvent(
            event_id=event_id,
            type=event_type,
            data=dict(data) if isinstance(data, dict) else {},
            raw=raw,
        )
    if not isinstance(data, dict):
        raise WebhookVerificationError(f"{event_type} body has no data object")
    try:
        event = _event_converter.structure(
            {"event_id": event_id, "type": event_type, "data": data}, cls
        )
    except Exception as exc:
        details = (
            "; ".join(cattrs.transform_error(exc, path="$"))
            if isinstance(exc, cattrs.BaseValidationError)
            else type(exc).__name__
        )
        raise WebhookVerificationError(
            f"{event_type} body does not have the documented shape: {details}"
        ) from None
    return attrs.evolve(event, raw=raw)


def construct_event(
    body: bytes,
    header: str | None,
    secret: str,
    *,
    tolerance: float | None = DEFAULT_TOLERANCE,
    now: Callable[[], float] = time.time,
) -> WebhookEvent:
    """Verify a delivery (see `verify_signature`), then parse it (see `parse_event`).

    `body` must be the raw request bytes. Raises `WebhookVerificationError` when the
    delivery is not a verified Soap event: answer it with a 400.

    ```python
    event = construct_event(await request.body(), signature_from_headers(request.headers),
                            secret)
    ```
    """
    verify_signature(body, header, secret, tolerance=tolerance, now=now)
    return parse_event(bytes(body))


# --------------------------------------------------------------------------- dedup


class SeenEventStore(Protocol):
    """Where `webhook_handler` remembers which `event_id`s it has handled.

    `seen_before` is asked before the handler runs; `mark_seen` is called only after it
    succeeded with a 2xx answer. The in-memory `EventDeduplicator` works within one
    process; with several workers, back it by a shared store:

    ```python
    class RedisSeen:
        async def seen_before(self, event_id: str) -> bool:
            return bool(await redis.exists(f"soap:ev:{event_id}"))

        async def mark_seen(self, event_id: str) -> None:
            await redis.set(f"soap:ev:{event_id}", 1, ex=7 * 24 * 3600)
    ```
    """

    async def seen_before(self, event_id: str) -> bool:
        """Whether `event_id` was marked seen (and not evicted since)."""
        ...

    async def mark_seen(self, event_id: str) -> None:
        """Remember `event_id` as handled."""
        ...


class EventDeduplicator:
    """The last `max_size` handled event ids, in memory, least recently used out first.

    Per process only: gunicorn workers or several hosts each have their own, so use a
    shared `SeenEventStore` there, and make the ledger write itself idempotent anyway.

    ```python
    app.router.add_post("/soap", webhook_handler(secret, on_event, seen=EventDeduplicator()))
    ```
    """

    __slots__ = ("_ids", "max_size")

    def __init__(self, max_size: int = 10_000) -> None:
        if isinstance(max_size, bool) or not isinstance(max_size, int) or max_size < 1:
            raise InvalidRequestError(
                f"max_size must be an int >= 1, got {max_size!r}", field="max_size"
            )
        self.max_size = max_size
        self._ids: OrderedDict[str, None] = OrderedDict()

    async def seen_before(self, event_id: str) -> bool:
        """Whether `event_id` was marked seen; a hit makes it the most recently used."""
        if event_id in self._ids:
            self._ids.move_to_end(event_id)
            return True
        return False

    async def mark_seen(self, event_id: str) -> None:
        """Remember `event_id`, forgetting the least recently used beyond `max_size`."""
        self._ids[event_id] = None
        self._ids.move_to_end(event_id)
        while len(self._ids) > self.max_size:
            self._ids.popitem(last=False)

    def __len__(self) -> int:
        return len(self._ids)

    def __contains__(self, event_id: object) -> bool:
        return event_id in self._ids

    def __repr__(self) -> str:
        return f"EventDeduplicator(max_size={self.max_size}, size={len(self._ids)})"


class _KeyedLock:
    """One asyncio.Lock per key, dropped when nobody holds or waits for it."""

    def __init__(self) -> None:
        self._locks: dict[str, tuple[asyncio.Lock, list[int]]] = {}

    @contextlib.asynccontextmanager
    async def hold(self, key: str) -> AsyncIterator[None]:
        lock, users = self._locks.setdefault(key, (asyncio.Lock(), [0]))
        users[0] += 1
        try:
            async with lock:
                yield
        finally:
            users[0] -= 1
            if users[0] == 0:
                del self._locks[key]


# --------------------------------------------------------------------------- aiohttp


_HOLD = "checkout.hold"


def _status_for(event: WebhookEvent, result: object) -> tuple[int, str]:
    if isinstance(result, int) and not isinstance(result, bool):
        if not 200 <= result <= 599:
            raise ValueError(f"handler returned {result}, which is not an HTTP status")
        try:
            return result, http.HTTPStatus(result).phrase.lower()
        except ValueError:
            return result, "ok" if result < 300 else "rejected"
    if event.type == _HOLD:
        # None counts as "no": a handler that forgets to return must not pay out.
        if result is None or result is False:
            return 402, "insufficient funds"
        return 200, "funds available"
    return 200, "ok"


def webhook_handler(
    secret: str,
    handler: Callable[[WebhookEvent], Awaitable[object] | object],
    *,
    tolerance: float | None = DEFAULT_TOLERANCE,
    seen: SeenEventStore | None = None,
    now: Callable[[], float] = time.time,
) -> Callable[[web.Request], Awaitable[web.Response]]:
    """An aiohttp view that verifies, parses, dedupes, calls `handler` and answers Soap.

    - A delivery that fails verification gets 400 `invalid webhook` (the reason goes
      to the `soap_async.webhooks` logger at WARNING, never to the sender).
    - With `seen`, an `event_id` handled before gets 200 `duplicate event` and the
      handler is not called; an event is marked seen only after a 2xx answer, so a
      failed delivery is handled again when Soap retries it.
    - `handler` (sync or async) gets the event. An `int` it returns is the status code,
      for any event. For `checkout.hold` any other value is the decision: `False` or
      `None` answer 402 (abort the withdrawal), anything else 200 (funds available).
      For other events the value is ignored and the answer is 200.
    - An exception in the handler answers 500 (Soap retries, except `checkout.hold`,
      which it then aborts).

    ```python
    app = web.Application()
    app.router.add_post("/webhooks/soap", webhook_handler(secret, on_event))
    ```
    """
    _check_secret(secret)
    _check_tolerance(tolerance)
    in_flight = _KeyedLock()

    async def handle(event: WebhookEvent) -> web.Response:
        if seen is not None and await seen.seen_before(event.event_id):
            logger.info("webhook %s %s is a duplicate; skipped", event.type, event.event_id)
            return web.Response(status=200, text="duplicate event")
        try:
            result = handler(event)
            if inspect.isawaitable(result):
                result = await result
            status, text = _status_for(event, result)
        except Exception:
            logger.exception("webhook handler failed for %s %s", event.type, event.event_id)
            return web.Response(status=500, text="handler error")
        if seen is not None and 200 <= status < 300:
            try:
                await seen.mark_seen(event.event_id)
            except Exception:
                # The handler has done its work; a 500 now would make Soap deliver it
                # again with nothing recorded, so the answer stays what it was.
                logger.exception("could not mark webhook %s as seen", event.event_id)
        logger.debug("webhook %s %s answered %d", event.type, event.event_id, status)
        return web.Response(status=status, text=text)

    async def soap_webhook(request: web.Request) -> web.Response:
        body = await request.read()
        try:
            event = construct_event(
                body,
                signature_from_headers(request.headers),
                secret,
                tolerance=tolerance,
                now=now,
            )
        except WebhookVerificationError as exc:
            logger.warning("rejected a webhook delivery: %s", exc)
            return web.Response(status=400, text="invalid webhook")
        logger.debug("webhook %s %s verified", event.type, event.event_id)
        if seen is None:
            return await handle(event)
        # Soap retries after a 10 s timeout, so a slow handler can see the same event
        # twice at once; within this process the second waits and then finds it seen.
        try:
            async with in_flight.hold(event.event_id):
                return await handle(event)
        except Exception:
            logger.exception("webhook %s %s: deduplication failed", event.type, event.event_id)
            return web.Response(status=500, text="handler error")

    return soap_webhook
