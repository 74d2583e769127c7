"""Import customers from a CSV file, many at a time, with a results file per row.

The CSV has a header row; its columns are fields of `CreateCustomerRequest`: `email`,
`first_name`, `last_name` (required), `phone_number`, `date_of_birth` (YYYY-MM-DD),
`internal_id`. Empty cells are left out. The file is streamed: rows are read as the
import goes, so memory does not grow with its size.

Run it (configuration from the environment, nothing hard-coded):

    SOAP_API_KEY=... python examples/batch_import.py examples/data/customers.csv \\
        --results results.jsonl --concurrency 16

Against the fake server instead of Soap's sandbox: start one (`soap-async fake-server`,
or see docs/testing.md), and set `SOAP_BASE_URL` to its URL and `SOAP_API_KEY` to its
key (`key_test` unless told otherwise).

Each row gets one line in the results file (JSON Lines, in the order rows finish):
`{"row": 3, "status": "created", "email": ..., "customer_id": "cus_...", "error": null}`,
where `row` counts data rows from 1 and `status` is `created`, `existing` (a customer
with this email was there already) or `failed` (with `error`). A bad row never stops
the others. Running the same file again is safe: rows created the first time come out
as `existing`. The exit status is 0 when no row failed.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import csv
import json
import os
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, TextIO

from soap_async import AsyncSoapClient, BatchItem, CreateCustomerRequest

__all__ = ["import_csv", "main", "result_record"]

StrPath = str | os.PathLike[str]


def _rows(source: TextIO) -> Iterator[dict[str, Any]]:
    for row in csv.DictReader(source):
        yield {name: value for name, value in row.items() if value != ""}


def result_record(item: BatchItem) -> dict[str, Any]:
    """The results-file line of one row."""
    request = item.request
    email: str | None
    if isinstance(request, CreateCustomerRequest):
        email = request.email
    else:  # the row as read, when it could not become a request
        email = request.get("email") if isinstance(request, dict) else None
    status = "created" if item.created else "existing"
    if item.error is not None:
        status = "failed"
    return {
        "row": item.index + 1,
        "status": status,
        "email": email,
        "customer_id": item.customer.id if item.customer is not None else None,
        "error": str(item.error) if item.error is not None else None,
    }


async def import_csv(
    path: StrPath,
    results_path: StrPath,
    *,
    client: AsyncSoapClient,
    concurrency: int = 8,
) -> collections.Counter[str]:
    """Create a customer per row of the CSV at `path`, `concurrency` at a time.

    Writes one JSON line per row to `results_path` and returns how many rows ended
    `created`, `existing` and `failed`.
    """
    counts: collections.Counter[str] = collections.Counter()
    # Opened in a thread (a slow disk must not stall the loop); the reads and writes
    # that follow are buffered, and small next to the network round trips.
    source = await asyncio.to_thread(Path(path).open, encoding="utf-8", newline="")
    with source:
        results = await asyncio.to_thread(Path(results_path).open, "w", encoding="utf-8")
        with results:
            items = client.customers.iter_create_many(
                _rows(source), concurrency=concurrency, if_exists="return"
            )
            async with contextlib.aclosing(items):  # stop the batch at once on an error
                async for item in items:
                    record = result_record(item)
                    counts[record["status"]] += 1
                    results.write(json.dumps(record) + "\n")
    return counts


async def _main(csv_path: str, results_path: str, concurrency: int) -> collections.Counter[str]:
    async with AsyncSoapClient() as client:  # SOAP_API_KEY, SOAP_BASE_URL from the environment
        return await import_csv(csv_path, results_path, client=client, concurrency=concurrency)


def main(argv: Sequence[str] | None = None) -> int:
    """Import a CSV file; print a summary."""
    parser = argparse.ArgumentParser(description="Import customers from a CSV file.")
    parser.add_argument("csv", help="CSV file with a header row")
    parser.add_argument(
        "--results", default="results.jsonl", help="results file (default results.jsonl)"
    )
    parser.add_argument(
        "--concurrency", type=int, default=8, help="creates in flight at most (default 8)"
    )
    args = parser.parse_args(argv)
    counts = asyncio.run(_main(args.csv, args.results, args.concurrency))
    print(
        f"{counts['created']} created, {counts['existing']} existing, "
        f"{counts['failed']} failed; one line per row in {args.results}"
    )
    return 1 if counts["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
