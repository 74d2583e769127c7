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


def loop_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "soap-async-loop"]


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
    soap = client_for(threaded_server, max_connections=8)

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
    assert len(loop_threads()) == 1


def test_works_inside_a_running_event_loop(threaded_server: FakeSoapServer) -> None:
    soap = client_for(threaded_server)

    async def async_caller() -> str:
        # A sync helper called by async code (or a notebook cell): it blocks this
        # loop for the call, but it works.
        return soap.customers.create(**FIELDS).id

    customer_id = asyncio.run(async_caller())
    soap.close()
    assert threaded_server.customers[0]["id"] == customer_id


def test_calling_from_the_sdk_loop_thread_is_refused(threaded_server: FakeSoapServer) -> None:
    soap = client_for(threaded_server)
    soap.customers.create(**FIELDS)  # starts the SDK loop

    async def on_the_sdk_loop() -> None:
        soap.customers.create(**{**FIELDS, "email": "other@example.com"})

    future = asyncio.run_coroutine_threadsafe(on_the_sdk_loop(), _LOOP.loop())
    with pytest.raises(SoapError, match="wait for itself"):
        future.result(timeout=5)
    soap.close()


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
    result = subprocess.run(
        [sys.executable, "-X", "dev", "-W", "error", "-c", script],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == "created\n"
    assert result.stderr == ""
    assert threaded_server.customer_by_email("exit@example.com") is not None
