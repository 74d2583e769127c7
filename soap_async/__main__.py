"""`soap-async` / `python -m soap_async`: the command line (for now: `demo`)."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections import Counter
from collections.abc import Sequence
from typing import Any

from . import AsyncSoapClient, __version__

DEMO_KEY = "key_demo_local_only"


async def run_demo(
    customers: int, concurrency: int, fault_rate: float, seed: int
) -> dict[str, Any]:
    """Start the fake server, create customers concurrently under faults, and report."""
    from .testing import FakeSoapServer, Fault

    async with FakeSoapServer(api_key=DEMO_KEY) as server:
        if fault_rate > 0:
            server.inject_random(
                [
                    Fault.status(429, retry_after=0.2),
                    Fault.status(503),
                    Fault.status(500),
                    Fault.drop_before(),
                    Fault.drop_after(),  # stored, answer lost: recovered by email lookup
                ],
                rate=fault_rate,
                seed=seed,
            )
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
            result = await soap.customers.create_many(rows, concurrency=concurrency)
            elapsed = time.perf_counter() - started

        failures = Counter(type(item.error).__name__ for item in result.failed)
        emails = Counter(c["email"].lower() for c in server.customers)
        faults = Counter(r.fault for r in server.requests if r.fault)
        lost_answers = {
            r.json["email"]
            for r in server.requests
            if r.fault == "drop_after" and isinstance(r.json, dict)
        }
        recovered = sum(1 for item in result.succeeded if item.request.email in lost_answers)
    return {
        "requested": customers,
        "created": len(result.succeeded),
        "recovered": recovered,
        "failed": len(result.failed),
        "failures": dict(failures),
        "http_requests": len(server.requests),
        "faults_injected": dict(faults),
        "stored_on_server": len(server.customers),
        "duplicates_on_server": sum(n - 1 for n in emails.values() if n > 1),
        "seconds": round(elapsed, 3),
        "customers_per_second": round(customers / elapsed, 1) if elapsed else None,
    }


def _print_summary(report: dict[str, Any]) -> None:
    faults = ", ".join(f"{k} x{v}" for k, v in sorted(report["faults_injected"].items()))
    lines = [
        "soap-async demo: customers created through the SDK against a local fake Soap server",
        f"  requested            {report['requested']}",
        f"  created              {report['created']} "
        f"({report['recovered']} recovered after a lost answer)",
        f"  failed               {report['failed']} {report['failures'] or ''}".rstrip(),
        f"  HTTP requests        {report['http_requests']} (retries absorbed the faults below)",
        f"  faults injected      {faults or 'none'}",
        f"  stored on server     {report['stored_on_server']}",
        f"  duplicates on server {report['duplicates_on_server']}",
        f"  time                 {report['seconds']} s "
        f"({report['customers_per_second']} customers/s)",
    ]
    print("\n".join(lines))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="soap-async", description="The Soap payments SDK.")
    parser.add_argument("--version", action="version", version=f"soap-async {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    demo = commands.add_parser(
        "demo", help="create customers concurrently against the embedded fake server"
    )
    demo.add_argument("--customers", type=int, default=300, help="how many (default 300)")
    demo.add_argument("--concurrency", type=int, default=32, help="in flight (default 32)")
    demo.add_argument(
        "--fault-rate", type=float, default=0.1, help="share of requests hit by a fault (0.1)"
    )
    demo.add_argument("--seed", type=int, default=7, help="fault seed (default 7)")
    demo.add_argument("--json", action="store_true", help="print the report as JSON")
    args = parser.parse_args(argv)

    if args.customers < 1 or args.concurrency < 1 or not 0 <= args.fault_rate < 1:
        parser.error("--customers and --concurrency must be >= 1, --fault-rate in [0, 1)")
    report = asyncio.run(run_demo(args.customers, args.concurrency, args.fault_rate, args.seed))
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        _print_summary(report)
    ok = (
        report["created"] == report["stored_on_server"] == args.customers
        and report["duplicates_on_server"] == 0
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
