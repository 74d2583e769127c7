"""A stateful fake of the Soap API, served by a real aiohttp server on localhost.

This module is an independent implementation of the API contract described in
``soap-api.md`` / ``soap-openapi.yaml``: it deliberately shares no code with the SDK,
so that the SDK's tests check the SDK against the contract and not against itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime
import json
import random
import re
import secrets
import threading
from collections.abc import Awaitable, Callable, Mapping, Sequence
from http import HTTPStatus
from types import TracebackType
from typing import Any, Literal

from aiohttp import web

__all__ = ["FakeSoapServer", "Fault", "RecordedRequest"]

_FaultKind = Literal["status", "drop_before", "drop_after", "delay"]
_Json = dict[str, Any]
_Answer = tuple[int, _Json]

_BASE58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_EMAIL_RE = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_PHONE_RE = re.compile(r"[0-9]{10}")
_DATE_RE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_CUSTOMER_FIELDS = (
    "email",
    "first_name",
    "last_name",
    "phone_number",
    "date_of_birth",
    "internal_id",
)
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
    """One request received by [`FakeSoapServer`][soap_async.testing.FakeSoapServer].

    Attributes:
        method: HTTP method, e.g. ``"POST"``.
        path: path without the query string, e.g. ``"/api/v1/customers"``.
        query: query parameters (the last value wins when a name repeats).
        headers: request headers as received.
        json: the parsed JSON body, or None when the body was empty or not JSON.
        fault: [`Fault.name`][soap_async.testing.Fault.name] of the fault applied, or None.
        status: HTTP status answered, or None when no answer was sent (the connection
            was dropped, the client went away first, or the request is still in flight).
    """

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    json: Any
    fault: str | None
    status: int | None


@dataclasses.dataclass
class _Entry:
    """Mutable twin of RecordedRequest: the status is only known at the end."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    json: Any
    fault: str | None = None
    status: int | None = None

    def freeze(self) -> RecordedRequest:
        return RecordedRequest(
            method=self.method,
            path=self.path,
            query=dict(self.query),
            headers=dict(self.headers),
            json=self.json,
            fault=self.fault,
            status=self.status,
        )


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

    It implements `POST /api/v1/customers` and `GET /api/v1/customers/search` with
    Soap's validation rules and messages, records every request, and can misbehave on
    demand ([`Fault`][soap_async.testing.Fault]) so that retries and exactly-once logic
    can be tested against real sockets.

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
    Every success is a 200 and every error body is `{"error": "<message>"}`.
    """

    def __init__(self, *, api_key: str = "key_test", host: str = "127.0.0.1", port: int = 0):
        """
        Args:
            api_key: the only key the server accepts.
            host: interface to listen on.
            port: TCP port; 0 picks a free one.
        """
        self._api_key = api_key
        self._host = host
        self._requested_port = port
        # Handlers run on the server's loop, possibly in another thread than the test
        # reading the state, so every access to the state goes through this lock.
        self._lock = threading.Lock()
        self._customers: list[dict[str, str | None]] = []
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
            app.router.add_route(route.method, route.pattern, self._handler_for(route.endpoint))
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
        """Copies of the stored customers, in creation order."""
        with self._lock:
            return [dict(customer) for customer in self._customers]

    def customer_by_email(self, email: str) -> dict[str, Any] | None:
        """A copy of the customer with this email (case-insensitive), or None."""
        with self._lock:
            found = self._find_by_email(email)
            return None if found is None else dict(found)

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every request received, in arrival order."""
        with self._lock:
            return [entry.freeze() for entry in self._entries]

    def reset(self) -> None:
        """Forget customers, recorded requests and faults."""
        with self._lock:
            self._customers.clear()
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
        if request.match_info.http_exception is not None:
            return _json_answer(_error(404, "Not found"))
        if not self._authorized(request.headers.get("Authorization")):
            return _json_answer(_error(401, "Invalid API key"))
        return await handler(request)

    def _authorized(self, header: str | None) -> bool:
        return header is not None and header in (self._api_key, f"Bearer {self._api_key}")

    def _answer(
        self, request: web.Request, entry: _Entry, response: web.StreamResponse
    ) -> web.StreamResponse:
        # aiohttp writes the response after the handler returns and quietly gives up
        # if the client already left; that is the case where nothing was answered.
        entry.status = response.status if _client_connected(request) else None
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

    def _handler_for(self, endpoint: _Endpoint) -> _AioHandler:
        async def handler(request: web.Request) -> web.StreamResponse:
            call = _Call(
                body=request[_BODY_KEY],
                query=request.query,
                params=request.match_info,
            )
            return _json_answer(endpoint(call))

        return handler

    # ----------------------------------------------------------------- endpoints

    def _routes(self) -> list[_Route]:
        """The API surface. A new endpoint is one method plus one row here; aiohttp
        matches in order, so a fixed path must come before a `{param}` sibling."""
        return [
            _Route("POST", "/api/v1/customers", self._create_customer),
            _Route("GET", "/api/v1/customers/search", self._search_customers),
        ]

    def _create_customer(self, call: _Call) -> _Answer:
        body = call.body
        if not isinstance(body, dict):
            return _error(422, "Request body must be a JSON object")
        for key in body:
            if key not in _CUSTOMER_FIELDS:
                return _error(422, f"Unrecognized field: {key}")
        problem = _customer_problem(body)
        if problem is not None:
            return _error(422, problem)
        with self._lock:
            if self._find_by_email(body["email"]) is not None:
                return _error(422, "Email has already been taken")
            customer: dict[str, str | None] = {
                "id": "cus_" + "".join(secrets.choice(_BASE58) for _ in range(32)),
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

    def _find_by_email(self, email: str) -> dict[str, str | None] | None:
        # Callers hold self._lock.
        wanted = email.lower()
        for customer in self._customers:
            if str(customer["email"]).lower() == wanted:
                return customer
        return None


def _customer_problem(body: Mapping[str, Any]) -> str | None:
    """The first validation problem of a create-customer body, in Soap's order."""
    email = body.get("email")
    if _is_blank(email):
        return "Email can't be blank"
    if not isinstance(email, str) or _EMAIL_RE.fullmatch(email) is None:
        return "Email is invalid"
    for field, label in (("first_name", "First name"), ("last_name", "Last name")):
        value = body.get(field)
        if _is_blank(value):
            return f"{label} can't be blank"
        if not isinstance(value, str):
            return f"{label} must be a string"
    phone = body.get("phone_number")
    if phone is not None and (not isinstance(phone, str) or _PHONE_RE.fullmatch(phone) is None):
        return "Phone number must be 10 digits"
    birth = body.get("date_of_birth")
    if birth is not None and not _is_date(birth):
        return "Date of birth is invalid"
    internal_id = body.get("internal_id")
    if internal_id is not None and not isinstance(internal_id, str):
        return "Internal id must be a string"
    return None


def _is_date(value: object) -> bool:
    if not isinstance(value, str) or _DATE_RE.fullmatch(value) is None:
        return False
    try:
        datetime.date.fromisoformat(value)
    except ValueError:
        return False
    return True


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
