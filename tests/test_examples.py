"""The runnable examples in examples/, against the fake server.

These tests use the package's own pytest plugin (`soap_server`, `soap_client`,
`soap_async_client`, `soap_env`), as a user's tests would.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from examples import aiohttp_app, batch_import, sync_worker
from soap_async import AsyncSoapClient, InvalidRequestError, SoapClient, SoapError
from soap_async.testing import SOAP_TEST_WEBHOOK_SECRET, FakeSoapServer, Fault, make_event

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"

ADA = {"email": "ada@example.com", "first_name": "Ada", "last_name": "Lovelace"}


# --------------------------------------------------------------------- aiohttp_app


class CountingFactory:
    """Makes the app's clients (from the environment) and remembers each one."""

    def __init__(self) -> None:
        self.clients: list[AsyncSoapClient] = []

    def __call__(self) -> AsyncSoapClient:
        client = AsyncSoapClient()
        self.clients.append(client)
        return client


@pytest.fixture
async def app_client(soap_env: FakeSoapServer) -> AsyncIterator[TestClient[Any, Any]]:
    """The example app on a real socket of 127.0.0.1, configured from the environment."""
    async with (
        TestServer(aiohttp_app.make_app(), host="127.0.0.1") as server,
        TestClient(server) as client,
    ):
        yield client


async def test_signup_creates_customers_through_one_shared_client(
    soap_env: FakeSoapServer,
) -> None:
    factory = CountingFactory()
    app = aiohttp_app.make_app(client_factory=factory)
    async with TestServer(app, host="127.0.0.1") as server, TestClient(server) as http:
        first = await http.post("/signup", json=ADA)
        assert first.status == 201
        # A 503 on the way is retried by the shared client (Retry-After: 0, no wait).
        soap_env.inject(Fault.status(503, retry_after=0), method="POST")
        second = await http.post(
            "/signup",
            json={"email": "grace@example.com", "first_name": "Grace", "last_name": "Hopper"},
        )
        assert second.status == 201
        ids = [(await first.json())["customer_id"], (await second.json())["customer_id"]]
        assert len(factory.clients) == 1
    assert [customer["id"] for customer in soap_env.customers] == ids
    assert [r.status for r in soap_env.requests] == [200, 503, 200]
    # Closed with the app: the client refuses further calls.
    with pytest.raises(SoapError, match="closed"):
        await factory.clients[0].customers.search(email="ada@example.com")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({**ADA, "email": "not-an-email"}, "email"),
        ({"email": "ada@example.com", "first_name": "Ada"}, "last_name"),
        ({**ADA, "phone_number": "12"}, "phone_number"),
    ],
)
async def test_signup_refuses_bad_input_with_400(
    app_client: TestClient[Any, Any], soap_server: FakeSoapServer, body: Any, field: str
) -> None:
    response = await app_client.post("/signup", json=body)
    assert response.status == 400
    assert (await response.json())["field"] == field
    assert soap_server.requests == []  # refused before anything was sent


async def test_signup_refuses_a_body_that_is_not_a_json_object(
    app_client: TestClient[Any, Any],
) -> None:
    assert (await app_client.post("/signup", data=b"email=ada")).status == 400
    assert (await app_client.post("/signup", json=["ada@example.com"])).status == 400


async def test_signup_of_a_registered_email_is_409(
    app_client: TestClient[Any, Any], soap_server: FakeSoapServer
) -> None:
    assert (await app_client.post("/signup", json=ADA)).status == 201
    again = await app_client.post("/signup", json={**ADA, "email": "ADA@example.com"})
    assert again.status == 409
    assert len(soap_server.customers) == 1


async def test_signup_when_soap_keeps_failing_is_502(
    app_client: TestClient[Any, Any], soap_server: FakeSoapServer
) -> None:
    soap_server.inject(Fault.status(500, retry_after=0), times=3)
    response = await app_client.post("/signup", json=ADA)
    assert response.status == 502
    assert "unavailable" in (await response.json())["error"]


async def test_webhooks_keep_the_ledger(
    app_client: TestClient[Any, Any], soap_server: FakeSoapServer
) -> None:
    url = str(app_client.make_url("/soap/webhooks"))
    customer = "cus_A3GuXEbThpqk2t6UTxEuoceVJyUEAX7V"

    async def balance() -> int:
        response = await app_client.get(f"/customers/{customer}/balance")
        assert response.status == 200
        cents: int = (await response.json())["balance_cents"]
        return cents

    async def deliver(event: dict[str, Any], **kwargs: Any) -> int:
        return await soap_server.deliver_webhook(url, event, **kwargs)

    deposit = make_event("checkout.succeeded", customer_id=customer, amount_cents=5000)
    assert await deliver(deposit) == 200
    assert await balance() == 5000

    # The hold is the decision: 402 when the balance does not cover it...
    short = make_event("checkout.hold", customer_id=customer, amount_cents=8000)
    assert await deliver(short) == 402
    assert await balance() == 5000
    # ... 200, and debited, when it does.
    hold = make_event("checkout.hold", customer_id=customer, amount_cents=3000)
    assert await deliver(hold) == 200
    assert await balance() == 2000

    # Soap delivering the same events again books nothing twice.
    assert await deliver(deposit) == 200
    assert await deliver(hold) == 200
    assert await balance() == 2000

    # The withdrawal failed after its hold: credited back.
    release = make_event("checkout.release_hold", customer_id=customer, amount_cents=3000)
    assert await deliver(release) == 200
    assert await balance() == 5000

    # A succeeded withdrawal was debited on hold already; other events book nothing.
    withdrawal = make_event(
        "checkout.succeeded", customer_id=customer, amount_cents=1000, checkout_type="withdrawal"
    )
    assert await deliver(withdrawal) == 200
    assert await deliver(make_event("checkout.pending", customer_id=customer)) == 200
    assert await balance() == 5000

    # A forged delivery is refused and changes nothing.
    forged = make_event("checkout.succeeded", customer_id=customer, amount_cents=10**6)
    assert await deliver(forged, secret="not-the-secret") == 400
    assert await balance() == 5000

    assert app_client.app is not None
    assert app_client.app[aiohttp_app.LEDGER].balance(customer) == 5000
    assert [d.status for d in soap_server.webhook_deliveries] == [
        200, 402, 200, 200, 200, 200, 200, 200, 400
    ]  # fmt: skip


def test_make_app_refuses_a_missing_webhook_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SOAP_WEBHOOK_SECRET", raising=False)
    with pytest.raises(InvalidRequestError, match="webhook secret is empty"):
        aiohttp_app.make_app()
    assert aiohttp_app.make_app(webhook_secret=SOAP_TEST_WEBHOOK_SECRET) is not None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _post_json(url: str, body: Any) -> tuple[int, Any]:
    request = urllib.request.Request(  # only ever a local URL here
        url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


@pytest.mark.skipif(sys.platform == "win32", reason="sends SIGINT")
def test_aiohttp_app_runs_as_a_script(soap_env: FakeSoapServer) -> None:
    port = _free_port()
    app = subprocess.Popen(
        [sys.executable, str(EXAMPLES / "aiohttp_app.py"), "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 15
        while True:
            try:
                status, body = _post_json(f"http://127.0.0.1:{port}/signup", ADA)
                break
            except OSError:
                if time.monotonic() > deadline or app.poll() is not None:
                    raise
                time.sleep(0.1)
        assert status == 201
        assert soap_env.customers[0]["id"] == body["customer_id"]
        event = make_event("checkout.hold", customer_id=body["customer_id"], amount_cents=100)
        assert soap_env.deliver_webhook_sync(f"http://127.0.0.1:{port}/soap/webhooks", event) == 402
    finally:
        app.send_signal(signal.SIGINT)
        _, err = app.communicate(timeout=15)
    assert app.returncode == 0, err
    assert "Unclosed" not in err


def test_aiohttp_app_script_needs_its_configuration(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SOAP_WEBHOOK_SECRET", raising=False)
    monkeypatch.setenv("SOAP_API_KEY", "key_test")
    done = subprocess.run(
        [sys.executable, str(EXAMPLES / "aiohttp_app.py")],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 2
    assert "set SOAP_WEBHOOK_SECRET" in done.stderr


# --------------------------------------------------------------------- sync_worker


def test_worker_shares_one_client_across_8_threads(
    soap_server: FakeSoapServer, soap_client: SoapClient
) -> None:
    jobs: list[dict[str, Any]] = [
        {"job_id": f"j{n}", "email": f"user{n}@example.com", "first_name": "U", "last_name": f"{n}"}
        for n in range(24)
    ]
    jobs += [
        {"job_id": "dup", **ADA, "email": "user3@example.com"},
        {"job_id": "bad-phone", **ADA, "phone_number": "12"},
        {"job_id": "bad-field", **ADA, "nickname": "ada"},
    ]
    # Every create takes 0.3 s: 25 of them one after the other would take 7.5 s.
    soap_server.inject_random([Fault.delay(0.3)], rate=1.0, seed=1, method="POST")

    start = time.monotonic()
    summary = sync_worker.run(jobs, client=soap_client, threads=8)
    elapsed = time.monotonic() - start

    assert elapsed < 4.0
    assert [result.job_id for result in summary.results] == [job["job_id"] for job in jobs]
    assert summary.counts == {"created": 24, "exists": 1, "invalid": 2}
    assert not summary.ok
    assert len({result.thread for result in summary.results}) == 8
    by_id = {result.job_id: result for result in summary.results}
    assert "phone_number" in (by_id["bad-phone"].error or "")
    assert "nickname" in (by_id["bad-field"].error or "")
    stored = {customer["email"]: customer["id"] for customer in soap_server.customers}
    assert len(stored) == 24
    for n in range(24):
        assert by_id[f"j{n}"].outcome in ("created", "exists")
    created = [r for r in summary.results if r.outcome == "created"]
    assert {r.customer_id for r in created} == set(stored.values())


def test_worker_reports_soap_failures_per_job(
    soap_server: FakeSoapServer, soap_client: SoapClient
) -> None:
    soap_server.inject(Fault.status(503), times=3)  # one job's three attempts
    summary = sync_worker.run([{"job_id": "j1", **ADA}], client=soap_client, threads=8)
    assert summary.results[0].outcome == "failed"
    assert "503" in (summary.results[0].error or "")
    assert soap_server.customers == []


def test_worker_runs_as_a_script(soap_env: FakeSoapServer, tmp_path: Path) -> None:
    jobs = tmp_path / "jobs.jsonl"
    jobs.write_text(
        json.dumps({"job_id": "j1", **ADA})
        + "\n\n"
        + json.dumps({"job_id": "j2", **ADA, "email": "grace@example.com"})
        + "\n"
    )
    done = subprocess.run(
        [sys.executable, str(EXAMPLES / "sync_worker.py"), str(jobs), "--threads", "8"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "2 created, 0 exists, 0 invalid, 0 failed" in done.stdout
    assert {customer["email"] for customer in soap_env.customers} == {
        "ada@example.com",
        "grace@example.com",
    }


def test_worker_sample_jobs_file(
    soap_env: FakeSoapServer, capsys: pytest.CaptureFixture[str]
) -> None:
    assert sync_worker.main([str(EXAMPLES / "data" / "jobs.jsonl")]) == 1  # one bad job
    out = capsys.readouterr().out
    assert "j5: invalid: phone_number must be 10 digits" in out
    assert "3 created, 1 exists, 1 invalid, 0 failed" in out


# --------------------------------------------------------------------- batch_import

CSV = """\
email,first_name,last_name,phone_number,internal_id
ada@example.com,Ada,Lovelace,(800) 800-1234,u1
grace@example.com,Grace,Hopper,,u2
not-an-email,Bad,Row,,u3
alan@example.com,Alan,Turing,+1 800 555 0100,
"""


def _read_results(path: Path) -> list[dict[str, Any]]:
    return sorted(
        (json.loads(line) for line in path.read_text().splitlines()), key=lambda r: r["row"]
    )


async def test_batch_import_streams_a_csv_with_one_bad_row(
    soap_server: FakeSoapServer, soap_async_client: AsyncSoapClient, tmp_path: Path
) -> None:
    source = tmp_path / "customers.csv"
    source.write_text(CSV)
    results = tmp_path / "results.jsonl"
    # An answer lost after the create was stored: still one customer, not two.
    soap_server.inject(Fault.drop_after(), method="POST")

    counts = await batch_import.import_csv(source, results, client=soap_async_client, concurrency=4)

    assert counts == {"created": 3, "failed": 1}
    records = _read_results(results)
    assert [(r["row"], r["status"]) for r in records] == [
        (1, "created"),
        (2, "created"),
        (3, "failed"),
        (4, "created"),
    ]
    assert records[2]["email"] == "not-an-email"
    assert "email must be an email address" in records[2]["error"]
    stored = {customer["email"]: customer for customer in soap_server.customers}
    assert sorted(stored) == ["ada@example.com", "alan@example.com", "grace@example.com"]
    assert stored["ada@example.com"]["phone_number"] == "8008001234"
    assert stored["alan@example.com"]["internal_id"] is None  # empty cell: left out
    for record in records:
        if record["status"] == "created":
            assert stored[record["email"]]["id"] == record["customer_id"]

    # Running the file again creates nothing twice.
    again = await batch_import.import_csv(source, results, client=soap_async_client, concurrency=4)
    assert again == {"existing": 3, "failed": 1}
    assert len(soap_server.customers) == 3
    assert len(_read_results(results)) == 4  # the results file is rewritten


async def test_batch_import_runs_rows_concurrently(
    soap_server: FakeSoapServer, soap_async_client: AsyncSoapClient, tmp_path: Path
) -> None:
    source = tmp_path / "customers.csv"
    source.write_text(CSV)
    results = tmp_path / "results.jsonl"
    # The first row is slow: with rows in flight together, it finishes last.
    soap_server.inject(
        Fault.delay(0.5), method="POST", where=lambda r: r.json["email"] == "ada@example.com"
    )
    await batch_import.import_csv(source, results, client=soap_async_client, concurrency=4)
    finished = [json.loads(line)["row"] for line in results.read_text().splitlines()]
    assert finished[-1] == 1
    assert sorted(finished) == [1, 2, 3, 4]


async def test_batch_import_passes_the_concurrency_on(
    soap_async_client: AsyncSoapClient, tmp_path: Path
) -> None:
    source = tmp_path / "customers.csv"
    source.write_text(CSV)
    with pytest.raises(InvalidRequestError, match="concurrency"):
        await batch_import.import_csv(
            source, tmp_path / "results.jsonl", client=soap_async_client, concurrency=0
        )


def test_batch_import_runs_as_a_script(soap_env: FakeSoapServer, tmp_path: Path) -> None:
    results = tmp_path / "results.jsonl"
    command = [
        sys.executable,
        str(EXAMPLES / "batch_import.py"),
        str(EXAMPLES / "data" / "customers.csv"),
        "--results",
        str(results),
        "--concurrency",
        "3",
    ]
    done = subprocess.run(
        command, capture_output=True, text=True, timeout=60, check=False, env=os.environ.copy()
    )
    assert done.returncode == 1, done.stderr  # the sample file has one bad row
    assert "4 created, 0 existing, 1 failed" in done.stdout
    assert len(soap_env.customers) == 4
    assert len(_read_results(results)) == 5
