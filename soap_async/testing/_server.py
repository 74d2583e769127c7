"""A stateful fake of the Soap API, served by a real aiohttp server on localhost.

This module is an independent implementation of the API contract described in
``soap-api.md`` / ``soap-openapi.yaml``: it deliberately shares no code with the SDK,
so that the SDK's tests check the SDK against the contract and not against itself.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import copy
import dataclasses
import datetime
import functools
import hashlib
import hmac
import ipaddress
import json
import math
import random
import re
import secrets
import threading
import time
import urllib.parse
from collections.abc import Awaitable, Callable, Mapping, Sequence
from http import HTTPStatus
from types import TracebackType
from typing import Any, Literal

import aiohttp
from aiohttp import web

from soap_async.testing._events import _merged, _new_id

__all__ = ["FakeSoapServer", "Fault", "RecordedRequest", "WebhookDelivery"]

_FaultKind = Literal["status", "drop_before", "drop_after", "delay"]
_Json = dict[str, Any]
# An answer body is a JSON object, or JSON null for "no geo check yet".
_Answer = tuple[int, "_Json | None"]
_Auth = Literal["api_key", "client_secret"]

_EMAIL_RE = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_PHONE_RE = re.compile(r"[0-9]{10}")
_DATE_RE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_STATE_RE = re.compile(r"[A-Z]{2}")
_COUNTRY_RE = re.compile(r"[A-Z]{3}")
_SSN_RE = re.compile(r"[0-9]{4}")
# Soap's documented search result has no date_of_birth.
_SEARCH_RESULT_FIELDS = (
    "id",
    "internal_id",
    "email",
    "first_name",
    "last_name",
    "phone_number",
    "created_at",
)
# Charge fields Soap only fills for card payments.
_CARD_ONLY_FIELDS = (
    "avs_result",
    "cvv_result",
    "network_authorization_code",
    "processor_charge_id",
)
_WALLET_URL = "https://wallet-sandbox.paywithsoap.com?clientSecret="
# Soap gives up on a webhook delivery after 10 s (soap-api.md §5.1).
_WEBHOOK_TIMEOUT = 10.0
# The fake's whole geography: the nearest of these names a ping's place, and a ping
# outside the contiguous United States fails its geo check.
_CITIES = (
    ("New York", "NY", 40.7128, -74.0060),
    ("Chicago", "IL", 41.8781, -87.6298),
    ("Miami", "FL", 25.7617, -80.1918),
    ("Houston", "TX", 29.7604, -95.3698),
    ("Denver", "CO", 39.7392, -104.9903),
    ("Las Vegas", "NV", 36.1699, -115.1398),
    ("Los Angeles", "CA", 34.0522, -118.2437),
    ("Seattle", "WA", 47.6062, -122.3321),
)
_US_LATITUDES = (24.4, 49.4)
_US_LONGITUDES = (-124.8, -66.9)
_BODY_KEY = web.RequestKey("soap_fake_body", object)
# A delayed handler wakes up as soon as the server closes, so this only bounds
# pathological cases (a handler stuck elsewhere) rather than normal shutdowns.
_SHUTDOWN_TIMEOUT = 5.0


@dataclasses.dataclass(frozen=True, kw_only=True)
class Fault:
    """A misbehaviour the fake server can apply to a request instead of (or around)
    its normal answer.

    Build faults with the constructors [`status`][soap_async.testing.Fault.status],
    [`drop_before`][soap_async.testing.Fault.drop_before],
    [`drop_after`][soap_async.testing.Fault.drop_after] and
    [`delay`][soap_async.testing.Fault.delay], then hand them to
    [`FakeSoapServer.inject`][soap_async.testing.FakeSoapServer.inject] or
    [`FakeSoapServer.inject_random`][soap_async.testing.FakeSoapServer.inject_random].

    Faults of kind ``status`` and ``drop_before`` are applied before authentication and
    validation, like a load balancer or a crashed process would: the request is not
    processed. ``drop_after`` and ``delay`` let the request be processed normally.
    """

    kind: _FaultKind
    status_code: int | None = None
    retry_after: str | None = None
    error: str | None = None
    seconds: float = 0.0
    process: bool = True

    @property
    def name(self) -> str:
        """Short name recorded in [`RecordedRequest.fault`][soap_async.testing.RecordedRequest],
        e.g. ``"status_429"``, ``"drop_before"``, ``"drop_after"`` or ``"delay"``."""
        if self.kind == "status":
            return f"status_{self.status_code}"
        return self.kind

    @classmethod
    def status(
        cls,
        code: int,
        *,
        retry_after: str | float | None = None,
        error: str | None = None,
    ) -> Fault:
        """Answer `code` without processing the request.

        Args:
            code: HTTP status to answer, 400 to 599 (e.g. 429, 500, 502, 503, 504, 408).
            retry_after: value of a `Retry-After` header. A string is sent as is (so an
                HTTP date or a malformed value can be tested); a number is sent as seconds.
            error: the `error` message of the body; defaults to the HTTP reason phrase.
        """
        if isinstance(code, bool) or not isinstance(code, int) or not 400 <= code <= 599:
            raise ValueError(f"status code must be an int from 400 to 599, got {code!r}")
        header: str | None
        if retry_after is None or isinstance(retry_after, str):
            header = retry_after
        elif isinstance(retry_after, bool) or not isinstance(retry_after, (int, float)):
            raise TypeError(f"retry_after must be a str or a number, got {retry_after!r}")
        elif retry_after < 0:
            raise ValueError(f"retry_after must not be negative, got {retry_after!r}")
        elif float(retry_after).is_integer():
            header = str(int(retry_after))
        else:
            header = repr(float(retry_after))
        return cls(kind="status", status_code=code, retry_after=header, error=error)

    @classmethod
    def drop_before(cls) -> Fault:
        """Close the connection without answering and without processing the request.

        Nothing is stored; the client sees the server disconnect
        (`aiohttp.ServerDisconnectedError`).
        """
        return cls(kind="drop_before")

    @classmethod
    def drop_after(cls) -> Fault:
        """Process the request normally (a customer is stored), then close the connection
        without sending the answer.

        This is the case exactly-once logic must survive: the work was done but the
        client cannot know it.
        """
        return cls(kind="drop_after")

    @classmethod
    def delay(cls, seconds: float, *, process: bool = True) -> Fault:
        """Hold the answer back for `seconds`.

        Args:
            seconds: how long to wait before answering.
            process: when true, the request is processed first and only the answer is
                late, so a client that times out leaves its work done. When false, the
                wait comes first and the request is processed only if the client is
                still connected when it ends; a client that gave up leaves no trace.
        """
        if seconds < 0:
            raise ValueError(f"seconds must not be negative, got {seconds!r}")
        return cls(kind="delay", seconds=float(seconds), process=process)


@dataclasses.dataclass(frozen=True)
class RecordedRequest:
    """One request received by [`FakeSoapServer`][soap_async.testing.FakeSoapServer],
    with the answer it got.

    Attributes:
        method: HTTP method, e.g. ``"POST"``.
        path: path without the query string, e.g. ``"/api/v1/customers"``.
        query: query parameters (the last value wins when a name repeats).
        headers: request headers as received.
        json: the parsed JSON body, or None when the body was empty or not JSON.
        fault: [`Fault.name`][soap_async.testing.Fault.name] of the fault applied, or None.
        status: HTTP status answered, or None when no answer was sent (the connection
            was dropped, the client went away first, or the request is still in flight).
        response: the parsed JSON body of the answer, or None when no answer was sent
            (`status` is None then). An answer whose body is JSON `null` (a customer
            without geo check) is also None, with a `status` of 200.
    """

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    json: Any
    fault: str | None
    status: int | None
    response: Any = None


@dataclasses.dataclass
class _Entry:
    """Mutable twin of RecordedRequest: the answer is only known at the end."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    json: Any
    fault: str | None = None
    status: int | None = None
    response: Any = None

    def freeze(self) -> RecordedRequest:
        return RecordedRequest(
            method=self.method,
            path=self.path,
            query=dict(self.query),
            headers=dict(self.headers),
            json=self.json,
            fault=self.fault,
            status=self.status,
            response=copy.deepcopy(self.response),
        )


@dataclasses.dataclass(frozen=True)
class WebhookDelivery:
    """One webhook POST sent by
    [`FakeSoapServer.deliver_webhook`][soap_async.testing.FakeSoapServer.deliver_webhook].

    Attributes:
        url: where it was sent.
        event_type: the event's `type`, e.g. ``"checkout.succeeded"`` (None if absent).
        status: HTTP status the receiver answered, or None when it did not answer
            (connection refused, timeout, ...).
        event: the event sent.
        body: the exact bytes sent (compact JSON), the ones the signature covers.
        header: name of the signature header.
        signature: its value, ``t=<unix seconds>,v1=<hex>``.
    """

    url: str
    event_type: str | None
    status: int | None
    event: dict[str, Any]
    body: bytes
    header: str
    signature: str


_Where = Callable[["RecordedRequest"], bool]


@dataclasses.dataclass
class _Rule:
    fault: Fault
    remaining: int
    method: str | None
    path: str | None
    where: _Where | None = None


@dataclasses.dataclass
class _RandomRule:
    faults: tuple[Fault, ...]
    rate: float
    rng: random.Random
    method: str | None
    path: str | None
    where: _Where | None = None


@dataclasses.dataclass(frozen=True)
class _Call:
    """What an endpoint needs from a request, free of aiohttp types."""

    body: Any
    query: Mapping[str, str]
    params: Mapping[str, str]


_Endpoint = Callable[[_Call], _Answer]
_AioHandler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclasses.dataclass(frozen=True)
class _Route:
    method: str
    pattern: str
    endpoint: _Endpoint
    # Which credential the route takes: the API key, or the dashboard client secret.
    auth: _Auth = "api_key"


def _matches(rule: _Rule | _RandomRule, request: RecordedRequest) -> bool:
    return (
        (rule.method is None or rule.method == request.method)
        and (rule.path is None or rule.path == request.path)
        and (rule.where is None or rule.where(request))
    )


def _error(status: int, message: str) -> _Answer:
    return status, {"error": message}


def _is_blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _now_iso() -> str:
    now = datetime.datetime.now(datetime.timezone.utc)
    return now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"


def _normalize_phone(raw: str) -> str | None:
    digits = raw.strip()
    if digits.startswith("+1"):
        digits = digits[2:]
    digits = "".join(ch for ch in digits if ch in "0123456789")
    if len(digits) == 11 and digits.startswith("1"):
        digits = digits[1:]
    return digits if len(digits) == 10 else None


def _parse_json(raw: bytes) -> Any:
    if not raw:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return None


class FakeSoapServer:
    """A stateful fake of the Soap API, served by a real aiohttp server on localhost.

    It implements every operation of the Soap API (soap-openapi.yaml) with Soap's
    validation rules and messages: customers (create, search, update), checkouts,
    charges (seeded with [`add_charge`][soap_async.testing.FakeSoapServer.add_charge]),
    KYC upserts, device pings and geo checks. It records every request with its answer,
    and can misbehave on demand ([`Fault`][soap_async.testing.Fault]) so that retries and
    exactly-once logic can be tested against real sockets. It also signs and delivers
    webhook events to a local URL, the way Soap does, to test webhook handlers.

    It runs either on the current event loop (`async with`, or
    [`astart`][soap_async.testing.FakeSoapServer.astart] /
    [`aclose`][soap_async.testing.FakeSoapServer.aclose]) or in a background thread with
    its own loop (`with`, or [`start`][soap_async.testing.FakeSoapServer.start] /
    [`stop`][soap_async.testing.FakeSoapServer.stop]), which suits synchronous code.

    Example:
        ```python
        from soap_async.testing import FakeSoapServer, Fault

        async with FakeSoapServer(api_key="key_test") as server:
            server.inject(Fault.status(503, retry_after=1), method="POST")
            server.inject(Fault.drop_after(), method="POST")
            ...  # point the client at server.url and create a customer
            assert [r.fault for r in server.requests] == ["status_503", "drop_after", None]
            assert len(server.customers) == 1
        ```

    Authentication accepts `Authorization: Bearer <api_key>` and the raw
    `Authorization: <api_key>`, since both appear in working integrations.
    `POST /api/v1/device_pings` is the exception: it takes the dashboard client secret
    (raw or Bearer) and refuses the API key, which the other routes take alone.
    Every success is a 200 and every error body is `{"error": "<message>"}`; missing
    resources (customers, charges) are 422, as with Soap, and only an unknown route is
    a 404.
    """

    def __init__(
        self,
        *,
        api_key: str = "key_test",
        host: str = "127.0.0.1",
        port: int = 0,
        # Well-known test credentials of a fake, not secrets.
        client_secret: str = "secr_test",  # noqa: S107
        webhook_secret: str = "wss_test",  # noqa: S107
    ):
        """
        Args:
            api_key: the only API key the server accepts.
            host: interface to listen on.
            port: TCP port; 0 picks a free one.
            client_secret: the dashboard client secret, the only credential
                `POST /api/v1/device_pings` accepts.
            webhook_secret: the webhook signing secret of
                [`sign_webhook`][soap_async.testing.FakeSoapServer.sign_webhook] and
                [`deliver_webhook`][soap_async.testing.FakeSoapServer.deliver_webhook].
        """
        self._credentials: dict[_Auth, str] = {
            "api_key": api_key,
            "client_secret": client_secret,
        }
        self._webhook_secret = webhook_secret
        self._host = host
        self._requested_port = port
        # Handlers run on the server's loop, possibly in another thread than the test
        # reading the state, so every access to the state goes through this lock.
        self._lock = threading.Lock()
        self._customers: list[dict[str, str | None]] = []
        self._checkouts: list[_Json] = []
        self._charges: dict[str, _Json] = {}
        self._kyc: dict[str, _Json] = {}
        self._geo_checks: dict[str, _Json] = {}
        self._deliveries: list[WebhookDelivery] = []
        self._entries: list[_Entry] = []
        self._rules: list[_Rule] = []
        self._random_rules: list[_RandomRule] = []
        # Lifecycle; only touched by the thread that starts and stops the server.
        self._mode: Literal["async", "thread"] | None = None
        self._port: int | None = None
        self._runner: web.AppRunner | None = None
        self._closing: asyncio.Event | None = None
        self._inflight: set[asyncio.Task[Any]] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    # ----------------------------------------------------------------- lifecycle

    @property
    def url(self) -> str:
        """Base URL, e.g. ``"http://127.0.0.1:54321"``. Only valid while running."""
        if self._mode is None or self._port is None:
            raise RuntimeError("FakeSoapServer is not running")
        host = f"[{self._host}]" if ":" in self._host else self._host
        return f"http://{host}:{self._port}"

    async def astart(self) -> None:
        """Start serving on the running event loop; returns once the port is bound."""
        if self._mode is not None:
            raise RuntimeError("FakeSoapServer is already running")
        await self._serve()
        self._mode = "async"

    async def aclose(self) -> None:
        """Stop a server started with `astart` or `async with`. Safe to call twice."""
        if self._mode is None:
            return
        if self._mode != "async":
            raise RuntimeError("this FakeSoapServer runs in a thread: call stop()")
        try:
            await self._shutdown()
        finally:
            self._mode = None

    async def __aenter__(self) -> FakeSoapServer:
        await self.astart()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    def start(self) -> None:
        """Start serving in a daemon thread with its own event loop.

        Returns once the port is bound; an error while binding is raised here.
        """
        if self._mode is not None:
            raise RuntimeError("FakeSoapServer is already running")
        loop = asyncio.new_event_loop()
        ready = threading.Event()
        errors: list[BaseException] = []
        thread = threading.Thread(
            target=self._thread_main,
            args=(loop, ready, errors),
            name="FakeSoapServer",
            daemon=True,
        )
        thread.start()
        ready.wait()
        if errors:
            thread.join()
            raise errors[0]
        self._loop = loop
        self._thread = thread
        self._mode = "thread"

    def stop(self) -> None:
        """Stop a server started with `start` or `with`: shut the aiohttp runner down,
        stop and close the thread's loop and join the thread. Safe to call twice."""
        if self._mode is None:
            return
        if self._mode != "thread":
            raise RuntimeError("this FakeSoapServer runs on an event loop: await aclose()")
        loop, thread = self._loop, self._thread
        assert loop is not None
        assert thread is not None
        try:
            asyncio.run_coroutine_threadsafe(self._shutdown(), loop).result()
        finally:
            loop.call_soon_threadsafe(loop.stop)
            thread.join()
            self._loop = None
            self._thread = None
            self._mode = None

    def __enter__(self) -> FakeSoapServer:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def _thread_main(
        self,
        loop: asyncio.AbstractEventLoop,
        ready: threading.Event,
        errors: list[BaseException],
    ) -> None:
        asyncio.set_event_loop(loop)
        try:
            try:
                loop.run_until_complete(self._serve())
            except BaseException as exc:
                errors.append(exc)
                return
            finally:
                ready.set()
            loop.run_forever()
        finally:
            try:
                # Connection tasks of clients that went away are not owned by the
                # runner; finish them here so closing the loop destroys no live task.
                pending = asyncio.all_tasks(loop)
                for task in pending:
                    task.cancel()
                if pending:
                    loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
                loop.run_until_complete(loop.shutdown_asyncgens())
                loop.run_until_complete(loop.shutdown_default_executor())
            finally:
                asyncio.set_event_loop(None)
                loop.close()

    async def _serve(self) -> None:
        self._closing = asyncio.Event()
        self._inflight = set()
        app = web.Application(middlewares=[self._pipeline])
        for route in self._routes():
            app.router.add_route(route.method, route.pattern, self._handler_for(route))
        # RecordedRequest is the log that matters; an access log would also show dropped
        # connections as if they had been answered.
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=_SHUTDOWN_TIMEOUT)
        await runner.setup()
        try:
            site = web.TCPSite(runner, self._host, self._requested_port)
            await site.start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        self._port = int(runner.addresses[0][1])

    async def _shutdown(self) -> None:
        assert self._closing is not None
        self._closing.set()
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()
        # The runner only waits for connections still open; handlers whose client
        # already left are ours to wait for.
        inflight = self._inflight - {asyncio.current_task()}
        if inflight:
            await asyncio.wait(inflight, timeout=_SHUTDOWN_TIMEOUT)
        self._port = None

    # ----------------------------------------------------------------- state

    @property
    def customers(self) -> list[dict[str, Any]]:
        """Copies of the stored customers, in creation order. A customer changed by
        `PATCH` also has its `updated_at`."""
        with self._lock:
            return [dict(customer) for customer in self._customers]

    def customer_by_email(self, email: str) -> dict[str, Any] | None:
        """A copy of the customer with this email (case-insensitive), or None."""
        with self._lock:
            found = self._find_by_email(email)
            return None if found is None else dict(found)

    @property
    def checkouts(self) -> list[dict[str, Any]]:
        """Copies of the created checkouts, in creation order: the answer Soap gave
        plus the request's `customer_id`, `fixed_amount_cents` and `return_url`."""
        with self._lock:
            return copy.deepcopy(self._checkouts)

    @property
    def charges(self) -> list[dict[str, Any]]:
        """Copies of the charges seeded with
        [`add_charge`][soap_async.testing.FakeSoapServer.add_charge], in order."""
        with self._lock:
            return copy.deepcopy(list(self._charges.values()))

    def add_charge(self, charge: Mapping[str, Any] | None = None, **fields: Any) -> dict[str, Any]:
        """Store a charge that `GET /api/v1/charges/{id}` will then answer.

        Soap creates charges itself when customers pay, so tests seed them here. The
        default is a realistic succeeded 3-D Secure card deposit of 1000 cents, with
        every field of the Charge schema: a fresh `ch_...` id, `customer`, a
        `payment_method` with its `card`, the card-only results (`avs_result`,
        `cvv_result`, `network_authorization_code`, `processor_charge_id`) and `threeds`.

        Args:
            charge: fields that override the default, e.g. a charge copied from a
                fixture.
            **fields: more overrides, applied after `charge`.

        A dict value merges into the default's dict (`customer={"id": "cus_..."}`
        keeps the default names); any other value replaces it. `threeds=None` leaves
        `threeds` out (no 3-D Secure). A `payment_method` whose `payment_type` is not
        `card` drops the default card, its results and `threeds`, unless they are given.
        A charge with the id of a stored one replaces it.

        Returns:
            A copy of the stored charge.
        """
        overrides = {**(charge or {}), **fields}
        stored = _merged(_default_charge(), overrides)
        method = stored.get("payment_method")
        if isinstance(method, dict) and method.get("payment_type") != "card":
            asked = overrides.get("payment_method")
            if not (isinstance(asked, Mapping) and "card" in asked):
                method.pop("card", None)
            for key in _CARD_ONLY_FIELDS:
                stored[key] = overrides.get(key)
            if "threeds" not in overrides:
                stored.pop("threeds", None)
        if stored.get("threeds", {}) is None:
            stored.pop("threeds")
        if not isinstance(stored.get("id"), str):
            raise ValueError(f"a charge id must be a string, got {stored.get('id')!r}")
        with self._lock:
            self._charges[stored["id"]] = stored
            return copy.deepcopy(stored)

    @property
    def kyc_identities(self) -> dict[str, dict[str, Any]]:
        """Copies of the KYC identities upserted, by customer id."""
        with self._lock:
            return copy.deepcopy(self._kyc)

    def set_geo_check(self, customer_id: str, geo_check: Mapping[str, Any] | None) -> None:
        """Make `geo_check` the latest geo check of `customer_id`, or forget it (None).

        `GET /api/v1/device_pings/latest_geo_check` answers it. Missing fields get
        defaults (a fresh `gc_...` id, `passed` true, New York, `checked_at` now), so
        `set_geo_check(customer["id"], {"passed": False})` is enough. The customer does
        not need to exist.
        """
        with self._lock:
            if geo_check is None:
                self._geo_checks.pop(customer_id, None)
            else:
                default = {**_geo_check(40.7128, -74.0060), "checked_at": _now_iso()}
                self._geo_checks[customer_id] = _merged(default, geo_check)

    @property
    def webhook_deliveries(self) -> list[WebhookDelivery]:
        """Every webhook delivery attempted, in order."""
        with self._lock:
            return list(self._deliveries)

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every request received, in arrival order."""
        with self._lock:
            return [entry.freeze() for entry in self._entries]

    def reset(self) -> None:
        """Forget all state (customers, checkouts, charges, KYC identities, geo checks),
        recorded requests, webhook deliveries and faults."""
        with self._lock:
            self._customers.clear()
            self._checkouts.clear()
            self._charges.clear()
            self._kyc.clear()
            self._geo_checks.clear()
            self._deliveries.clear()
            self._entries.clear()
            self._rules.clear()
            self._random_rules.clear()

    # ----------------------------------------------------------------- faults

    def inject(
        self,
        fault: Fault,
        *,
        times: int = 1,
        method: str | None = None,
        path: str | None = None,
        where: Callable[[RecordedRequest], bool] | None = None,
    ) -> None:
        """Apply `fault` to the next `times` matching requests.

        Args:
            fault: what to do.
            times: how many matching requests get it.
            method: only requests with this HTTP method (case-insensitive).
            path: only requests with exactly this path (without the query string).
            where: only requests for which this returns true; it receives the
                [`RecordedRequest`][soap_async.testing.RecordedRequest] (its `json` body,
                `query`, ...), e.g. `where=lambda r: r.json["email"] == "a@b.com"`.

        Injections queue up in FIFO order: a request gets the fault of the first rule
        that matches it and still has uses left. Queued rules take precedence over
        [`inject_random`][soap_async.testing.FakeSoapServer.inject_random].
        """
        if times < 1:
            raise ValueError(f"times must be at least 1, got {times!r}")
        rule = _Rule(fault, times, None if method is None else method.upper(), path, where)
        with self._lock:
            self._rules.append(rule)

    def inject_random(
        self,
        faults: Sequence[Fault],
        *,
        rate: float,
        seed: int,
        method: str | None = None,
        path: str | None = None,
        where: Callable[[RecordedRequest], bool] | None = None,
    ) -> None:
        """Apply a random fault to a random share of the matching requests.

        Each matching request that no queued [`inject`][soap_async.testing.FakeSoapServer.inject]
        rule took gets, with probability `rate`, a fault picked from `faults`. Both draws
        come from one `random.Random(seed)`, so a given sequence of requests always gets
        the same faults. When several random rules match, the first one that fires wins.

        Args:
            faults: the faults to pick from.
            rate: probability, from 0 to 1, that a matching request gets a fault.
            seed: seed of the random generator.
            method: only requests with this HTTP method (case-insensitive).
            path: only requests with exactly this path (without the query string).
            where: only requests for which this returns true (see `inject`).
        """
        if not faults:
            raise ValueError("faults must not be empty")
        if not 0.0 <= rate <= 1.0:
            raise ValueError(f"rate must be between 0 and 1, got {rate!r}")
        rule = _RandomRule(
            faults=tuple(faults),
            rate=rate,
            rng=random.Random(seed),
            method=None if method is None else method.upper(),
            path=path,
            where=where,
        )
        with self._lock:
            self._random_rules.append(rule)

    def clear_faults(self) -> None:
        """Remove every fault rule, queued or random."""
        with self._lock:
            self._rules.clear()
            self._random_rules.clear()

    def _take_fault(self, request: RecordedRequest) -> Fault | None:
        with self._lock:
            for index, rule in enumerate(self._rules):
                if _matches(rule, request):
                    rule.remaining -= 1
                    if rule.remaining == 0:
                        del self._rules[index]
                    return rule.fault
            for random_rule in self._random_rules:
                if _matches(random_rule, request) and random_rule.rng.random() < random_rule.rate:
                    return random_rule.rng.choice(random_rule.faults)
            return None

    # ----------------------------------------------------------------- HTTP plumbing

    @web.middleware
    async def _pipeline(
        self,
        request: web.Request,
        handler: _AioHandler,
    ) -> web.StreamResponse:
        # Both the request's task and its connection's task are tracked: after a drop
        # or a client timeout the runner no longer knows them, yet closing must not
        # leave them running.
        for task in (asyncio.current_task(), request.task):
            if task is not None and task not in self._inflight:
                self._inflight.add(task)
                task.add_done_callback(self._inflight.discard)

        body = _parse_json(await request.read())
        request[_BODY_KEY] = body
        entry = _Entry(
            method=request.method,
            path=request.path,
            query=dict(request.query),
            headers=dict(request.headers),
            json=body,
        )
        with self._lock:
            self._entries.append(entry)
        fault = self._take_fault(entry.freeze())
        entry.fault = None if fault is None else fault.name

        if fault is None:
            return self._answer(request, entry, await self._process(request, handler))
        if fault.kind == "status":
            assert fault.status_code is not None
            message = fault.error or _reason(fault.status_code)
            response = web.json_response({"error": message}, status=fault.status_code)
            if fault.retry_after is not None:
                response.headers["Retry-After"] = fault.retry_after
            return self._answer(request, entry, response)
        if fault.kind == "drop_before":
            return self._drop(request)
        if fault.kind == "drop_after":
            await self._process(request, handler)
            return self._drop(request)
        # What is left is a delay: late answer to done work, or work done only if the
        # client is still there to receive it.
        if fault.process:
            processed = await self._process(request, handler)
            await self._wait(fault.seconds)
            return self._answer(request, entry, processed)
        await self._wait(fault.seconds)
        if not _client_connected(request):
            return self._drop(request)
        return self._answer(request, entry, await self._process(request, handler))

    async def _process(
        self,
        request: web.Request,
        handler: _AioHandler,
    ) -> web.StreamResponse:
        # Routing comes before auth, as in a Rails app: an unknown path is a 404
        # whatever the key. A wrong method on a known path is a 404 too, since Soap
        # is not known to answer 405.
        # Authentication depends on the route, so the handler checks it.
        if request.match_info.http_exception is not None:
            return _json_answer(_error(404, "Not found"))
        return await handler(request)

    def _authorized(self, auth: _Auth, header: str | None) -> bool:
        secret = self._credentials[auth]
        return header is not None and header in (secret, f"Bearer {secret}")

    def _answer(
        self, request: web.Request, entry: _Entry, response: web.StreamResponse
    ) -> web.StreamResponse:
        # aiohttp writes the response after the handler returns and quietly gives up
        # if the client already left; that is the case where nothing was answered.
        sent = _client_connected(request)
        body = response.body if sent and isinstance(response, web.Response) else None
        with self._lock:
            entry.status = response.status if sent else None
            entry.response = _parse_json(body) if isinstance(body, bytes) else None
        return response

    @staticmethod
    def _drop(request: web.Request) -> web.StreamResponse:
        # The body has been read, so close() sends a clean FIN: the client sees the
        # server disconnect before any response byte. aiohttp then fails to write the
        # response returned here with a ConnectionResetError, which it treats as a
        # client disconnection (no error logged, no exception leaked).
        transport = request.transport
        if transport is not None:
            transport.close()
        return web.Response()

    async def _wait(self, seconds: float) -> None:
        # Waking up when the server closes keeps shutdown fast despite long delays.
        assert self._closing is not None
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self._closing.wait(), timeout=seconds)

    def _handler_for(self, route: _Route) -> _AioHandler:
        async def handler(request: web.Request) -> web.StreamResponse:
            if not self._authorized(route.auth, request.headers.get("Authorization")):
                what = "API key" if route.auth == "api_key" else "client secret"
                return _json_answer(_error(401, f"Invalid {what}"))
            call = _Call(
                body=request[_BODY_KEY],
                query=request.query,
                params=request.match_info,
            )
            return _json_answer(route.endpoint(call))

        return handler

    # ----------------------------------------------------------------- webhooks

    def sign_webhook(self, body: bytes, *, timestamp: int | None = None) -> str:
        """The `SOAP-WEBHOOK-SIGNATURE` header Soap would send with `body`.

        The value is `t=<unix seconds>,v1=<hex>`, where the hex is the HMAC-SHA256 of
        `b"<t>." + body` keyed with the webhook secret (soap-api.md §5.1).

        Args:
            body: the exact bytes of the request body.
            timestamp: the `t` to sign, in unix seconds; now by default. Pass an old one
                to test that a handler refuses stale deliveries.
        """
        return _signature(self._webhook_secret, body, timestamp)

    async def deliver_webhook(
        self,
        url: str,
        event: Mapping[str, Any],
        *,
        timestamp: int | None = None,
        header: str = "SOAP-WEBHOOK-SIGNATURE",
        secret: str | None = None,
    ) -> int:
        """POST `event` to a local webhook handler the way Soap does, and return the
        status it answered.

        The body is the compact JSON of `event` (`json.dumps(event, separators=(",",
        ":"))`), sent as `application/json` with a signature header (see
        [`sign_webhook`][soap_async.testing.FakeSoapServer.sign_webhook]) and a 10 s
        timeout. One attempt is made, without following redirects; call again to
        simulate one of Soap's retries. Each delivery is recorded in
        [`webhook_deliveries`][soap_async.testing.FakeSoapServer.webhook_deliveries],
        with a None status when the handler did not answer.

        It runs on the caller's event loop, whichever it is; the server need not run.
        Build events with [`make_event`][soap_async.testing.make_event].

        Args:
            url: the handler's URL. Only loopback hosts are allowed (127.0.0.0/8, ::1,
                localhost): the test kit never sends traffic elsewhere.
            event: the event to send.
            timestamp: the signature's `t`; now by default.
            header: the signature header's name; `"soap_signature"` imitates older
                deliveries.
            secret: sign with this secret instead of the server's webhook secret, to
                test that a handler refuses bad signatures.

        Raises:
            ValueError: `url` is not a loopback http(s) URL.
            aiohttp.ClientError: the handler could not be reached.
            asyncio.TimeoutError: the handler did not answer within 10 s.
        """
        _check_loopback(url)
        body = json.dumps(event, separators=(",", ":")).encode()
        signature = _signature(self._webhook_secret if secret is None else secret, body, timestamp)
        status: int | None = None
        try:
            async with (
                aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=_WEBHOOK_TIMEOUT)) as s,
                s.post(
                    url,
                    data=body,
                    headers={"Content-Type": "application/json", header: signature},
                    allow_redirects=False,
                ) as response,
            ):
                await response.read()
                status = response.status
                return status
        finally:
            event_type = event.get("type")
            delivery = WebhookDelivery(
                url=url,
                event_type=event_type if isinstance(event_type, str) else None,
                status=status,
                event=copy.deepcopy(dict(event)),
                body=body,
                header=header,
                signature=signature,
            )
            with self._lock:
                self._deliveries.append(delivery)

    def deliver_webhook_sync(
        self,
        url: str,
        event: Mapping[str, Any],
        *,
        timestamp: int | None = None,
        header: str = "SOAP-WEBHOOK-SIGNATURE",
        secret: str | None = None,
    ) -> int:
        """Blocking twin of
        [`deliver_webhook`][soap_async.testing.FakeSoapServer.deliver_webhook], for
        synchronous tests (e.g. of a Flask or Django handler served in a thread).

        The delivery runs on a private event loop in a worker thread, so it may be
        called from any thread, but not from the event loop that serves the handler:
        that loop would be blocked and could not answer.
        """
        _check_loopback(url)
        delivery = functools.partial(
            self.deliver_webhook, url, event, timestamp=timestamp, header=header, secret=secret
        )
        with concurrent.futures.ThreadPoolExecutor(1, "FakeSoapWebhook") as pool:
            return pool.submit(lambda: asyncio.run(delivery())).result()

    # ----------------------------------------------------------------- endpoints

    def _routes(self) -> list[_Route]:
        """The API surface. A new endpoint is one method plus one row here; aiohttp
        matches in order, so a fixed path must come before a `{param}` sibling."""
        return [
            _Route("POST", "/api/v1/customers", self._create_customer),
            _Route("GET", "/api/v1/customers/search", self._search_customers),
            _Route("PATCH", "/api/v1/customers/{id}", self._update_customer),
            _Route("POST", "/api/v1/checkouts", self._create_checkout),
            _Route("GET", "/api/v1/charges/{id}", self._retrieve_charge),
            _Route("POST", "/api/v1/kyc/upsert", self._upsert_kyc),
            _Route("POST", "/api/v1/device_pings", self._ping_device, auth="client_secret"),
            _Route("GET", "/api/v1/device_pings/latest_geo_check", self._latest_geo_check),
        ]

    def _create_customer(self, call: _Call) -> _Answer:
        body = call.body
        problem = _shape_problem(body, _CUSTOMER_FIELDS)
        if problem is not None:
            return _error(422, problem)
        with self._lock:
            if self._find_by_email(body["email"]) is not None:
                return _error(422, "Email has already been taken")
            customer: dict[str, str | None] = {
                "id": _new_id("cus_"),
                "internal_id": body.get("internal_id"),
                "email": body["email"],
                "first_name": body["first_name"],
                "last_name": body["last_name"],
                "phone_number": body.get("phone_number"),
                "date_of_birth": body.get("date_of_birth"),
                "created_at": _now_iso(),
            }
            self._customers.append(customer)
            return 200, dict(customer)

    def _search_customers(self, call: _Call) -> _Answer:
        email = call.query.get("email", "")
        raw_phone = call.query.get("phone_number", "")
        if not email.strip() and not raw_phone.strip():
            return _error(422, "email or phone_number is required")
        phone: str | None = None
        if raw_phone.strip():
            phone = _normalize_phone(raw_phone)
            if phone is None:
                return _error(422, "Phone number must be 10 digits")
        with self._lock:
            results = [
                {field: customer[field] for field in _SEARCH_RESULT_FIELDS}
                for customer in self._customers
                if (not email.strip() or str(customer["email"]).lower() == email.lower())
                and (phone is None or customer["phone_number"] == phone)
            ]
        return 200, {"results": results}

    def _update_customer(self, call: _Call) -> _Answer:
        body = call.body
        with self._lock:
            customer = self._find_by_id(call.params["id"])
            if customer is None:
                return _error(422, "Customer not found")
            problem = _shape_problem(body, _UPDATE_FIELDS, partial=True)
            if problem is None and not body:
                problem = "At least one field is required"
            if problem is not None:
                return _error(422, problem)
            if "email" in body:
                holder = self._find_by_email(body["email"])
                if holder is not None and holder is not customer:
                    return _error(422, "Email has already been taken")
            customer.update(body)
            customer["updated_at"] = _now_iso()
            return 200, dict(customer)

    def _create_checkout(self, call: _Call) -> _Answer:
        body = call.body
        problem = _checkout_problem(body)
        if problem is not None:
            return _error(422, problem)
        with self._lock:
            if self._find_by_id(body["customer_id"]) is None:
                return _error(422, "Customer not found")
            client_secret = secrets.token_urlsafe(32)
            items = body.get("line_items", [])
            plan = body.get("subscription_data")
            checkout = {
                "id": _new_id("chk_"),
                "client_secret": client_secret,
                "url": _WALLET_URL + client_secret,
                "line_items": items,
                "line_items_total_amount_cents": _items_total(items),
                "balance_amount_cents": body.get("balance_amount_cents"),
                "type": body["type"],
                "experience": body.get("experience"),
                "subscription": None if plan is None else dict(plan),
            }
            context = {key: body.get(key) for key in _CHECKOUT_CONTEXT}
            self._checkouts.append(copy.deepcopy({**checkout, **context}))
            return 200, copy.deepcopy(checkout)

    def _retrieve_charge(self, call: _Call) -> _Answer:
        with self._lock:
            charge = self._charges.get(call.params["id"])
            if charge is None:
                return _error(422, "Charge not found")
            return 200, copy.deepcopy(charge)

    def _upsert_kyc(self, call: _Call) -> _Answer:
        body = call.body
        problem = _shape_problem(body, _KYC_FIELDS)
        if problem is not None:
            return _error(422, problem)
        customer_id = body["customer_id"]
        with self._lock:
            if self._find_by_id(customer_id) is None:
                return _error(422, "Customer not found")
            known = self._kyc.get(customer_id)
            identity = {"id": _new_id("id_") if known is None else known["id"]}
            identity.update((field.name, body.get(field.name)) for field in _KYC_FIELDS)
            self._kyc[customer_id] = identity
            return 200, copy.deepcopy(identity)

    def _ping_device(self, call: _Call) -> _Answer:
        body = call.body
        problem = _shape_problem(body, _DEVICE_PING_FIELDS)
        if problem is not None:
            return _error(422, problem)
        geo_check = _geo_check(body["latitude"], body["longitude"])
        with self._lock:
            if self._find_by_id(body["customer_id"]) is None:
                return _error(422, "Customer not found")
            self._geo_checks[body["customer_id"]] = {**geo_check, "checked_at": _now_iso()}
        return 200, {"id": _new_id("dp_"), "geo_check": geo_check, "ip_check": None}

    def _latest_geo_check(self, call: _Call) -> _Answer:
        customer_id = call.query.get("customer_id", "")
        if not customer_id.strip():
            return _error(422, "customer_id is required")
        with self._lock:
            # No geo check yet (or an unknown customer) is a 200 with a JSON null body.
            return 200, copy.deepcopy(self._geo_checks.get(customer_id))

    def _find_by_email(self, email: str) -> dict[str, str | None] | None:
        # Callers hold self._lock.
        wanted = email.lower()
        for customer in self._customers:
            if str(customer["email"]).lower() == wanted:
                return customer
        return None

    def _find_by_id(self, customer_id: str) -> dict[str, str | None] | None:
        # Callers hold self._lock.
        for customer in self._customers:
            if customer["id"] == customer_id:
                return customer
        return None


# --------------------------------------------------------------------- validation


@dataclasses.dataclass(frozen=True)
class _Field:
    """One field of a JSON object and its rule.

    A required field that is missing, null or blank is "<Label> can't be blank"; an
    optional one may be absent, and null too when nullable. Any other value must pass
    `valid`, else the answer is "<Label> <problem>", e.g. "Email is invalid".
    """

    name: str
    valid: Callable[[Any], bool]
    problem: str
    required: bool = False
    nullable: bool = False

    @property
    def label(self) -> str:
        """Rails' humanized name: ``first_name`` -> ``First name``."""
        return self.name.replace("_", " ").capitalize()


def _shape_problem(
    value: Any,
    fields: Sequence[_Field],
    *,
    what: str = "Request body",
    partial: bool = False,
) -> str | None:
    """The first problem of a JSON object checked against `fields`, in Soap's order:
    not an object, then an unrecognized key, then each field in turn. With `partial`,
    absent fields are not checked (an update)."""
    if not isinstance(value, dict):
        return f"{what} must be a JSON object"
    names = {field.name for field in fields}
    for key in value:
        if key not in names:
            return f"Unrecognized field: {key}"
    for field in fields:
        if partial and field.name not in value:
            continue
        item = value.get(field.name)
        if field.required and _is_blank(item):
            return f"{field.label} can't be blank"
        if item is None and (field.nullable or field.name not in value):
            continue
        if not field.valid(item):
            return f"{field.label} {field.problem}"
    return None


def _is_str(value: object) -> bool:
    return isinstance(value, str)


def _is_count(value: object) -> bool:
    """An integer of at least 1 (JSON `true` is not one)."""
    return isinstance(value, int) and not isinstance(value, bool) and value >= 1


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _is_bool(value: object) -> bool:
    return isinstance(value, bool)


def _is_list(value: object) -> bool:
    return isinstance(value, list)


def _is_dict(value: object) -> bool:
    return isinstance(value, dict)


def _is_date(value: object) -> bool:
    if not isinstance(value, str) or _DATE_RE.fullmatch(value) is None:
        return False
    try:
        datetime.date.fromisoformat(value)
    except ValueError:
        return False
    return True


def _full_match(pattern: re.Pattern[str]) -> Callable[[Any], bool]:
    return lambda value: isinstance(value, str) and pattern.fullmatch(value) is not None


def _one_of(*choices: str) -> Callable[[Any], bool]:
    return lambda value: isinstance(value, str) and value in choices


def _prefixed(prefix: str) -> Callable[[Any], bool]:
    return lambda value: isinstance(value, str) and value.startswith(prefix)


_STRING = "must be a string"
_COUNT = "must be an integer of at least 1"

_CUSTOMER_FIELDS = (
    _Field("email", _full_match(_EMAIL_RE), "is invalid", required=True),
    _Field("first_name", _is_str, _STRING, required=True),
    _Field("last_name", _is_str, _STRING, required=True),
    _Field("phone_number", _full_match(_PHONE_RE), "must be 10 digits", nullable=True),
    _Field("date_of_birth", _is_date, "is invalid", nullable=True),
    _Field("internal_id", _is_str, _STRING, nullable=True),
)
# PATCH takes the same fields with the same rules, except internal_id, which it refuses.
_UPDATE_FIELDS = tuple(field for field in _CUSTOMER_FIELDS if field.name != "internal_id")

_CHECKOUT_FIELDS = (
    _Field("customer_id", _is_str, _STRING, required=True),
    _Field(
        "type", _one_of("deposit", "withdrawal"), "must be deposit or withdrawal", required=True
    ),
    _Field("line_items", _is_list, "must be an array"),
    _Field("subscription_data", _is_dict, "must be an object"),
    _Field("fixed_amount_cents", _is_count, _COUNT),
    _Field("balance_amount_cents", _is_count, _COUNT),
    _Field("experience", _one_of("web", "webview"), "must be web or webview"),
    _Field("return_url", _is_str, _STRING),
)
# What a stored checkout keeps of its request, beside the answer.
_CHECKOUT_CONTEXT = ("customer_id", "fixed_amount_cents", "return_url")
_INTERVALS = ("day", "week", "month", "year")
_SUBSCRIPTION_FIELDS = (
    _Field(
        "interval", _one_of(*_INTERVALS), f"must be one of {', '.join(_INTERVALS)}", required=True
    ),
    _Field("interval_count", _is_count, _COUNT, required=True),
)
_QUANTITY = _Field("quantity", _is_count, _COUNT, required=True)
_PRODUCT_ITEM_FIELDS = (
    _Field("product_id", _prefixed("pr_"), "must start with pr_", required=True),
    _QUANTITY,
)
_INLINE_ITEM_FIELDS = (
    _Field("name", _is_str, _STRING, required=True),
    _Field("price_cents", _is_count, _COUNT, required=True),
    _QUANTITY,
    _Field("sku", _is_str, _STRING),
    _Field("url", _is_str, _STRING),
    _Field("dedup", _is_bool, "must be a boolean"),
)

_KYC_FIELDS = (
    _Field("customer_id", _is_str, _STRING, required=True),
    _Field("first_name", _is_str, _STRING, required=True),
    _Field("last_name", _is_str, _STRING, required=True),
    _Field("date_of_birth", _is_date, "is invalid", required=True),
    _Field("address_line_1", _is_str, _STRING, required=True),
    _Field("address_line_2", _is_str, _STRING, nullable=True),
    _Field("city", _is_str, _STRING, required=True),
    _Field("state", _full_match(_STATE_RE), "must be two upper-case letters", required=True),
    _Field("postal_code", _is_str, _STRING, required=True),
    _Field("country", _full_match(_COUNTRY_RE), "must be three upper-case letters", required=True),
    _Field("provider", _is_str, _STRING, required=True),
    _Field("verified", _is_bool, "must be a boolean", required=True),
    _Field("email", _is_str, _STRING),
    _Field("phone_number", _is_str, _STRING),
    _Field("last_four_ssn", _full_match(_SSN_RE), "must be 4 digits"),
)

_DEVICE_PING_FIELDS = (
    _Field("latitude", _is_number, "must be a number", required=True),
    _Field("longitude", _is_number, "must be a number", required=True),
    _Field("customer_id", _is_str, _STRING, required=True),
)


def _checkout_problem(body: Any) -> str | None:
    """The first problem of a create-checkout body, or None. Flow rules that depend on
    the merchant account (e.g. a mandatory fixed_amount_cents) are not enforced."""
    problem = _shape_problem(body, _CHECKOUT_FIELDS)
    if problem is not None:
        return problem
    items = body.get("line_items") or []
    if items and body["type"] == "withdrawal":
        return "Line items are not allowed for withdrawals"
    for item in items:
        problem = _line_item_problem(item)
        if problem is not None:
            return problem
    if "subscription_data" in body:
        if not items:
            return "Subscription data requires line items"
        return _shape_problem(body["subscription_data"], _SUBSCRIPTION_FIELDS)
    return None


def _line_item_problem(item: Any) -> str | None:
    """A line item is a product reference {product_id, quantity} or an inline product."""
    by_reference = isinstance(item, dict) and "product_id" in item
    fields = _PRODUCT_ITEM_FIELDS if by_reference else _INLINE_ITEM_FIELDS
    problem = _shape_problem(item, fields, what="Line item")
    if problem is None and item.get("dedup") is True and _is_blank(item.get("sku")):
        return "sku is required when dedup is true"
    return problem


def _items_total(items: Sequence[Mapping[str, Any]]) -> int | None:
    """Sum of the inline items; unknown (None) without items or with a product reference,
    whose price only Soap knows."""
    if not items or any("product_id" in item for item in items):
        return None
    return sum(int(item["price_cents"]) * int(item["quantity"]) for item in items)


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def _json_answer(answer: _Answer) -> web.Response:
    status, payload = answer
    return web.json_response(payload, status=status)


def _client_connected(request: web.Request) -> bool:
    transport = request.transport
    return transport is not None and not transport.is_closing()


# --------------------------------------------------------------------- fake data


def _geo_check(latitude: float, longitude: float) -> _Json:
    """The fake's geo check of a position: named after the nearest known city, and
    passed inside the contiguous United States."""
    name, region, _, _ = min(
        _CITIES, key=lambda city: (city[2] - latitude) ** 2 + (city[3] - longitude) ** 2
    )
    passed = (
        _US_LATITUDES[0] <= latitude <= _US_LATITUDES[1]
        and _US_LONGITUDES[0] <= longitude <= _US_LONGITUDES[1]
    )
    return {
        "id": _new_id("gc_"),
        "passed": passed,
        "municipality": name,
        "region": region,
        "country": "US",
        "latitude": latitude,
        "longitude": longitude,
    }


def _default_charge() -> _Json:
    """A succeeded 3-D Secure card deposit with every field of the Charge schema."""
    now = _now_iso()
    return {
        "id": _new_id("ch_"),
        "amount_cents": 1000,
        "transaction_type": "credit",
        "currency": "USD",
        "status": "succeeded",
        "failure_code": None,
        "failure_message": None,
        "created_at": now,
        "updated_at": now,
        "customer": {"id": _new_id("cus_"), "first_name": "Jane", "last_name": "Doe"},
        "payment_method": {
            "id": _new_id("pm_"),
            "payment_type": "card",
            "created_at": now,
            "updated_at": now,
            "saved": True,
            "fingerprint": secrets.token_hex(16),
            "card": {
                "last_four": "4242",
                "card_brand": "visa",
                "card_expiration_month": 12,
                "card_expiration_year": datetime.date.today().year + 3,
                "card_issuer_country": "US",
                "name_on_card": "Jane Doe",
                "card_type": "credit",
                "first_name": "Jane",
                "last_name": "Doe",
                "zip": "10001",
                "google_pay": False,
                "apple_pay": False,
                "bin": "424242",
            },
        },
        "avs_result": "Y",
        "cvv_result": "M",
        "network_authorization_code": f"{secrets.randbelow(10**6):06d}",
        "processor_charge_id": secrets.token_hex(12),
        "threeds": {
            "eci": "05",
            "version": "2.2.0",
            "liability_shifted": True,
            "failure_reason": None,
            "status": "success",
        },
    }


# --------------------------------------------------------------------- webhooks


def _signature(secret: str, body: bytes, timestamp: int | None) -> str:
    """`t=<t>,v1=<hex HMAC-SHA256(secret, b"<t>." + body)>`, Soap's signature scheme."""
    stamp = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(secret.encode(), f"{stamp}.".encode() + body, hashlib.sha256)
    return f"t={stamp},v1={digest.hexdigest()}"


def _check_loopback(url: str) -> None:
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not _is_loopback(parts.hostname):
        raise ValueError(
            "webhooks are only delivered to loopback http(s) URLs "
            f"(127.0.0.0/8, [::1] or localhost), not {url!r}"
        )


def _is_loopback(host: str | None) -> bool:
    if host is None:
        return False
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
