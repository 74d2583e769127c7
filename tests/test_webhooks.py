"""Webhooks: signature checks, typed events, and the aiohttp handler end to end."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import hashlib
import hmac
import json
import logging
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from multidict import CIMultiDict

from soap_async.errors import InvalidRequestError, WebhookVerificationError
from soap_async.webhooks import (
    EVENT_TYPES,
    LEGACY_SIGNATURE_HEADER,
    SIGNATURE_HEADER,
    ChargeEvent,
    CheckoutExpiredEvent,
    CheckoutFailedEvent,
    CheckoutHoldEvent,
    CheckoutPendingEvent,
    CheckoutReleaseHoldEvent,
    CheckoutReturnedEvent,
    CheckoutReviewApprovedEvent,
    CheckoutReviewCreatedEvent,
    CheckoutReviewDeclinedEvent,
    CheckoutSucceededEvent,
    CheckoutTerminallyFailedEvent,
    CheckoutVoidedEvent,
    EventDeduplicator,
    ReviewEvent,
    UnknownEvent,
    WebhookEvent,
    compute_signature,
    construct_event,
    parse_event,
    signature_from_headers,
    signature_header,
    verify_signature,
    webhook_handler,
)

UTC = dt.timezone.utc
SECRET = "whsec_PLANTED_7f3c9e1b_do_not_leak"
OLD_SECRET = "whsec_previous_rotation_secret"
T = 1_780_000_000
CUSTOMER_ID = "cus_A3GuXEbThpqk2t6UTxEuoceVJyUEAX7V"
CHECKOUT_ID = "chk_7kQm2VxYp9RbT4nWs8LcZd3FhJ6gNa1E"
CHARGE_ID = "ch_5tHw8PqZr2KxN7mVb4YcJd9LgF3sA6eU"
REVIEW_ID = "cpilr_2bN6xQ8wRt4YkM9pLz3VcH7jD5sF1gA"


def clock(at: float = T) -> Callable[[], float]:
    return lambda: at


def body_of(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload).encode()


# --------------------------------------------------------------------------- payloads

CHARGE_EVENTS = [
    # type, class, checkout type, charge status, from_status, transaction_type
    ("checkout.pending", CheckoutPendingEvent, "deposit", "pending", "created", "credit"),
    ("checkout.succeeded", CheckoutSucceededEvent, "deposit", "succeeded", "pending", "credit"),
    ("checkout.failed", CheckoutFailedEvent, "deposit", "failed", "pending", "credit"),
    ("checkout.hold", CheckoutHoldEvent, "withdrawal", "held", "created", "debit"),
    ("checkout.release_hold", CheckoutReleaseHoldEvent, "withdrawal", "failed", "held", "debit"),
    ("checkout.returned", CheckoutReturnedEvent, "deposit", "returned", "succeeded", "credit"),
    ("checkout.voided", CheckoutVoidedEvent, "withdrawal", "voided", "succeeded", "debit"),
]

REVIEW_EVENTS = [
    ("checkout.review.created", CheckoutReviewCreatedEvent, "created"),
    ("checkout.review.approved", CheckoutReviewApprovedEvent, "approved"),
    ("checkout.review.declined", CheckoutReviewDeclinedEvent, "declined"),
]


def charge_payload(
    event_type: str = "checkout.succeeded",
    *,
    event_id: str = "ev_Rr3kP9xW2mZq8TnB5vLc7HdJ4gYs6FaE",
    checkout_type: str = "deposit",
    status: str = "succeeded",
    from_status: str = "pending",
    transaction_type: str = "credit",
    amount_cents: int = 5000,
) -> dict[str, Any]:
    deposit = checkout_type == "deposit"
    return {
        "event_id": event_id,
        "type": event_type,
        "data": {
            "id": CHECKOUT_ID,
            "type": checkout_type,
            "charge": {
                "id": CHARGE_ID,
                "status": status,
                "from_status": from_status,
                "amount_cents": amount_cents,
                "transaction_type": transaction_type,
            },
            "customer": {"id": CUSTOMER_ID},
            "line_items": [{"product_id": "pr_Gold500", "quantity": 1}] if deposit else [],
            "line_items_total_amount_cents": amount_cents if deposit else None,
        },
    }


def hold_payload(event_id: str = "ev_hold_1") -> dict[str, Any]:
    return charge_payload(
        "checkout.hold",
        event_id=event_id,
        checkout_type="withdrawal",
        status="held",
        from_status="created",
        transaction_type="debit",
    )


def expired_payload(expired_at: str = "2025-05-30 06:05:22 UTC") -> dict[str, Any]:
    return {
        "event_id": "ev_expired_1",
        "type": "checkout.expired",
        "data": {
            "id": CHECKOUT_ID,
            "type": "withdrawal",
            "customer": {"id": CUSTOMER_ID},
            "expired_at": expired_at,
        },
    }


def terminally_failed_payload(at: str = "2025-05-30 06:05:22 UTC") -> dict[str, Any]:
    return {
        "event_id": "ev_terminal_1",
        "type": "checkout.terminally_failed",
        "data": {
            "id": CHECKOUT_ID,
            "type": "deposit",
            "customer": {"id": CUSTOMER_ID},
            "terminally_failed_at": at,
        },
    }


def review_payload(
    event_type: str = "checkout.review.created",
    status: str = "created",
    *,
    created_at: str = "2026-04-08T15:00:00Z",
    reviewed_at: str | None = None,
    decline_reason: str | None = None,
) -> dict[str, Any]:
    return {
        "event_id": "ev_review_1",
        "type": event_type,
        "data": {
            "id": CHECKOUT_ID,
            "type": "deposit",
            "review": {
                "id": REVIEW_ID,
                "status": status,
                "decline_reason": decline_reason,
                "reviewed_at": reviewed_at,
                "created_at": created_at,
                "amount_cents": 25000,
            },
            "customer": {"id": CUSTOMER_ID},
        },
    }


# --------------------------------------------------------------------------- signing


def test_signature_is_hmac_sha256_over_timestamp_dot_raw_body() -> None:
    body = b'{"event_id":"ev_1","type":"checkout.pending"}'
    expected = hmac.new(SECRET.encode(), b"%d." % T + body, hashlib.sha256).hexdigest()
    assert compute_signature(SECRET, T, body) == expected
    assert signature_header(SECRET, T, body) == f"t={T},v1={expected}"


def test_round_trip_returns_the_timestamp() -> None:
    body = body_of(charge_payload())
    header = signature_header(SECRET, T, body)
    assert verify_signature(body, header, SECRET, now=clock()) == T


def test_wrong_secret_and_tampered_body_are_refused() -> None:
    body = body_of(charge_payload())
    header = signature_header(SECRET, T, body)
    with pytest.raises(WebhookVerificationError, match="no v1 signature matches"):
        verify_signature(body, header, "whsec_someone_else", now=clock())
    tampered = body.replace(b"5000", b"9000")
    with pytest.raises(WebhookVerificationError, match="no v1 signature matches"):
        verify_signature(tampered, header, SECRET, now=clock())


def test_every_v1_is_compared_with_compare_digest(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[Any, Any]] = []
    real = hmac.compare_digest

    def spy(a: Any, b: Any) -> bool:
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", spy)
    body = b"{}"
    good = compute_signature(SECRET, T, body)
    verify_signature(body, f"t={T},v1={good},v1={'0' * 64}", SECRET, now=clock())
    assert len(calls) == 2
    assert calls[0] == (good.encode(), good.encode())
    calls.clear()
    with pytest.raises(WebhookVerificationError):
        verify_signature(body, f"t={T},v1={'1' * 64}", SECRET, now=clock())
    assert len(calls) == 1


def test_secret_rotation_any_v1_may_match() -> None:
    body = body_of(charge_payload())
    old = compute_signature(OLD_SECRET, T, body)
    new = compute_signature(SECRET, T, body)
    header = f"t={T},v1={old},v1={new}"
    assert verify_signature(body, header, SECRET, now=clock()) == T
    assert verify_signature(body, header, OLD_SECRET, now=clock()) == T
    with pytest.raises(WebhookVerificationError, match="no v1 signature matches"):
        verify_signature(body, header, "whsec_third", now=clock())


def test_unknown_schemes_are_ignored() -> None:
    body = b"{}"
    good = compute_signature(SECRET, T, body)
    header = f"t={T},v0=not-hex-at-all,v2={'f' * 64},v1={good}"
    assert verify_signature(body, header, SECRET, now=clock()) == T
    # A valid-looking v0 is not a v1: without v1 the header is unusable.
    with pytest.raises(WebhookVerificationError, match="malformed signature header"):
        verify_signature(body, f"t={T},v0={good}", SECRET, now=clock())


@pytest.mark.parametrize(
    "template",
    [
        " t={t} , v1={sig} ",
        "t = {t},v1 = {sig}",
        "t={t},\tv1={sig}\t",
        "v1={sig},t={t}",
        "t={t},v1={sig},",
        "t={t}, v1={SIG}",
    ],
)
def test_whitespace_order_and_hex_case_are_tolerated(template: str) -> None:
    body = b'{"a": 1}'
    sig = compute_signature(SECRET, T, body)
    header = template.format(t=T, sig=sig, SIG=sig.upper())
    assert verify_signature(body, header, SECRET, now=clock()) == T


@pytest.mark.parametrize("header", [None, "", "   "])
def test_missing_header(header: str | None) -> None:
    with pytest.raises(WebhookVerificationError, match=r"^missing signature header$"):
        verify_signature(b"{}", header, SECRET, now=clock())


GOOD = "a" * 64


@pytest.mark.parametrize(
    "header",
    [
        "garbage",
        f"v1={GOOD}",
        f"t={T}",
        f"t={T},t={T},v1={GOOD}",
        f"t=abc,v1={GOOD}",
        f"t=-5,v1={GOOD}",
        f"t=1.5,v1={GOOD}",
        f"t=,v1={GOOD}",
        f"t=\u0661\u0662,v1={GOOD}",  # Arabic-Indic digits: isdigit() but not unix seconds
        f"t={'9' * 40},v1={GOOD}",
        f"=x,t={T},v1={GOOD}",
        f"t={T};v1={GOOD}",
        f"t={T},v1={GOOD}," + "x" * 5000,
    ],
)
def test_malformed_headers(header: str) -> None:
    with pytest.raises(WebhookVerificationError, match=r"^malformed signature header"):
        verify_signature(b"{}", header, SECRET, now=clock())


def test_non_ascii_v1_does_not_match_rather_than_crash() -> None:
    with pytest.raises(WebhookVerificationError, match="no v1 signature matches"):
        verify_signature(b"{}", f"t={T},v1=\u00e9\u00e9", SECRET, now=clock())


@pytest.mark.parametrize("offset", [0, 300, -300])
def test_timestamp_within_default_tolerance(offset: int) -> None:
    header = signature_header(SECRET, T, b"{}")
    assert verify_signature(b"{}", header, SECRET, now=clock(T + offset)) == T


@pytest.mark.parametrize("offset", [301, -301, 86_400, -86_400])
def test_stale_and_future_timestamps_are_refused(offset: int) -> None:
    header = signature_header(SECRET, T, b"{}")
    with pytest.raises(
        WebhookVerificationError, match=r"^timestamp outside the tolerance of 300 s$"
    ):
        verify_signature(b"{}", header, SECRET, now=clock(T + offset))


def test_tolerance_is_configurable_and_can_be_disabled() -> None:
    header = signature_header(SECRET, T, b"{}")
    with pytest.raises(WebhookVerificationError, match="tolerance of 10 s"):
        verify_signature(b"{}", header, SECRET, tolerance=10, now=clock(T + 11))
    assert verify_signature(b"{}", header, SECRET, tolerance=10, now=clock(T - 10)) == T
    years_later = clock(T + 10 * 365 * 86_400)
    assert verify_signature(b"{}", header, SECRET, tolerance=None, now=years_later) == T
    for bad in (-1, float("nan")):
        with pytest.raises(InvalidRequestError, match="tolerance"):
            verify_signature(b"{}", header, SECRET, tolerance=bad, now=clock())
        with pytest.raises(InvalidRequestError, match="tolerance"):
            webhook_handler(SECRET, print, tolerance=bad)


def test_reserialized_json_does_not_verify_against_the_raw_body() -> None:
    raw = b'{"event_id": "ev_1",  "type": "checkout.pending", "data": {"id": "chk_1"}}\n'
    compact = json.dumps(json.loads(raw), separators=(",", ":")).encode()
    assert compact != raw
    # Signed over re-serialized JSON, checked against what arrived: refused.
    with pytest.raises(WebhookVerificationError, match="no v1 signature matches"):
        verify_signature(raw, signature_header(SECRET, T, compact), SECRET, now=clock())
    # Signed over what arrived, checked against a re-serialization: refused too.
    with pytest.raises(WebhookVerificationError, match="no v1 signature matches"):
        verify_signature(compact, signature_header(SECRET, T, raw), SECRET, now=clock())
    assert verify_signature(raw, signature_header(SECRET, T, raw), SECRET, now=clock()) == T


def test_str_body_is_refused_with_an_explanation() -> None:
    header = signature_header(SECRET, T, b"{}")
    with pytest.raises(TypeError, match="raw request bytes"):
        verify_signature("{}", header, SECRET, now=clock())  # type: ignore[arg-type]


@pytest.mark.parametrize("secret", ["", "   "])
def test_empty_secret_is_a_configuration_error(secret: str) -> None:
    with pytest.raises(InvalidRequestError, match="secret is empty") as info:
        verify_signature(b"{}", f"t={T},v1={GOOD}", secret, now=clock())
    assert info.value.field == "secret"
    with pytest.raises(InvalidRequestError):
        compute_signature(secret, T, b"{}")
    with pytest.raises(InvalidRequestError):
        webhook_handler(secret, lambda event: None)


def test_signature_from_headers_reads_both_names_case_insensitively() -> None:
    assert signature_from_headers({"soap-webhook-signature": "t=1,v1=a"}) == "t=1,v1=a"
    assert signature_from_headers({"SOAP-WEBHOOK-SIGNATURE": "t=1,v1=a"}) == "t=1,v1=a"
    assert signature_from_headers({"Soap_Signature": "t=2,v1=b"}) == "t=2,v1=b"
    assert signature_from_headers(CIMultiDict({"Soap-Webhook-Signature": "x"})) == "x"
    assert signature_from_headers(CIMultiDict({LEGACY_SIGNATURE_HEADER: "y"})) == "y"
    assert signature_from_headers({"Soap-Signature": "z"}) == "z"  # Django's spelling
    both = {LEGACY_SIGNATURE_HEADER: "legacy", SIGNATURE_HEADER.lower(): "current"}
    assert signature_from_headers(both) == "current"
    assert signature_from_headers({"Content-Type": "application/json"}) is None


# --------------------------------------------------------------------------- events


def test_event_types_cover_the_twelve_documented_events() -> None:
    assert set(EVENT_TYPES) == {
        "checkout.pending",
        "checkout.succeeded",
        "checkout.failed",
        "checkout.hold",
        "checkout.release_hold",
        "checkout.returned",
        "checkout.voided",
        "checkout.expired",
        "checkout.terminally_failed",
        "checkout.review.created",
        "checkout.review.approved",
        "checkout.review.declined",
    }
    assert len(set(EVENT_TYPES.values())) == 12


@pytest.mark.parametrize(
    ("event_type", "cls", "checkout_type", "status", "from_status", "transaction_type"),
    CHARGE_EVENTS,
)
def test_charge_style_events(
    event_type: str,
    cls: type[ChargeEvent],
    checkout_type: str,
    status: str,
    from_status: str,
    transaction_type: str,
) -> None:
    payload = charge_payload(
        event_type,
        checkout_type=checkout_type,
        status=status,
        from_status=from_status,
        transaction_type=transaction_type,
        amount_cents=12345,
    )
    event = parse_event(body_of(payload))
    assert type(event) is cls
    assert isinstance(event, ChargeEvent)
    assert event.type == event_type
    assert event.event_id == payload["event_id"]
    assert event.raw == payload
    data = event.data
    assert (data.id, data.type, data.customer.id) == (CHECKOUT_ID, checkout_type, CUSTOMER_ID)
    charge = data.charge
    assert (charge.id, charge.status, charge.from_status) == (CHARGE_ID, status, from_status)
    assert charge.amount_cents == 12345
    assert type(charge.amount_cents) is int
    assert charge.transaction_type == transaction_type
    if checkout_type == "deposit":
        assert data.line_items is not None
        assert [(i.product_id, i.quantity) for i in data.line_items] == [("pr_Gold500", 1)]
        assert data.line_items_total_amount_cents == 12345
    else:
        assert data.line_items == ()
        assert data.line_items_total_amount_cents is None


TIMESTAMP_FORMATS = [
    ("2025-05-30 06:05:22 UTC", dt.datetime(2025, 5, 30, 6, 5, 22, tzinfo=UTC)),
    ("2025-05-30T06:05:22Z", dt.datetime(2025, 5, 30, 6, 5, 22, tzinfo=UTC)),
    ("2025-05-30T06:05:22.000Z", dt.datetime(2025, 5, 30, 6, 5, 22, tzinfo=UTC)),
]


@pytest.mark.parametrize(("text", "expected"), TIMESTAMP_FORMATS)
def test_expired_event(text: str, expected: dt.datetime) -> None:
    event = parse_event(body_of(expired_payload(text)))
    assert type(event) is CheckoutExpiredEvent
    assert event.type == "checkout.expired"
    assert (event.data.id, event.data.type) == (CHECKOUT_ID, "withdrawal")
    assert event.data.customer.id == CUSTOMER_ID
    assert event.data.expired_at == expected
    assert event.data.expired_at.tzinfo is not None


@pytest.mark.parametrize(("text", "expected"), TIMESTAMP_FORMATS)
def test_terminally_failed_event(text: str, expected: dt.datetime) -> None:
    event = parse_event(body_of(terminally_failed_payload(text)))
    assert type(event) is CheckoutTerminallyFailedEvent
    assert event.data.terminally_failed_at == expected
    assert event.data.terminally_failed_at.tzinfo is not None
    assert event.data.customer.id == CUSTOMER_ID


@pytest.mark.parametrize(("event_type", "cls", "status"), REVIEW_EVENTS)
@pytest.mark.parametrize(("text", "expected"), TIMESTAMP_FORMATS)
def test_review_events(
    event_type: str, cls: type[ReviewEvent], status: str, text: str, expected: dt.datetime
) -> None:
    decided = status != "created"
    reason = "Suspected fraud" if status == "declined" else None
    payload = review_payload(
        event_type,
        status,
        created_at=text,
        reviewed_at=text if decided else None,
        decline_reason=reason,
    )
    event = parse_event(body_of(payload))
    assert type(event) is cls
    assert isinstance(event, ReviewEvent)
    review = event.data.review
    assert (review.id, review.status, review.amount_cents) == (REVIEW_ID, status, 25000)
    assert review.decline_reason == reason
    assert review.created_at == expected
    assert review.created_at.tzinfo is not None
    assert review.reviewed_at == (expected if decided else None)
    assert (event.data.id, event.data.customer.id) == (CHECKOUT_ID, CUSTOMER_ID)


def test_unparseable_optional_timestamp_becomes_none_and_is_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="soap_async.webhooks")
    event = parse_event(body_of(expired_payload("last tuesday")))
    assert isinstance(event, CheckoutExpiredEvent)
    assert event.data.expired_at is None
    assert event.raw["data"]["expired_at"] == "last tuesday"
    assert "unparseable webhook timestamp" in caplog.text


def test_unknown_type_is_an_unknown_event_not_an_error() -> None:
    payload = {
        "event_id": "ev_new_1",
        "type": "checkout.refunded",
        "data": {"id": CHECKOUT_ID, "refund": {"amount_cents": 100}},
    }
    event = parse_event(body_of(payload))
    assert type(event) is UnknownEvent
    assert (event.event_id, event.type) == ("ev_new_1", "checkout.refunded")
    assert event.data == payload["data"]
    assert event.raw == payload
    bare = parse_event({"event_id": "ev_2", "type": "subscription.renewed"})
    assert isinstance(bare, UnknownEvent)
    assert bare.data == {}


def test_unknown_fields_are_ignored_at_every_level() -> None:
    payload = charge_payload()
    payload["api_version"] = "2026-07-01"
    payload["data"]["new_thing"] = {"x": 1}
    payload["data"]["charge"]["currency"] = "USD"
    payload["data"]["customer"]["email"] = "ada@example.com"
    payload["data"]["line_items"][0]["name"] = "Gold coins"
    event = parse_event(body_of(payload))
    assert isinstance(event, CheckoutSucceededEvent)
    assert event.data.charge.amount_cents == 5000
    assert event.raw["data"]["charge"]["currency"] == "USD"


def test_missing_optional_fields_are_none() -> None:
    payload = charge_payload()
    del payload["data"]["charge"]["from_status"]
    del payload["data"]["charge"]["transaction_type"]
    del payload["data"]["line_items"]
    del payload["data"]["line_items_total_amount_cents"]
    event = parse_event(body_of(payload))
    assert isinstance(event, CheckoutSucceededEvent)
    assert event.data.charge.from_status is None
    assert event.data.charge.transaction_type is None
    assert event.data.line_items is None
    assert event.data.line_items_total_amount_cents is None
    expired = expired_payload()
    del expired["data"]["expired_at"]
    parsed = parse_event(expired)
    assert isinstance(parsed, CheckoutExpiredEvent)
    assert parsed.data.expired_at is None


def test_checkout_type_is_open() -> None:
    event = parse_event(body_of(charge_payload(checkout_type="transfer")))
    assert isinstance(event, ChargeEvent)
    assert event.data.type == "transfer"


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"not json", "not JSON"),
        (b"\xff\xfe\x00", "not JSON"),
        (b"[1, 2]", "not a JSON object"),
        (b'{"type": "checkout.pending", "data": {}}', "no event_id"),
        (b'{"event_id": "", "type": "checkout.pending"}', "no event_id"),
        (b'{"event_id": 12, "type": "checkout.pending"}', "no event_id"),
        (b'{"event_id": "ev_1", "data": {}}', "no type"),
        (b'{"event_id": "ev_1", "type": null}', "no type"),
        (b'{"event_id": "ev_1", "type": "checkout.hold"}', "no data object"),
    ],
)
def test_bodies_that_are_not_soap_events(body: bytes, reason: str) -> None:
    with pytest.raises(WebhookVerificationError, match=reason):
        parse_event(body)


def test_known_event_without_its_essentials_is_refused() -> None:
    payload = hold_payload()
    del payload["data"]["charge"]["amount_cents"]
    with pytest.raises(WebhookVerificationError, match=r"\$\.data\.charge\.amount_cents"):
        parse_event(payload)
    payload = hold_payload()
    payload["data"]["charge"]["amount_cents"] = "50.00"
    with pytest.raises(WebhookVerificationError, match="documented shape"):
        parse_event(payload)


def test_parse_event_accepts_bytes_str_and_mappings() -> None:
    payload = charge_payload()
    from_bytes = parse_event(body_of(payload))
    assert parse_event(json.dumps(payload)) == from_bytes
    assert parse_event(payload) == from_bytes
    assert hash(from_bytes) == hash(parse_event(payload))


def test_construct_event_verifies_then_parses() -> None:
    body = body_of(hold_payload())
    event = construct_event(body, signature_header(SECRET, T, body), SECRET, now=clock())
    assert isinstance(event, CheckoutHoldEvent)
    with pytest.raises(WebhookVerificationError, match="no v1 signature matches"):
        construct_event(body, signature_header(OLD_SECRET, T, body), SECRET, now=clock())
    with pytest.raises(WebhookVerificationError, match="tolerance"):
        construct_event(body, signature_header(SECRET, T, body), SECRET, now=clock(T + 3600))
    garbage = b"<html>"
    with pytest.raises(WebhookVerificationError, match="not JSON"):
        construct_event(garbage, signature_header(SECRET, T, garbage), SECRET, now=clock())


# --------------------------------------------------------------------------- dedup


async def test_deduplicator_evicts_the_least_recently_used() -> None:
    seen = EventDeduplicator(max_size=2)
    await seen.mark_seen("ev_a")
    await seen.mark_seen("ev_b")
    assert await seen.seen_before("ev_a")  # touches ev_a, so ev_b is now the oldest
    await seen.mark_seen("ev_c")
    assert len(seen) == 2
    assert await seen.seen_before("ev_a")
    assert await seen.seen_before("ev_c")
    assert not await seen.seen_before("ev_b")
    assert repr(seen) == "EventDeduplicator(max_size=2, size=2)"


@pytest.mark.parametrize("max_size", [0, -1, True, 1.5])
def test_deduplicator_size_must_be_positive(max_size: Any) -> None:
    with pytest.raises(InvalidRequestError, match="max_size"):
        EventDeduplicator(max_size=max_size)


# --------------------------------------------------------------------------- aiohttp


class Recorder:
    """A webhook handler that records its events and returns (or raises) on cue."""

    def __init__(self, *results: Any) -> None:
        self.events: list[WebhookEvent] = []
        self.results = list(results)

    async def __call__(self, event: WebhookEvent) -> Any:
        self.events.append(event)
        result = self.results.pop(0) if self.results else None
        if isinstance(result, BaseException):
            raise result
        return result


@contextlib.asynccontextmanager
async def serve(
    handler: Any, **options: Any
) -> AsyncIterator[TestClient[web.Request, web.Application]]:
    options.setdefault("now", clock())
    app = web.Application()
    app.router.add_post("/webhooks/soap", webhook_handler(SECRET, handler, **options))
    async with TestClient(TestServer(app)) as client:
        yield client


async def deliver(
    client: TestClient[web.Request, web.Application],
    payload: dict[str, Any] | bytes,
    *,
    secret: str = SECRET,
    timestamp: int = T,
    header_name: str = SIGNATURE_HEADER,
    header: str | None = None,
) -> tuple[int, str]:
    body = payload if isinstance(payload, bytes) else body_of(payload)
    headers = {"Content-Type": "application/json"}
    if header is None:
        header = signature_header(secret, timestamp, body)
    if header:
        headers[header_name] = header
    async with client.post("/webhooks/soap", data=body, headers=headers) as response:
        return response.status, await response.text()


async def test_handler_gets_the_typed_event_and_soap_gets_200() -> None:
    recorder = Recorder()
    async with serve(recorder) as client:
        assert await deliver(client, charge_payload()) == (200, "ok")
    [event] = recorder.events
    assert isinstance(event, CheckoutSucceededEvent)
    assert event.data.charge.amount_cents == 5000


async def test_sync_handlers_work_too() -> None:
    received: list[WebhookEvent] = []
    async with serve(received.append) as client:
        assert await deliver(client, expired_payload()) == (200, "ok")
    assert isinstance(received[0], CheckoutExpiredEvent)


async def test_legacy_header_name_is_accepted() -> None:
    recorder = Recorder()
    async with serve(recorder) as client:
        status, _ = await deliver(client, charge_payload(), header_name=LEGACY_SIGNATURE_HEADER)
    assert status == 200
    assert len(recorder.events) == 1


@pytest.mark.parametrize(
    "kwargs",
    [
        {"secret": OLD_SECRET},
        {"header": ""},
        {"header": "t=oops"},
        {"timestamp": T - 301},
        {"timestamp": T + 301},
    ],
)
async def test_unverified_deliveries_get_400_and_never_reach_the_handler(
    kwargs: dict[str, Any],
) -> None:
    recorder = Recorder()
    async with serve(recorder) as client:
        assert await deliver(client, charge_payload(), **kwargs) == (400, "invalid webhook")
    assert recorder.events == []


async def test_verified_body_that_is_not_an_event_gets_400() -> None:
    recorder = Recorder()
    async with serve(recorder) as client:
        assert await deliver(client, b'{"hello": "world"}') == (400, "invalid webhook")
    assert recorder.events == []


async def test_unknown_events_are_acknowledged() -> None:
    recorder = Recorder()
    async with serve(recorder) as client:
        status, _ = await deliver(client, {"event_id": "ev_x", "type": "checkout.new_thing"})
    assert status == 200
    assert isinstance(recorder.events[0], UnknownEvent)


@pytest.mark.parametrize(
    ("result", "status", "text"),
    [
        (True, 200, "funds available"),
        ("approved", 200, "funds available"),
        (False, 402, "insufficient funds"),
        (None, 402, "insufficient funds"),
        (409, 409, "conflict"),
        (204, 204, ""),
        (422, 422, "unprocessable"),  # "entity" before Python 3.13, "content" after
    ],
)
async def test_hold_decision_is_the_return_value(result: Any, status: int, text: str) -> None:
    recorder = Recorder(result)
    async with serve(recorder) as client:
        got_status, got_text = await deliver(client, hold_payload())
    assert got_status == status
    if status != 204:
        assert got_text.startswith(text)
    assert isinstance(recorder.events[0], CheckoutHoldEvent)


@pytest.mark.parametrize(
    ("result", "status"),
    [(None, 200), (True, 200), (False, 200), ("whatever", 200), (503, 503)],
)
async def test_other_events_ignore_the_return_value_unless_it_is_an_int(
    result: Any, status: int
) -> None:
    async with serve(Recorder(result)) as client:
        got_status, _ = await deliver(client, charge_payload())
    assert got_status == status


@pytest.mark.parametrize("result", [0, 1, 42, 600, 5000])
async def test_an_int_that_is_no_status_is_a_handler_error(result: int) -> None:
    async with serve(Recorder(result)) as client:
        assert await deliver(client, hold_payload()) == (500, "handler error")


async def test_handler_exception_gives_500(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.ERROR, logger="soap_async.webhooks")
    async with serve(Recorder(RuntimeError("ledger down"))) as client:
        assert await deliver(client, charge_payload()) == (500, "handler error")
    assert "webhook handler failed for checkout.succeeded" in caplog.text


async def test_duplicate_event_ids_reach_the_handler_once() -> None:
    recorder = Recorder()
    seen = EventDeduplicator()
    async with serve(recorder, seen=seen) as client:
        assert await deliver(client, charge_payload(event_id="ev_dup")) == (200, "ok")
        assert await deliver(client, charge_payload(event_id="ev_dup")) == (
            200,
            "duplicate event",
        )
        assert await deliver(client, charge_payload(event_id="ev_other")) == (200, "ok")
    assert [e.event_id for e in recorder.events] == ["ev_dup", "ev_other"]
    assert "ev_dup" in seen


async def test_a_failed_delivery_is_not_marked_seen() -> None:
    recorder = Recorder(RuntimeError("db timeout"), None)
    seen = EventDeduplicator()
    async with serve(recorder, seen=seen) as client:
        assert (await deliver(client, charge_payload(event_id="ev_retry")))[0] == 500
        assert "ev_retry" not in seen
        assert await deliver(client, charge_payload(event_id="ev_retry")) == (200, "ok")
        assert (await deliver(client, charge_payload(event_id="ev_retry")))[1] == (
            "duplicate event"
        )
    assert len(recorder.events) == 2


async def test_non_2xx_answers_are_not_marked_seen() -> None:
    # A declined hold must never be replayed as "duplicate event" 200, which would
    # approve the withdrawal; the same goes for an int status asking Soap to retry.
    recorder = Recorder(False, True, True)
    seen = EventDeduplicator()
    async with serve(recorder, seen=seen) as client:
        assert (await deliver(client, hold_payload("ev_h")))[0] == 402
        assert (await deliver(client, hold_payload("ev_h")))[0] == 200
        assert await deliver(client, hold_payload("ev_h")) == (200, "duplicate event")
    assert len(recorder.events) == 2


async def test_concurrent_duplicates_are_handled_once() -> None:
    gate = asyncio.Event()
    calls: list[str] = []

    async def slow(event: WebhookEvent) -> None:
        calls.append(event.event_id)
        await gate.wait()

    async with serve(slow, seen=EventDeduplicator()) as client:
        first = asyncio.ensure_future(deliver(client, charge_payload(event_id="ev_slow")))
        second = asyncio.ensure_future(deliver(client, charge_payload(event_id="ev_slow")))
        for _ in range(100):
            await asyncio.sleep(0.01)
            if calls:
                break
        await asyncio.sleep(0.05)
        gate.set()
        results = sorted(await asyncio.gather(first, second))
    assert calls == ["ev_slow"]
    assert results == [(200, "duplicate event"), (200, "ok")]


class BrokenStore:
    def __init__(self, *, fail_lookup: bool) -> None:
        self.fail_lookup = fail_lookup

    async def seen_before(self, event_id: str) -> bool:
        if self.fail_lookup:
            raise ConnectionError("redis down")
        return False

    async def mark_seen(self, event_id: str) -> None:
        raise ConnectionError("redis down")


async def test_a_failing_store_lookup_gives_500_and_a_failing_mark_keeps_the_answer() -> None:
    recorder = Recorder()
    async with serve(recorder, seen=BrokenStore(fail_lookup=True)) as client:
        assert (await deliver(client, charge_payload()))[0] == 500
    assert recorder.events == []
    async with serve(Recorder(True), seen=BrokenStore(fail_lookup=False)) as client:
        assert await deliver(client, hold_payload()) == (200, "funds available")


async def test_the_secret_leaks_nowhere(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="soap_async")
    bodies: list[str] = []
    recorder = Recorder(None, True, False, RuntimeError("boom"), None)
    async with serve(recorder, seen=EventDeduplicator()) as client:
        for payload, kwargs in [
            (charge_payload(event_id="ev_1"), {}),
            (hold_payload("ev_2"), {}),
            (hold_payload("ev_3"), {}),
            (charge_payload(event_id="ev_4"), {}),
            (charge_payload(event_id="ev_1"), {}),
            (charge_payload(event_id="ev_5"), {"secret": OLD_SECRET}),
            (charge_payload(event_id="ev_6"), {"timestamp": T - 10_000}),
            (charge_payload(event_id="ev_7"), {"header": "t=1"}),
            (b"not json", {}),
            (expired_payload("never"), {}),
        ]:
            status, text = await deliver(client, payload, **kwargs)
            bodies.append(f"{status} {text}")
    assert len(recorder.events) == 5
    messages: list[str] = []
    body = body_of(charge_payload())
    for header in [None, "t=1", signature_header(SECRET, T, body), f"t={T},v1={GOOD}"]:
        for now in [clock(), clock(T + 10_000)]:
            try:
                construct_event(body, header, SECRET, now=now)
            except WebhookVerificationError as exc:
                messages += [str(exc), repr(exc), repr(exc.args)]
    assert messages
    reprs = [repr(event) for event in recorder.events]
    reprs.append(repr(webhook_handler(SECRET, recorder)))
    assert caplog.records
    everything = [*bodies, *messages, *reprs, caplog.text]
    everything += [record.getMessage() for record in caplog.records]
    everything += [repr(record.args) for record in caplog.records]
    for text in everything:
        assert SECRET not in text
        assert "PLANTED" not in text
