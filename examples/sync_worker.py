"""A job worker that creates customers from many threads through ONE shared `SoapClient`.

This is the shape of a Celery, RQ or Dramatiq worker: jobs arrive, a pool of threads
handles them, and every thread uses the same client. A `SoapClient` is made for
that: its calls run on one event loop shared by the process, so all threads share one
connection pool. Create it once per worker process (e.g. in Celery's
`worker_process_init` signal) rather than per job; it also survives the worker's fork.

Each job is a JSON object with a `job_id` and the customer's fields, one per line:

    {"job_id": "j1", "email": "ada@example.com", "first_name": "Ada", "last_name": "Lovelace"}

Run it (configuration from the environment, nothing hard-coded):

    SOAP_API_KEY=... python examples/sync_worker.py examples/data/jobs.jsonl --threads 8

Against the fake server instead of Soap's sandbox: start one (`soap-async fake-server`,
or see docs/testing.md), and set `SOAP_BASE_URL` to its URL and `SOAP_API_KEY` to its
key (`key_test` unless told otherwise).

Every job ends as `created`, `exists` (the email is registered already: a job that ran
before is done), `invalid` (bad input: retrying will not help) or `failed` (Soap could
not be reached, after the SDK's own retries: a queue would retry the job later). The
exit status is 0 when every job is `created` or `exists`.
"""

from __future__ import annotations

import argparse
import collections
import dataclasses
import json
import sys
import threading
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Literal, get_args

from soap_async import (
    CreateCustomerRequest,
    EmailTakenError,
    InvalidRequestError,
    SoapClient,
    SoapError,
)

__all__ = ["JobResult", "Summary", "handle_job", "main", "run"]

Outcome = Literal["created", "exists", "invalid", "failed"]


@dataclasses.dataclass(frozen=True)
class JobResult:
    """What became of one job. `thread` is the worker thread that ran it."""

    job_id: str
    outcome: Outcome
    customer_id: str | None = None
    error: str | None = None
    thread: str = ""


@dataclasses.dataclass(frozen=True)
class Summary:
    """Every job's result, in the order of the jobs."""

    results: list[JobResult]

    @property
    def counts(self) -> collections.Counter[str]:
        """How many jobs ended with each outcome."""
        return collections.Counter(result.outcome for result in self.results)

    @property
    def ok(self) -> bool:
        """Whether every job is done (`created` or `exists`)."""
        return all(result.outcome in ("created", "exists") for result in self.results)


def handle_job(job: Mapping[str, Any], *, client: SoapClient) -> JobResult:
    """Create the customer of one job; the body of the task in a real queue."""
    job_id = str(job.get("job_id", ""))
    fields = {name: value for name, value in job.items() if name != "job_id"}
    thread = threading.current_thread().name
    try:
        # Checks the input before anything is sent; TypeError: a field it does not have.
        request = CreateCustomerRequest(**fields)
    except (InvalidRequestError, TypeError) as error:
        return JobResult(job_id, "invalid", error=str(error), thread=thread)
    try:
        customer = client.customers.create(request)
    except EmailTakenError as error:
        # The id is known only when the SDK looked the email up; use
        # customers.get_or_create instead to always get the existing customer.
        return JobResult(job_id, "exists", customer_id=error.existing_customer_id, thread=thread)
    except SoapError as error:
        return JobResult(job_id, "failed", error=str(error), thread=thread)
    return JobResult(job_id, "created", customer_id=customer.id, thread=thread)


def run(jobs: Iterable[Mapping[str, Any]], *, client: SoapClient, threads: int = 8) -> Summary:
    """Handle `jobs` on `threads` worker threads, all sharing `client`."""
    with ThreadPoolExecutor(max_workers=threads, thread_name_prefix="worker") as pool:
        results = list(pool.map(lambda job: handle_job(job, client=client), jobs))
    return Summary(results)


def read_jobs(lines: Iterable[str]) -> list[dict[str, Any]]:
    """The jobs of a JSON Lines text (blank lines skipped)."""
    jobs = [json.loads(line) for line in lines if line.strip()]
    for number, job in enumerate(jobs, 1):
        if not isinstance(job, dict):
            raise ValueError(f"job {number} is not a JSON object")
    return jobs


def main(argv: Sequence[str] | None = None) -> int:
    """Run the jobs of a JSON Lines file (`-` for stdin); print a summary."""
    parser = argparse.ArgumentParser(description="Create customers from a file of jobs.")
    parser.add_argument("jobs", help="JSON Lines file of jobs, or - for stdin")
    parser.add_argument("--threads", type=int, default=8, help="worker threads (default 8)")
    args = parser.parse_args(argv)
    if args.jobs == "-":
        jobs = read_jobs(sys.stdin)
    else:
        with open(args.jobs, encoding="utf-8") as file:
            jobs = read_jobs(file)
    with SoapClient() as client:  # SOAP_API_KEY, SOAP_BASE_URL from the environment
        summary = run(jobs, client=client, threads=args.threads)
    for result in summary.results:
        if result.outcome in ("invalid", "failed"):
            print(f"{result.job_id}: {result.outcome}: {result.error}")
    counts = summary.counts
    print(", ".join(f"{counts[outcome]} {outcome}" for outcome in get_args(Outcome)))
    return 0 if summary.ok else 1


if __name__ == "__main__":
    sys.exit(main())
