"""The `soap-async` command line, run with click's CliRunner against the threaded fake."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from soap_async.cli import cli, main
from soap_async.cli._import import ResultsFile, RowSet, read_results
from soap_async.errors import SoapError
from soap_async.testing import FakeSoapServer, Fault, make_event
from soap_async.webhooks import signature_header

# Planted: every invocation checks that it never shows up in stdout or stderr.
KEY = "key_PLANTED_cli_3f9a8b7c6d5e"
WEBHOOK_SECRET = "whsec_PLANTED_b1c2d3e4"
ENV_VARS = ("SOAP_API_KEY", "SOAP_BASE_URL", "SOAP_ENVIRONMENT", "SOAP_WEBHOOK_SECRET", "SOAP_LOG")


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ENV_VARS:
        monkeypatch.delenv(name, raising=False)
    # Retries happen, but never wait (Retry-After answers are given as 0 where used).
    monkeypatch.setattr("soap_async._retry.backoff_delay", lambda *args, **kwargs: 0.0)


@pytest.fixture
def fake() -> Iterator[FakeSoapServer]:
    with FakeSoapServer(api_key=KEY) as server:
        yield server


def run(*args: str, input: bytes | str | None = None, env: dict[str, str] | None = None) -> Result:
    result = CliRunner().invoke(cli, list(args), input=input, env=env, prog_name="soap-async")
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    assert "Traceback" not in result.output
    for secret in (KEY, WEBHOOK_SECRET):
        assert secret not in result.stdout
        assert secret not in result.stderr
    return result


def api(server: FakeSoapServer, *args: str, input: bytes | str | None = None) -> Result:
    return run("--base-url", server.url, "--api-key", KEY, *args, input=input)


def add_customer(server: FakeSoapServer, email: str = "ada@example.com") -> str:
    result = api(
        server,
        "--json",
        "customers",
        "create",
        "--email",
        email,
        "--first-name",
        "Ada",
        "--last-name",
        "Lovelace",
    )
    assert result.exit_code == 0, result.output
    return str(json.loads(result.stdout)["id"])


def results_of(path: Path) -> list[dict[str, Any]]:
    raw = path.read_bytes()
    assert raw.endswith(b"\n")
    return [json.loads(line) for line in raw.decode().splitlines()]


def last_status(path: Path) -> dict[int, str]:
    return {record["row"]: record["status"] for record in results_of(path)}


def people(count: int, start: int = 1) -> list[dict[str, str]]:
    return [
        {"email": f"person{n}@example.com", "first_name": "Person", "last_name": f"No {n}"}
        for n in range(start, start + count)
    ]


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


def assert_no_duplicates(server: FakeSoapServer) -> None:
    emails = Counter(customer["email"] for customer in server.customers)
    assert all(count == 1 for count in emails.values())


# --------------------------------------------------------------------------- general


def test_help_lists_every_command() -> None:
    result = run("--help")
    assert result.exit_code == 0
    for command in ("demo", "customers", "checkouts", "charges", "webhooks", "fake-server"):
        assert command in result.stdout
    customers = run("customers", "--help").stdout
    for command in ("create", "search", "update", "import"):
        assert command in customers


def test_version() -> None:
    result = run("--version")
    assert result.exit_code == 0
    assert result.stdout.startswith("soap-async ")


def test_help_never_shows_the_key_from_the_environment() -> None:
    result = run("--help", env={"SOAP_API_KEY": KEY, "SOAP_WEBHOOK_SECRET": WEBHOOK_SECRET})
    assert "SOAP_API_KEY" in result.stdout
    verify = run("webhooks", "verify", "--help", env={"SOAP_WEBHOOK_SECRET": WEBHOOK_SECRET})
    assert "SOAP_WEBHOOK_SECRET" in verify.stdout


def test_main_returns_the_exit_status(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--version"]) == 0
    assert main(["customers", "search"]) == 2
    assert "--email" in capsys.readouterr().err


def test_python_dash_m_works_in_a_subprocess() -> None:
    env = {k: v for k, v in os.environ.items() if k not in ENV_VARS}
    done = subprocess.run(
        [sys.executable, "-m", "soap_async", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    assert done.returncode == 0, done.stderr
    assert "Usage: soap-async" in done.stdout
    assert "fake-server" in done.stdout


def test_without_the_cli_extra_main_says_how_to_install_it(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in [m for m in sys.modules if m.startswith("soap_async.cli.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "click", None)  # as if click were not installed
    assert main(["--help"]) == 1
    assert "pip install 'soap-async[cli]'" in capsys.readouterr().err


def test_ctrl_c_in_any_command_exits_130(
    fake: FakeSoapServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    def interrupted(coro: Any) -> Any:
        coro.close()
        raise KeyboardInterrupt

    monkeypatch.setattr("soap_async.cli._customers.run_async", interrupted)
    result = api(fake, "customers", "search", "--email", "ada@example.com")
    assert result.exit_code == 130
    assert "Interrupted" in result.stderr


def test_missing_api_key_names_both_ways_to_give_it() -> None:
    result = run("--base-url", "http://127.0.0.1:9", "customers", "search", "--email", "a@b.co")
    assert result.exit_code == 2
    assert "SOAP_API_KEY" in result.stderr
    assert "--api-key" in result.stderr


def test_api_key_from_the_environment(fake: FakeSoapServer) -> None:
    result = run(
        "customers",
        "search",
        "--email",
        "nobody@example.com",
        env={"SOAP_API_KEY": KEY, "SOAP_BASE_URL": fake.url},
    )
    assert result.exit_code == 0, result.output
    assert "No customer found." in result.stdout


def test_bad_credentials_are_one_line_without_traceback(fake: FakeSoapServer) -> None:
    result = run(
        "--base-url", fake.url, "--api-key", "key_wrong", "customers", "search", "--email", "a@b.co"
    )
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.startswith("Error: authentication failed")
    assert len(result.stderr.strip().splitlines()) == 1
    assert "key_wrong" not in result.stderr


def test_connection_problem_is_an_error_line() -> None:
    result = run("--base-url", "http://127.0.0.1:9", "--api-key", KEY, "charges", "get", "ch_1")
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: ")
    assert "--base-url" in result.stderr


def test_plain_http_to_a_remote_host_is_refused() -> None:
    result = run("--base-url", "http://example.com", "--api-key", KEY, "charges", "get", "ch_1")
    assert result.exit_code == 1
    assert "https" in result.stderr


LOCAL = "http://127.0.0.1:9"


@pytest.mark.parametrize(
    ("args", "env", "expected"),
    [
        # An explicit --environment beats SOAP_BASE_URL from the environment...
        (["--environment", "production"], {"SOAP_BASE_URL": LOCAL}, (None, "production")),
        # ...an explicit --base-url beats SOAP_ENVIRONMENT...
        (["--base-url", LOCAL], {"SOAP_ENVIRONMENT": "production"}, (LOCAL, "production")),
        # ...and among equals the URL wins (the SDK ignores the environment then).
        ([], {"SOAP_BASE_URL": LOCAL, "SOAP_ENVIRONMENT": "production"}, (LOCAL, "production")),
    ],
)
def test_where_the_client_points(
    monkeypatch: pytest.MonkeyPatch,
    args: list[str],
    env: dict[str, str],
    expected: tuple[str | None, str | None],
) -> None:
    seen: dict[str, Any] = {}

    def fake_client(**kwargs: Any) -> Any:
        seen.update(kwargs)
        raise SoapError("stopped before any request")

    monkeypatch.setattr("soap_async.cli._common.AsyncSoapClient", fake_client)
    result = run(*args, "--api-key", KEY, "charges", "get", "ch_1", env=env)
    assert result.exit_code == 1
    assert result.stderr == "Error: stopped before any request\n"
    assert (seen["base_url"], seen["environment"]) == expected


# --------------------------------------------------------------------------- customers


def test_customers_create_prints_the_customer(fake: FakeSoapServer) -> None:
    result = api(
        fake,
        "customers",
        "create",
        "--email",
        "ada@example.com",
        "--first-name",
        "Ada",
        "--last-name",
        "Lovelace",
        "--phone-number",
        "(800) 800-1234",
        "--date-of-birth",
        "1990-12-10",
        "--internal-id",
        "u-1",
    )
    assert result.exit_code == 0, result.output
    lines = dict(line.split(None, 1) for line in result.stdout.splitlines())
    assert lines["email"] == "ada@example.com"
    assert lines["phone_number"] == "8008001234"
    assert lines["date_of_birth"] == "1990-12-10"
    assert lines["id"] == fake.customers[0]["id"]


def test_customers_create_json(fake: FakeSoapServer) -> None:
    result = api(
        fake,
        "customers",
        "create",
        "--json",
        "--email",
        "ada@example.com",
        "--first-name",
        "Ada",
        "--last-name",
        "Lovelace",
        "--date-of-birth",
        "1990-12-10",
    )
    data = json.loads(result.stdout)
    assert data["id"].startswith("cus_")
    assert data["date_of_birth"] == "1990-12-10"
    assert data["created_at"].startswith(fake.customers[0]["created_at"][:19])


def test_customers_create_bad_input_and_taken_email(fake: FakeSoapServer) -> None:
    bad = api(
        fake, "customers", "create", "--email", "a@b.co", "--first-name", "A", "--last-name", "B",
        "--phone-number", "123",
    )  # fmt: skip
    assert bad.exit_code == 1
    assert bad.stderr.startswith("Error: phone_number must be 10 digits")
    assert fake.requests == []
    add_customer(fake)
    taken = api(
        fake, "customers", "create", "--email", "ada@example.com", "--first-name", "A",
        "--last-name", "B",
    )  # fmt: skip
    assert taken.exit_code == 1
    assert "Email has already been taken" in taken.stderr
    missing = api(fake, "customers", "create", "--email", "a@b.co")
    assert missing.exit_code == 2


def test_customers_search(fake: FakeSoapServer) -> None:
    customer_id = add_customer(fake)
    human = api(fake, "customers", "search", "--email", "ADA@example.com")
    assert human.exit_code == 0
    assert customer_id in human.stdout
    data = json.loads(
        api(fake, "--json", "customers", "search", "--email", "ada@example.com").stdout
    )
    assert [c["id"] for c in data] == [customer_id]
    none = json.loads(api(fake, "--json", "customers", "search", "--email", "x@example.com").stdout)
    assert none == []
    assert api(fake, "customers", "search").exit_code == 2


def test_customers_update(fake: FakeSoapServer) -> None:
    customer_id = add_customer(fake)
    result = api(fake, "--json", "customers", "update", customer_id, "--last-name", "Byron")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["last_name"] == "Byron"
    assert "updated_at" in data
    assert api(fake, "customers", "update", customer_id).exit_code == 2
    unknown = api(fake, "customers", "update", "cus_" + "x" * 32, "--first-name", "A")
    assert unknown.exit_code == 1
    assert unknown.stderr.startswith("Error: 422")


# --------------------------------------------------------------------------- checkouts, charges


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--flow", "deposit"], {"type": "deposit"}),
        (["--flow", "preset-deposit", "--amount-cents", "5000"], {"type": "deposit"}),
        (
            ["--flow", "purchase", "--item", "Gold Coins:999:2:gold", "--product", "pr_abc:3"],
            {"type": "deposit", "line_items": 2},
        ),
        (
            ["--flow", "subscription", "--item", "Club:500", "--interval", "month"],
            {"type": "deposit", "line_items": 1, "subscription_data": {"interval": "month"}},
        ),
        (["--flow", "balance-withdrawal", "--amount-cents", "2500"], {"type": "withdrawal"}),
        (["--flow", "preset-withdrawal", "--amount-cents", "2500"], {"type": "withdrawal"}),
    ],
)
def test_checkouts_create_every_flow(
    fake: FakeSoapServer, args: list[str], expected: dict[str, Any]
) -> None:
    customer_id = add_customer(fake)
    result = api(
        fake, "checkouts", "create", customer_id, *args, "--return-url", "https://example.com/r"
    )
    assert result.exit_code == 0, result.output
    assert "chk_" in result.stdout
    assert "https://" in result.stdout
    sent = fake.requests[-1].json
    assert sent["type"] == expected["type"]
    if "line_items" in expected:
        assert len(sent["line_items"]) == expected["line_items"]
    if "subscription_data" in expected:
        assert sent["subscription_data"]["interval"] == "month"
    if args[1] == "purchase":
        assert sent["line_items"][0] == {
            "name": "Gold Coins",
            "price_cents": 999,
            "quantity": 2,
            "sku": "gold",
        }
        assert sent["line_items"][1] == {"product_id": "pr_abc", "quantity": 3}


def test_checkouts_create_json(fake: FakeSoapServer) -> None:
    customer_id = add_customer(fake)
    result = api(fake, "--json", "checkouts", "create", customer_id, "--flow", "deposit")
    data = json.loads(result.stdout)
    assert data["id"].startswith("chk_")
    assert data["url"].startswith("https://")


@pytest.mark.parametrize(
    "args",
    [
        ["--flow", "deposit", "--amount-cents", "10"],
        ["--flow", "preset-deposit"],
        ["--flow", "purchase"],
        ["--flow", "purchase", "--item", "no-price"],
        ["--flow", "purchase", "--item", "Coins:ten"],
        ["--flow", "subscription", "--item", "Club:500"],
        ["--flow", "preset-withdrawal", "--amount-cents", "10", "--item", "A:1"],
        ["--flow", "deposit", "--interval", "month"],
        ["--flow", "teleport"],
    ],
)
def test_checkouts_create_usage_errors(fake: FakeSoapServer, args: list[str]) -> None:
    result = api(fake, "checkouts", "create", "cus_" + "a" * 32, *args)
    assert result.exit_code == 2
    assert "Error:" in result.stderr
    assert fake.requests == []


def test_charges_get(fake: FakeSoapServer) -> None:
    charge = fake.add_charge(amount_cents=1234)
    result = api(fake, "charges", "get", charge["id"])
    assert result.exit_code == 0, result.output
    assert "12.34" in result.stdout
    assert "status" in result.stdout
    assert "card" in result.stdout
    data = json.loads(api(fake, "--json", "charges", "get", charge["id"]).stdout)
    assert data["id"] == charge["id"]
    assert data["amount_cents"] == 1234
    assert data["payment_method"]["payment_type"] == "card"
    missing = api(fake, "charges", "get", "ch_missing")
    assert missing.exit_code == 1
    assert "No charge ch_missing" in missing.stderr


# --------------------------------------------------------------------------- webhooks


def delivery(timestamp: int | None = None) -> tuple[bytes, str, dict[str, Any]]:
    event = make_event("checkout.succeeded")
    body = json.dumps(event, separators=(",", ":")).encode()
    when = int(time.time()) if timestamp is None else timestamp
    return body, signature_header(WEBHOOK_SECRET, when, body), event


def test_webhooks_verify_from_a_file(tmp_path: Path) -> None:
    body, header, event = delivery()
    path = tmp_path / "body.json"
    path.write_bytes(body)
    result = run("webhooks", "verify", "--signature", header, "--secret", WEBHOOK_SECRET, str(path))
    assert result.exit_code == 0, result.output
    assert "checkout.succeeded" in result.stdout
    assert event["event_id"] in result.stdout


def test_webhooks_verify_stdin_json_and_env_secret() -> None:
    body, header, event = delivery()
    result = run(
        "--json",
        "webhooks",
        "verify",
        "--signature",
        f"SOAP-WEBHOOK-SIGNATURE: {header}",
        input=body,
        env={"SOAP_WEBHOOK_SECRET": WEBHOOK_SECRET},
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["verified"] is True
    assert data["event_id"] == event["event_id"]
    assert data["type"] == "checkout.succeeded"


def test_webhooks_verify_failures() -> None:
    body, header, _ = delivery()
    forged = run("webhooks", "verify", "--signature", header, "--secret", "whsec_other", input=body)
    assert forged.exit_code == 1
    assert forged.stderr.startswith("Error: not verified: no v1 signature matches")
    tampered = run(
        "--json", "webhooks", "verify", "--signature", header, "--secret", WEBHOOK_SECRET,
        input=body + b" ",
    )  # fmt: skip
    assert tampered.exit_code == 1
    assert json.loads(tampered.stdout) == {"verified": False, "error": "no v1 signature matches"}
    missing = run("webhooks", "verify", "--signature", header, input=body)
    assert missing.exit_code == 2
    assert "SOAP_WEBHOOK_SECRET" in missing.stderr


def test_webhooks_verify_tolerance() -> None:
    body, header, _ = delivery(timestamp=int(time.time()) - 3600)
    args = ["webhooks", "verify", "--signature", header, "--secret", WEBHOOK_SECRET]
    stale = run(*args, input=body)
    assert stale.exit_code == 1
    assert "tolerance" in stale.stderr
    assert run(*args, "--tolerance", "7200", input=body).exit_code == 0
    assert run(*args, "--tolerance", "none", input=body).exit_code == 0
    assert run(*args, "--tolerance", "-1", input=body).exit_code == 2


# --------------------------------------------------------------------------- import


def test_import_csv_with_malformed_rows(fake: FakeSoapServer, tmp_path: Path) -> None:
    source = tmp_path / "people.csv"
    source.write_text(
        "email,first_name,last_name,phone_number,nickname\n"
        "ann@example.com,Ann,One,(800) 800-1234,\n"
        "bob@example.com,Bob,Two,123,\n"  # bad phone
        "cy@example.com,,Three,,\n"  # blank required cell
        "\n"  # a blank line is not a row
        "dan@example.com,Dan,Four,,danny\n"  # unknown column filled
        "eve@example.com,Eve,Five,,,surplus\n"  # more cells than columns
        "fay@example.com , Fay ,Six,  ,\n"  # spaces around values, blank phone
    )
    result = api(fake, "customers", "import", str(source))
    assert result.exit_code == 1
    assert "nickname" in result.stderr  # warned up front
    records = sorted(results_of(tmp_path / "people.csv.results.jsonl"), key=lambda r: r["row"])
    assert [(r["row"], r["status"]) for r in records] == [
        (1, "created"),
        (2, "failed"),
        (3, "failed"),
        (4, "failed"),
        (5, "failed"),
        (6, "created"),
    ]
    for record in records:
        assert set(record) == {"row", "status", "customer_id", "email", "error"}
    assert records[0]["customer_id"] == fake.customer_by_email("ann@example.com")["id"]  # type: ignore[index]
    assert records[0]["error"] is None
    assert records[1]["error"]["field"] == "phone_number"
    assert records[1]["error"]["type"] == "InvalidRequestError"
    assert records[1]["email"] == "bob@example.com"
    assert records[2]["error"]["field"] == "first_name"
    assert records[3]["error"]["field"] == "nickname"
    assert records[4]["error"]["type"] == "MalformedRow"
    assert records[5]["email"] == "fay@example.com"
    assert sorted(c["email"] for c in fake.customers) == ["ann@example.com", "fay@example.com"]
    assert "created" in result.stdout
    assert "failed" in result.stdout


def test_import_jsonl_with_malformed_lines(fake: FakeSoapServer, tmp_path: Path) -> None:
    source = tmp_path / "people.jsonl"
    source.write_text(
        '{"email": "a@example.com", "first_name": "A", "last_name": "One"}\n'
        "[1, 2]\n"
        "not json at all\n"
        "\n"
        '{"email": "b@example.com", "first_name": "B", "last_name": "Two", "phone_number": ""}\n'
        '{"email": "c@example.com", "first_name": "C", "last_name": "Three", "age": 3}\n'
        '"just a string"\n'
    )
    output = tmp_path / "out.jsonl"
    result = api(fake, "--json", "customers", "import", str(source), "--output", str(output))
    assert result.exit_code == 1
    summary = json.loads(result.stdout)
    assert summary["rows_read"] == 6
    assert (summary["created"], summary["failed"], summary["skipped"]) == (2, 4, 0)
    assert summary["interrupted"] is False
    records = {r["row"]: r for r in results_of(output)}
    assert records[1]["status"] == records[4]["status"] == "created"
    assert "JSON array, not an object" in records[2]["error"]["message"]
    assert "line 3 is not valid JSON" in records[3]["error"]["message"]
    assert records[5]["error"]["field"] == "age"
    assert "JSON str" in records[6]["error"]["message"]


def test_import_all_good_exits_zero(fake: FakeSoapServer, tmp_path: Path) -> None:
    source = write_jsonl(tmp_path / "p.ndjson", people(25))
    result = api(fake, "--json", "customers", "import", str(source), "--concurrency", "4")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["created"] == 25
    assert sorted(last_status(tmp_path / "p.ndjson.results.jsonl")) == list(range(1, 26))
    assert len(fake.customers) == 25


def test_import_usage_errors(fake: FakeSoapServer, tmp_path: Path) -> None:
    unknown = tmp_path / "people.txt"
    unknown.write_text("email\n")
    result = api(fake, "customers", "import", str(unknown))
    assert result.exit_code == 2
    assert "--format" in result.stderr

    no_email = tmp_path / "people.csv"
    no_email.write_text("first_name,last_name\nA,B\n")
    result = api(fake, "customers", "import", str(no_email))
    assert result.exit_code == 2
    assert "email" in result.stderr

    twice = tmp_path / "twice.csv"
    twice.write_text("email,email,first_name,last_name\n")
    assert api(fake, "customers", "import", str(twice)).exit_code == 2

    source = write_jsonl(tmp_path / "ok.jsonl", people(1))
    (tmp_path / "ok.jsonl.results.jsonl").write_text('{"row": 1}\n')
    result = api(fake, "customers", "import", str(source))
    assert result.exit_code == 2
    assert "--resume" in result.stderr
    assert api(fake, "customers", "import", str(tmp_path / "nope.csv")).exit_code == 2
    assert fake.requests == []


def test_import_stops_at_once_on_bad_credentials(fake: FakeSoapServer, tmp_path: Path) -> None:
    source = write_jsonl(tmp_path / "p.jsonl", people(50))
    result = run(
        "--base-url", fake.url, "--api-key", "key_wrong", "customers", "import", str(source),
        "--concurrency", "2",
    )  # fmt: skip
    assert result.exit_code == 1
    assert "Error: authentication failed" in result.stderr
    assert "--resume" in result.stderr
    assert "key_wrong" not in result.output
    records = results_of(tmp_path / "p.jsonl.results.jsonl")
    assert len(records) == 1
    assert records[0]["error"]["type"] == "AuthenticationError"
    # Only rows already in flight or queued (a few times --concurrency), not all fifty.
    assert len(fake.requests) < 10


def test_import_stops_when_soap_cannot_be_reached(tmp_path: Path) -> None:
    source = write_jsonl(tmp_path / "p.jsonl", people(30))
    result = run(
        "--base-url", "http://127.0.0.1:9", "--api-key", KEY, "--json", "customers", "import",
        str(source), "--max-retries", "1",
    )  # fmt: skip
    assert result.exit_code == 1
    summary = json.loads(result.stdout)
    assert summary["failed"] == 1
    assert summary["created"] == 0
    assert "Could not connect" in summary["error"]


def test_import_forced_format_and_progress_bar(fake: FakeSoapServer, tmp_path: Path) -> None:
    source = tmp_path / "export.txt"
    with source.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, ["email", "first_name", "last_name"])
        writer.writeheader()
        writer.writerows(people(5))
    result = api(fake, "customers", "import", str(source), "--format", "csv", "--progress")
    assert result.exit_code == 0, result.output
    assert "importing" in result.stderr
    assert "rows/s" in result.stderr
    assert len(fake.customers) == 5


def test_import_failures_then_resume_retries_only_those(
    fake: FakeSoapServer, tmp_path: Path
) -> None:
    rows = people(12)
    stuck = {rows[2]["email"], rows[7]["email"]}
    fake.inject(
        Fault.status(503, retry_after=0),
        times=1000,
        method="POST",
        where=lambda r: isinstance(r.json, dict) and r.json.get("email") in stuck,
    )
    source = write_jsonl(tmp_path / "p.jsonl", rows)
    first = api(fake, "--json", "customers", "import", str(source), "--max-retries", "1")
    assert first.exit_code == 1
    summary = json.loads(first.stdout)
    assert (summary["created"], summary["failed"]) == (10, 2)
    assert summary["retried_requests"] == 2  # one retry each for the two stuck rows
    results = tmp_path / "p.jsonl.results.jsonl"
    failed = {r["row"]: r for r in results_of(results) if r["status"] == "failed"}
    assert set(failed) == {3, 8}
    assert failed[3]["error"]["type"] == "InternalServerError"
    assert failed[3]["error"]["status"] == 503

    fake.clear_faults()
    posts_before = sum(1 for r in fake.requests if r.method == "POST")
    second = api(fake, "--json", "customers", "import", str(source), "--resume", str(results))
    assert second.exit_code == 0, second.output
    summary = json.loads(second.stdout)
    assert (summary["skipped"], summary["created"], summary["failed"]) == (10, 2, 0)
    assert sum(1 for r in fake.requests if r.method == "POST") == posts_before + 2
    statuses = last_status(results)
    assert sorted(statuses) == list(range(1, 13))
    assert set(statuses.values()) == {"created"}
    assert len(results_of(results)) == 14  # appended, nothing rewritten
    assert len(fake.customers) == 12
    assert_no_duplicates(fake)


def test_resume_tolerates_a_truncated_last_line(fake: FakeSoapServer, tmp_path: Path) -> None:
    source = write_jsonl(tmp_path / "p.jsonl", people(6))
    results = tmp_path / "p.jsonl.results.jsonl"
    assert api(fake, "customers", "import", str(source), "--concurrency", "1").exit_code == 0
    whole = results.read_bytes()
    results.write_bytes(whole[:-15])  # the process "died" while writing the last line

    again = api(fake, "--json", "customers", "import", str(source), "--resume", str(results))
    assert again.exit_code == 0, again.output
    assert "partial line" in again.stderr
    summary = json.loads(again.stdout)
    # The cut row was created the first time: found again, not created twice.
    assert (summary["skipped"], summary["created"], summary["existing"]) == (5, 0, 1)
    records = results_of(results)  # every line whole again
    assert len(records) == 6
    assert set(last_status(results).values()) == {"created", "existing"}
    assert len(fake.customers) == 6
    assert_no_duplicates(fake)


def test_ctrl_c_leaves_whole_lines_and_resume_finishes(
    fake: FakeSoapServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = write_jsonl(tmp_path / "p.jsonl", people(20))
    results = tmp_path / "p.jsonl.results.jsonl"
    original = ResultsFile.write
    writes = 0

    def interrupted_write(self: ResultsFile, record: dict[str, Any]) -> None:
        nonlocal writes
        writes += 1
        if writes == 4:
            raise KeyboardInterrupt  # Ctrl-C while row 4's outcome is being recorded
        original(self, record)

    monkeypatch.setattr(ResultsFile, "write", interrupted_write)
    stopped = api(fake, "customers", "import", str(source), "--concurrency", "2")
    assert stopped.exit_code == 130
    assert f"--resume {results}" in stopped.stderr
    assert "created" in stopped.stdout  # the summary table still closes the run
    assert len(results_of(results)) == 3

    monkeypatch.setattr(ResultsFile, "write", original)
    resumed = api(fake, "--json", "customers", "import", str(source), "--resume", str(results))
    assert resumed.exit_code == 0, resumed.output
    summary = json.loads(resumed.stdout)
    assert summary["skipped"] == 3
    assert summary["existing"] >= 1  # created before the interruption, found again
    assert summary["created"] + summary["existing"] == 17
    assert sorted(last_status(results)) == list(range(1, 21))
    assert len(fake.customers) == 20
    assert_no_duplicates(fake)


@pytest.mark.slow
def test_sigint_stops_a_real_import_cleanly(fake: FakeSoapServer, tmp_path: Path) -> None:
    rows = people(12)
    slow = {row["email"] for row in rows[6:10]}
    # Stored at once, answered 10 s later: in flight when Ctrl-C comes.
    fake.inject(
        Fault.delay(10),
        times=4,
        method="POST",
        where=lambda r: isinstance(r.json, dict) and r.json.get("email") in slow,
    )
    source = write_jsonl(tmp_path / "p.jsonl", rows)
    results = tmp_path / "p.jsonl.results.jsonl"
    env = {k: v for k, v in os.environ.items() if k not in ENV_VARS}
    env["SOAP_API_KEY"] = KEY
    command = [sys.executable, "-m", "soap_async", "--base-url", fake.url]
    command += ["customers", "import", str(source), "--concurrency", "4"]
    process = subprocess.Popen(
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        deadline = time.monotonic() + 30
        # Rows 1-6 done and written; rows 7-10 stored, their answers still on the way.
        while time.monotonic() < deadline and not (
            results.exists()
            and results.read_bytes().count(b"\n") >= 6
            and len(fake.customers) >= 10
        ):
            time.sleep(0.02)
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=30)
    finally:
        process.kill()
    assert process.returncode == 130, err
    assert "Traceback" not in err
    assert KEY not in out + err
    assert "--resume" in err
    assert len(results_of(results)) == 6

    resumed = api(fake, "--json", "customers", "import", str(source), "--resume", str(results))
    assert resumed.exit_code == 0, resumed.output
    summary = json.loads(resumed.stdout)
    assert (summary["skipped"], summary["existing"], summary["created"]) == (6, 4, 2)
    assert len(fake.customers) == 12
    assert_no_duplicates(fake)


def test_read_results_and_rowset(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    path.write_bytes(
        b'{"row": 1, "status": "created"}\n'
        b'{"row": 2, "status": "failed"}\n'
        b"garbage\n"
        b'{"row": 3, "status": "existing"}\n'
        b'{"row": 2, "status": "created"}\n'
        b'{"row": 1, "status": "failed"}\n'
        b'{"row": 9, "stat'
    )
    state = read_results(path)
    assert sorted(n for n in range(12) if n in state.done) == [2, 3]
    assert state.partial_line
    assert state.unreadable_lines == 1
    assert state.complete_bytes == path.read_bytes().rindex(b"\n") + 1
    rows = RowSet()
    for n in (1, 8, 9, 100):
        rows.add(n)
    rows.discard(8)
    assert len(rows) == 3
    assert (rows.count_upto(8), rows.count_upto(9), rows.count_upto(1000)) == (1, 2, 3)


# --------------------------------------------------------------------------- demo, fake-server


def test_demo_json_and_progress() -> None:
    result = run("demo", "--customers", "30", "--concurrency", "8", "--fault-rate", "0.2", "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["created"] == report["stored_on_server"] == 30
    assert report["duplicates_on_server"] == 0
    assert report["retried"] > 0
    human = run("demo", "--customers", "10", "--fault-rate", "0", "--progress")
    assert human.exit_code == 0
    assert "duplicates on server" in human.stdout
    assert "creating" in human.stderr


def test_fake_server_subprocess_answers_then_stops_on_sigint() -> None:
    env = {k: v for k, v in os.environ.items() if k not in ENV_VARS}
    process = subprocess.Popen(
        [sys.executable, "-m", "soap_async", "fake-server", "--json", "--api-key", "key_fake"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        info = json.loads(process.stdout.readline())
        assert info["api_key"] == "key_fake"
        request = urllib.request.Request(
            info["url"] + "/api/v1/customers/search?email=ada@example.com",
            headers={"Authorization": "Bearer key_fake"},
        )
        with urllib.request.urlopen(request, timeout=10) as answer:
            assert answer.status == 200
            assert json.load(answer) == {"results": []}
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=30)
    finally:
        process.kill()
    assert process.returncode == 0, err
    assert "Traceback" not in err
