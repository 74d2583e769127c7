"""SoapClient: the blocking facade, shared by threads, in running loops, after fork, at exit."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
import warnings
from concurrent.futures import ThreadPoolExecutor

import aiohttp
import pytest

from soap_async import EmailTakenError, InternalServerError, SoapClient, SoapError
from soap_async._sync import _LOOP
from soap_async.testing import FakeSoapServer, Fault

from .conftest import API_KEY
from .helpers import FakeClock

FIELDS = {"email": "ada@example.com", "first_name": "Ada", "last_name": "Lovelace"}


def client_for(server: FakeSoapServer, **kwargs: object) -> SoapClient:
    kwargs.setdefault("retry", FakeClock().policy(max_retries=3))
    return SoapClient(api_key=API_KEY, base_url=server.url, **kwargs)  # type: ignore[arg-type]


def wait_for_child(pid: int, seconds: float) -> int:
    """The child's exit code; a child still running after `seconds` is killed (-9)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status)
        time.sleep(0.01)
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    return -9


def run_strict(script: str) -> subprocess.CompletedProcess[str]:
    """`script` in a fresh interpreter in dev mode, warnings as errors."""
    return subprocess.run(
        [sys.executable, "-X", "dev", "-W", "error", "-c", script],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


def sdk_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("soap-async")]


def test_create_and_errors(threaded_server: FakeSoapServer) -> None:
    with client_for(threaded_server) as soap:
        customer = soap.customers.create(**FIELDS, phone_number="800.800.1234")
        assert customer.phone_number == "8008001234"
        with pytest.raises(EmailTakenError):
            soap.customers.create(**FIELDS)
    assert [c["id"] for c in threaded_server.customers] == [customer.id]


def test_sync_method_keeps_the_async_signature_and_docs() -> None:
    assert SoapClient.customers.__doc__
    assert "Create a customer" in (SoapClient(api_key=API_KEY).customers.create.__doc__ or "")


def test_retries_work_through_the_facade(threaded_server: FakeSoapServer) -> None:
    clock = FakeClock()
    threaded_server.inject(Fault.status(503), times=2)
    with client_for(threaded_server, retry=clock.policy(max_retries=3)) as soap:
        soap.customers.create(**FIELDS)
    assert clock.sleeps == [0.5, 1.0]


def test_sixteen_threads_share_one_client(threaded_server: FakeSoapServer) -> None:
    sessions: list[aiohttp.ClientSession] = []

    def make_session() -> aiohttp.ClientSession:
        sessions.append(aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=8)))
        return sessions[-1]

    soap = client_for(threaded_server, session=make_session)

    def work(thread: int) -> list[str]:
        return [
            soap.customers.create(**{**FIELDS, "email": f"t{thread}.n{n}@example.com"}).email
            for n in range(25)
        ]

    with ThreadPoolExecutor(max_workers=16) as pool:
        results = list(pool.map(work, range(16)))
    soap.close()
    created = sorted(e for batch in results for e in batch)
    assert created == sorted(c["email"] for c in threaded_server.customers)
    assert len(created) == 400
    # One loop and one pool served all sixteen threads, and no thread of the SDK's own
    # was left behind.
    assert len(sessions) == 1
    assert sessions[0].closed
    assert sdk_threads() == []


def test_works_inside_a_running_event_loop(threaded_server: FakeSoapServer) -> None:
    soap = client_for(threaded_server)

    async def async_caller() -> str:
        # A sync helper called by async code (or a notebook cell): it blocks this
        # loop for the call, but it works.
        return soap.customers.create(**FIELDS).id

    customer_id = asyncio.run(async_caller())
    soap.close()
    assert threaded_server.customers[0]["id"] == customer_id


def test_calling_from_code_on_the_sdk_loop_is_refused(threaded_server: FakeSoapServer) -> None:
    soap = client_for(threaded_server)
    soap.customers.create(**FIELDS)

    async def on_the_sdk_loop() -> None:
        # Code the SDK's loop runs (an on_progress callback, say) calling the sync client.
        soap.customers.create(**{**FIELDS, "email": "other@example.com"})

    with pytest.raises(SoapError, match="wait for itself"):
        _LOOP.run(on_the_sdk_loop())
    soap.close()
    assert [c["email"] for c in threaded_server.customers] == [FIELDS["email"]]


def test_with_options_and_close(threaded_server: FakeSoapServer) -> None:
    soap = client_for(threaded_server)
    no_retry = soap.with_options(retry=0)
    threaded_server.inject(Fault.status(503))
    with pytest.raises(InternalServerError):
        no_retry.customers.create(**FIELDS)
    assert soap.customers.create(**FIELDS).email == FIELDS["email"]
    soap.close()
    soap.close()  # idempotent
    with pytest.raises(SoapError, match="closed"):
        soap.customers.create(**FIELDS)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_a_forked_child_gets_its_own_loop_and_pool(threaded_server: FakeSoapServer) -> None:
    soap = client_for(threaded_server)
    soap.customers.create(**{**FIELDS, "email": "parent.before@example.com"})
    with warnings.catch_warnings():
        # Python 3.12+ warns about forking a threaded process; that is the scenario.
        warnings.simplefilter("ignore", DeprecationWarning)
        pid = os.fork()
    if pid == 0:  # the child: never return into pytest
        code = 1
        try:
            soap.customers.create(**{**FIELDS, "email": "child@example.com"})
            code = 0
        finally:
            os._exit(code)
    assert wait_for_child(pid, seconds=20) == 0
    # The parent's pool was not disturbed by the child.
    soap.customers.create(**{**FIELDS, "email": "parent.after@example.com"})
    soap.close()
    assert sorted(c["email"] for c in threaded_server.customers) == [
        "child@example.com",
        "parent.after@example.com",
        "parent.before@example.com",
    ]


def test_interpreter_exit_leaves_no_warning_and_does_not_hang(
    threaded_server: FakeSoapServer,
) -> None:
    script = textwrap.dedent(
        f"""
        from soap_async import SoapClient
        soap = SoapClient(api_key={API_KEY!r}, base_url={threaded_server.url!r})
        soap.customers.create(email="exit@example.com", first_name="E", last_name="X")
        print("created")
        # no close(): the atexit hook must clean up
        """
    )
    result = run_strict(script)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "created\n"
    assert result.stderr == ""
    assert threaded_server.customer_by_email("exit@example.com") is not None


@pytest.mark.slow
@pytest.mark.skipif(not hasattr(signal, "SIGINT") or os.name != "posix", reason="POSIX signals")
def test_ctrl_c_cancels_the_call_and_the_client_still_works(
    threaded_server: FakeSoapServer,
) -> None:
    # A call waiting on a slow answer; SIGINT must end it with KeyboardInterrupt (not
    # break into the loop's internals), leave no task behind, and the next call works.
    threaded_server.inject(Fault.delay(30, process=False))
    script = textwrap.dedent(
        f"""
        import asyncio, os, signal, threading, time
        from soap_async import SoapClient
        from soap_async._sync import _LOOP
        soap = SoapClient(api_key={API_KEY!r}, base_url={threaded_server.url!r}, retry=0)
        threading.Timer(0.5, os.kill, (os.getpid(), signal.SIGINT)).start()
        started = time.monotonic()
        try:
            soap.customers.create(email="slow@example.com", first_name="S", last_name="L")
        except KeyboardInterrupt:
            print("interrupted within 5 s:", time.monotonic() - started < 5)
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
        customer = soap.customers.create(email="next@example.com", first_name="N", last_name="X")
        print("then created", customer.email)
        pending = [t for t in asyncio.all_tasks(_LOOP.loop()) if not t.done()]
        print("tasks left", len(pending))
        soap.close()
        """
    )
    result = run_strict(script)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "interrupted within 5 s: True",
        "then created next@example.com",
        "tasks left 0",
    ]
    assert result.stderr == ""


def test_a_waiting_thread_takes_over_the_loop_when_the_driver_is_done(
    threaded_server: FakeSoapServer,
) -> None:
    # Thread A's call drives the loop and thread B's slower call is handed to it; A's
    # answer comes first, so B must take the loop over to finish its own call.
    soap = client_for(threaded_server)
    soap.customers.create(**FIELDS)  # the pool is warm
    for email, seconds in (("a@example.com", 0.2), ("b@example.com", 0.5)):
        threaded_server.inject(
            Fault.delay(seconds), where=lambda r, email=email: r.json["email"] == email
        )
    results: dict[str, str] = {}

    def create(email: str) -> None:
        results[email] = soap.customers.create(**{**FIELDS, "email": email}).email

    a = threading.Thread(target=create, args=("a@example.com",))
    b = threading.Thread(target=create, args=("b@example.com",))
    a.start()
    deadline = time.monotonic() + 5
    while not any(r.json and r.json["email"] == "a@example.com" for r in threaded_server.requests):
        assert time.monotonic() < deadline
        time.sleep(0.01)
    b.start()  # A is inside its call, driving the loop
    a.join(5)
    b.join(5)
    soap.close()
    assert results == {"a@example.com": "a@example.com", "b@example.com": "b@example.com"}


def test_during_a_call_on_the_main_thread_sigint_cancels_instead_of_raising() -> None:
    assert threading.current_thread() is threading.main_thread()
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler

    async def interrupted_while_waiting() -> None:
        # What Ctrl-C does here: the handler cancels this call (it does not raise).
        handler = signal.getsignal(signal.SIGINT)
        assert callable(handler)
        assert handler is not signal.default_int_handler
        handler(signal.SIGINT, None)
        await asyncio.sleep(5)

    started = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        _LOOP.run(interrupted_while_waiting())
    assert time.monotonic() - started < 4
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    assert [t for t in asyncio.all_tasks(_LOOP.loop()) if not t.done()] == []
