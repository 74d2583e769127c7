"""`soap-async demo`: batch-create customers against the embedded fake server, under faults."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from typing import Any

import click

from .._client import AsyncSoapClient
from ..models.batch import BatchProgress
from ._common import Settings, echo_json, json_option, progress_wanted, run_async
from ._fake import demo_faults
from ._progress import RowProgress

__all__ = ["DEMO_KEY", "demo", "run_demo"]

DEMO_KEY = "key_demo_local_only"
SEARCH_PATH = "/api/v1/customers/search"


async def run_demo(
    customers: int,
    concurrency: int,
    fault_rate: float,
    seed: int,
    on_progress: Callable[[BatchProgress], object] | None = None,
) -> dict[str, Any]:
    """Start the fake server, create customers concurrently under faults, and report."""
    from ..testing import FakeSoapServer

    async with FakeSoapServer(api_key=DEMO_KEY) as server:
        if fault_rate > 0:
            server.inject_random(demo_faults(), rate=fault_rate, seed=seed)
        rows = (
            {
                "email": f"demo.customer.{n}@example.com",
                "first_name": "Demo",
                "last_name": f"Customer {n}",
                "phone_number": f"(555) 010-{n % 10000:04d}",
            }
            for n in range(customers)
        )
        async with AsyncSoapClient(api_key=DEMO_KEY, base_url=server.url, retry=8) as soap:
            started = time.perf_counter()
            result = await soap.customers.create_many(
                rows, concurrency=concurrency, on_progress=on_progress
            )
            elapsed = time.perf_counter() - started
        requests = server.requests
        stored = server.customers

    failures = Counter(type(item.error).__name__ for item in result.failed)
    emails = Counter(c["email"].lower() for c in stored)
    faults = Counter(r.fault for r in requests if r.fault)
    # A search answered with the customer is how the SDK finds a create whose answer
    # was lost: those customers were recovered.
    found_again = {
        r.query.get("email", "").lower()
        for r in requests
        if r.path == SEARCH_PATH and r.status == 200 and r.response and r.response.get("results")
    }
    recovered = sum(1 for item in result.succeeded if item.request.email.lower() in found_again)
    searches = sum(1 for r in requests if r.path == SEARCH_PATH and not r.fault)
    return {
        "requested": customers,
        "created": len(result.succeeded),
        "retried": max(0, len(requests) - customers - searches),
        "recovered": recovered,
        "failed": len(result.failed),
        "failures": dict(failures),
        "http_requests": len(requests),
        "faults_injected": dict(faults),
        "stored_on_server": len(stored),
        "duplicates_on_server": sum(n - 1 for n in emails.values() if n > 1),
        "seconds": round(elapsed, 3),
        "customers_per_second": round(customers / elapsed, 1) if elapsed else None,
    }


def demo_succeeded(report: dict[str, Any]) -> bool:
    return bool(
        report["created"] == report["stored_on_server"] == report["requested"]
        and report["duplicates_on_server"] == 0
    )


def print_report(report: dict[str, Any]) -> None:
    from rich import box
    from rich.console import Console
    from rich.table import Table

    faults = ", ".join(f"{k} x{v}" for k, v in sorted(report["faults_injected"].items()))
    failures = ", ".join(f"{k} x{v}" for k, v in sorted(report["failures"].items()))
    table = Table(
        title="soap-async demo against a local fake Soap server",
        title_justify="left",
        show_header=False,
        box=box.SIMPLE,
    )
    table.add_column(style="bold")
    table.add_column(justify="right")
    table.add_column(style="dim")
    rate = report["customers_per_second"]
    rows = [
        ("requested", report["requested"], ""),
        ("created", report["created"], ""),
        ("retried", report["retried"], "extra requests after faults"),
        ("recovered", report["recovered"], "answer lost, found again by email"),
        ("failed", report["failed"], failures),
        ("HTTP requests", report["http_requests"], ""),
        ("faults injected", sum(report["faults_injected"].values()), faults or "none"),
        ("stored on server", report["stored_on_server"], ""),
        ("duplicates on server", report["duplicates_on_server"], "must be 0"),
        ("time", f"{report['seconds']:.2f} s", f"{rate} customers/s"),
    ]
    for name, value, note in rows:
        table.add_row(name, str(value), note)
    Console(highlight=False).print(table)


@click.command(short_help="Batch-create customers against the embedded fake, under faults.")
@click.option(
    "--customers", type=click.IntRange(min=1), default=300, show_default=True, help="How many."
)
@click.option(
    "--concurrency", type=click.IntRange(min=1), default=32, show_default=True, help="In flight."
)
@click.option(
    "--fault-rate",
    type=click.FloatRange(0, 1, max_open=True),
    default=0.1,
    show_default=True,
    help="Share of requests hit by a fault.",
)
@click.option("--seed", type=int, default=7, show_default=True, help="Seed of the fault draw.")
@click.option("--progress/--no-progress", default=None, help="Show the progress bar.")
@json_option
@click.pass_obj
def demo(
    settings: Settings,
    customers: int,
    concurrency: int,
    fault_rate: float,
    seed: int,
    progress: bool | None,
) -> None:
    """Create customers concurrently against the embedded fake server, under faults.

    Needs no API key and no network. The fake answers some requests with 429, 500 or
    503, or drops the connection before or after storing the customer; the report shows
    that every customer was created exactly once anyway. Exit status 0 when all were
    created and the server holds no duplicate.
    """
    bar = RowProgress(progress_wanted(progress, settings.json), customers, "creating")

    def on_progress(update: BatchProgress) -> None:
        bar.advance(failed=not update.item.ok)

    with bar:
        report = run_async(run_demo(customers, concurrency, fault_rate, seed, on_progress))
    if settings.json:
        echo_json(report)
    else:
        print_report(report)
    if not demo_succeeded(report):
        click.get_current_context().exit(1)
