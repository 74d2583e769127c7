"""`soap-async customers import FILE`: stream a CSV or JSONL file into Soap, resumably.

The results file has one JSON line per finished row, appended and flushed as each row
finishes, so it is always a consistent record of what is done: `--resume` reads it,
skips the rows whose last line says `created` or `existing`, and retries the others.
"""

from __future__ import annotations

import asyncio
import codecs
import contextlib
import csv
import json
import signal
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import IO, Any, Literal

import aiohttp
import attrs
import click

from .._client import AsyncSoapClient
from .._retry import DEFAULT_RETRY_STATUSES, RetryPolicy
from ..errors import (
    APIConnectionError,
    APIStatusError,
    AuthenticationError,
    InvalidRequestError,
    NotFoundError,
    PermissionDeniedError,
    SoapError,
)
from ..models.batch import BatchItem
from ..models.customers import CreateCustomerRequest
from ._common import Settings, describe_error, echo_json, json_option, progress_wanted
from ._progress import RowProgress

__all__ = [
    "ImportRun",
    "ImportStats",
    "ResultsFile",
    "Row",
    "RowSet",
    "import_customers",
    "read_results",
    "read_rows",
]

Format = Literal["csv", "jsonl"]
FIELDS: tuple[str, ...] = tuple(attrs.fields_dict(CreateCustomerRequest))
REQUIRED: tuple[str, ...] = tuple(
    name
    for name, field in attrs.fields_dict(CreateCustomerRequest).items()
    if field.default is attrs.NOTHING
)
# Files up to this size are counted before the run, so the progress bar has an ETA.
COUNT_LIMIT = 64 * 1024 * 1024
# A results line naming a row beyond this is not ours (and would cost memory).
MAX_ROW = 1_000_000_000
SUCCESS = ("created", "existing")
EXTENSIONS: dict[str, Format] = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl"}


# --------------------------------------------------------------------------- rows


@attrs.frozen
class Row:
    """One data row of the input: its number (from 1), its fields, and, when it could
    not even be read as a row, the error to report for it."""

    number: int
    fields: Mapping[str, Any]
    email: str | None = None
    error: dict[str, Any] | None = None


def _malformed(number: int, message: str, email: str | None = None) -> Row:
    return Row(number, {}, email, {"type": "MalformedRow", "message": message, "field": None})


def _email_of(fields: Mapping[str, Any]) -> str | None:
    email = fields.get("email")
    return email.strip() if isinstance(email, str) else None


def _is_blank(cells: list[str]) -> bool:
    return all(not cell.strip() for cell in cells)


def _csv_row(number: int, header: list[str], cells: list[str]) -> Row:
    fields: dict[str, str] = {}
    for position, cell in enumerate(cells):
        value = cell.strip()
        if not value:
            continue  # an empty cell means "not given"
        if position >= len(header):
            return _malformed(
                number,
                f"row {number} has {len(cells)} cells but the header has {len(header)} columns",
            )
        name = header[position]
        if not name:
            return _malformed(number, f"cell {position + 1} of row {number} has no column name")
        fields[name] = value
    return Row(number, fields, _email_of(fields))


def _csv_rows(handle: IO[str]) -> Iterator[Row]:
    reader = csv.reader(handle)
    header: list[str] | None = None
    number = 0
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            if header is None:
                raise
            number += 1
            yield _malformed(number, f"row {number} is not a readable CSV record: {exc}")
            continue
        if _is_blank(cells):
            continue
        if header is None:
            header = [name.strip() for name in cells]
            continue
        number += 1
        yield _csv_row(number, header, cells)


def _jsonl_rows(handle: IO[bytes]) -> Iterator[Row]:
    number = 0
    for line_number, raw in enumerate(handle, 1):
        if line_number == 1 and raw.startswith(codecs.BOM_UTF8):
            raw = raw[len(codecs.BOM_UTF8) :]
        if not raw.strip():
            continue
        number += 1
        where = f"line {line_number}"
        try:
            value = json.loads(raw.decode("utf-8"))
        except UnicodeDecodeError:
            yield _malformed(number, f"{where} is not UTF-8 text")
            continue
        except ValueError as exc:
            yield _malformed(number, f"{where} is not valid JSON: {exc}")
            continue
        if not isinstance(value, dict):
            kind = "array" if isinstance(value, list) else type(value).__name__
            if value is None:
                kind = "null"
            yield _malformed(number, f"{where} is a JSON {kind}, not an object of customer fields")
            continue
        # As in CSV, null and empty strings mean "not given".
        fields = {
            key: item
            for key, item in value.items()
            if item is not None and not (isinstance(item, str) and not item.strip())
        }
        yield Row(number, fields, _email_of(fields))


def read_rows(handle: IO[Any], fmt: Format) -> Iterator[Row]:
    """The data rows of an open input file (text for CSV, binary for JSONL), lazily.

    Rows are numbered from 1; blank lines are not rows. A row that cannot be read comes
    with its error instead of stopping the iteration.
    """
    if fmt == "csv":
        return _csv_rows(handle)
    return _jsonl_rows(handle)


def open_input(path: Path, fmt: Format) -> IO[Any]:
    if fmt == "csv":
        return open(path, encoding="utf-8-sig", newline="")  # the caller closes it
    return open(path, "rb")


def detect_format(path: Path, given: str | None) -> Format:
    if given == "csv":
        return "csv"
    if given == "jsonl":
        return "jsonl"
    found = EXTENSIONS.get(path.suffix.lower())
    if found is None:
        raise click.UsageError(
            f"cannot tell the format of {click.format_filename(path)} from its extension: "
            "pass --format csv or --format jsonl"
        )
    return found


def check_csv_header(path: Path) -> list[str]:
    """The CSV header's columns that are not customer fields; refuses unusable headers."""
    try:
        with open_input(path, "csv") as handle:
            header = next((cells for cells in csv.reader(handle) if not _is_blank(cells)), None)
    except (UnicodeDecodeError, csv.Error) as exc:
        raise click.BadParameter(f"cannot read the CSV header: {exc}", param_hint="FILE") from None
    if header is None:
        raise click.BadParameter("has no header row (and no data)", param_hint="FILE")
    names = [name.strip() for name in header]
    seen: set[str] = set()
    for name in names:
        if name and name in seen:
            raise click.BadParameter(f"the header names {name!r} twice", param_hint="FILE")
        seen.add(name)
    missing = [name for name in REQUIRED if name not in seen]
    if missing:
        raise click.BadParameter(
            f"the header has no {', '.join(missing)} column; columns are the request "
            f"fields: {', '.join(FIELDS)}",
            param_hint="FILE",
        )
    return [name for name in names if name and name not in FIELDS]


def count_rows(path: Path, fmt: Format) -> int | None:
    """How many data rows the file has, or None when it is too big to count first."""
    if path.stat().st_size > COUNT_LIMIT:
        return None
    if fmt == "jsonl":
        with open(path, "rb") as handle:
            return sum(1 for line in handle if line.strip())
    count = -1  # the header
    with open_input(path, "csv") as handle:
        reader = csv.reader(handle)
        while True:
            try:
                cells = next(reader)
            except StopIteration:
                break
            except csv.Error:
                count += 1
                continue
            except UnicodeDecodeError as exc:
                raise click.BadParameter(f"is not UTF-8 text: {exc}", param_hint="FILE") from None
            if not _is_blank(cells):
                count += 1
    return max(count, 0)


# --------------------------------------------------------------------------- results


class RowSet:
    """A compact set of row numbers (one bit each): a million rows cost 125 kB."""

    def __init__(self) -> None:
        self._bits = bytearray()
        self._len = 0

    def add(self, number: int) -> None:
        byte, bit = divmod(number, 8)
        if byte >= len(self._bits):
            self._bits.extend(bytes(byte + 1 - len(self._bits)))
        if not self._bits[byte] & (1 << bit):
            self._bits[byte] |= 1 << bit
            self._len += 1

    def discard(self, number: int) -> None:
        byte, bit = divmod(number, 8)
        if byte < len(self._bits) and self._bits[byte] & (1 << bit):
            self._bits[byte] &= ~(1 << bit) & 0xFF
            self._len -= 1

    def __contains__(self, number: object) -> bool:
        if not isinstance(number, int):
            return False
        byte, bit = divmod(number, 8)
        return byte < len(self._bits) and bool(self._bits[byte] & (1 << bit))

    def __len__(self) -> int:
        return self._len

    def count_upto(self, last: int) -> int:
        """How many members are <= last."""
        byte, bit = divmod(last, 8)
        whole = sum(bin(b).count("1") for b in self._bits[:byte])
        if byte < len(self._bits):
            whole += bin(self._bits[byte] & ((2 << bit) - 1)).count("1")
        return whole


@attrs.define
class ResumeState:
    """What an earlier results file says: the rows done, and where its last whole line ends."""

    done: RowSet = attrs.field(factory=RowSet)
    complete_bytes: int = 0
    partial_line: bool = False
    unreadable_lines: int = 0


def read_results(path: Path) -> ResumeState:
    """Read a results file: the rows whose last line says created or existing are done.

    A last line without its newline (the process died while writing it) is ignored and
    will be cut off before appending; unreadable lines are counted and ignored, so their
    rows are simply done again (safely: see `--if-exists`).
    """
    state = ResumeState()
    with open(path, "rb") as handle:
        for raw in handle:
            if not raw.endswith(b"\n"):
                state.partial_line = True
                break
            state.complete_bytes += len(raw)
            if not raw.strip():
                continue
            try:
                record = json.loads(raw)
            except ValueError:
                state.unreadable_lines += 1
                continue
            row = record.get("row") if isinstance(record, dict) else None
            status = record.get("status") if isinstance(record, dict) else None
            if not isinstance(row, int) or isinstance(row, bool) or not 0 < row <= MAX_ROW:
                state.unreadable_lines += 1
            elif status in SUCCESS:
                state.done.add(row)
            elif status == "failed":
                state.done.discard(row)
            else:
                state.unreadable_lines += 1
    return state


class ResultsFile:
    """Appends one JSON line per finished row, flushed at once.

    Each line goes out in a single write, so the file only ever ends in the middle of a
    line if the process is killed mid-write; `read_results` copes with that, and
    `cut_at` removes such a tail before appending.
    """

    def __init__(self, path: Path, *, cut_at: int | None = None) -> None:
        if cut_at is not None:
            with open(path, "r+b") as existing:
                existing.truncate(cut_at)
        self.path = path
        self._file: IO[bytes] = open(path, "ab")  # noqa: SIM115 - closed by close()

    def write(self, record: Mapping[str, Any]) -> None:
        self._file.write(json.dumps(record, ensure_ascii=False).encode("utf-8") + b"\n")
        self._file.flush()

    def close(self) -> None:
        self._file.close()


def error_record(error: SoapError) -> dict[str, Any]:
    """The `error` object of a failed row."""
    record: dict[str, Any] = {
        "type": type(error).__name__,
        "message": str(error),
        "field": getattr(error, "field", None),
    }
    if isinstance(error, APIStatusError):
        record["status"] = error.status_code
    return record


# --------------------------------------------------------------------------- the run


class RequestCounter:
    """Counts HTTP attempts, and those that failed in a way the SDK retries."""

    def __init__(self, retry_statuses: frozenset[int] = DEFAULT_RETRY_STATUSES) -> None:
        self.requests = 0
        self.transient = 0
        self._statuses = retry_statuses

    def trace_config(self) -> aiohttp.TraceConfig:
        async def on_end(
            session: aiohttp.ClientSession, context: object, params: aiohttp.TraceRequestEndParams
        ) -> None:
            self.requests += 1
            if params.response.status in self._statuses:
                self.transient += 1

        async def on_exception(
            session: aiohttp.ClientSession,
            context: object,
            params: aiohttp.TraceRequestExceptionParams,
        ) -> None:
            self.requests += 1
            if not isinstance(params.exception, asyncio.CancelledError):
                self.transient += 1

        trace = aiohttp.TraceConfig()
        trace.on_request_end.append(on_end)
        trace.on_request_exception.append(on_exception)
        return trace

    def session_factory(self, limit: int) -> Callable[[], aiohttp.ClientSession]:
        def make() -> aiohttp.ClientSession:
            connector = aiohttp.TCPConnector(limit=limit, keepalive_timeout=10, ttl_dns_cache=60)
            return aiohttp.ClientSession(
                connector=connector,
                timeout=aiohttp.ClientTimeout(),
                trace_configs=[self.trace_config()],
            )

        return make


def _retryable_failure(error: SoapError | None) -> bool:
    if isinstance(error, APIConnectionError):
        return True
    return isinstance(error, APIStatusError) and error.status_code in DEFAULT_RETRY_STATUSES


@attrs.define
class ImportStats:
    rows_read: int = 0
    skipped: int = 0
    created: int = 0
    existing: int = 0
    failed: int = 0
    cancelled: int = 0
    http_requests: int = 0
    retried_requests: int = 0
    elapsed: float = 0.0
    interrupted: bool = False
    fatal: str | None = None

    @property
    def finished(self) -> int:
        return self.created + self.existing + self.failed


class ImportRun:
    """One import: rows in, results lines out, counters kept in `stats`."""

    def __init__(
        self,
        *,
        handle: IO[Any],
        fmt: Format,
        done: RowSet,
        results: ResultsFile,
        concurrency: int,
        if_exists: Literal["error", "return"],
        progress: RowProgress,
        counter: RequestCounter,
    ) -> None:
        self.stats = ImportStats()
        # Rows handed to the SDK and not finished yet, by batch index: at most a few
        # times `concurrency` entries, whatever the size of the file.
        self.pending: dict[int, Row] = {}
        self._handle = handle
        self._fmt = fmt
        self._done = done
        self._results = results
        self._concurrency = concurrency
        self._if_exists = if_exists
        self._progress = progress
        self._counter = counter
        self._exhausted = 0

    def _requests(self) -> Iterator[Mapping[str, Any]]:
        index = 0
        for row in read_rows(self._handle, self._fmt):
            self.stats.rows_read += 1
            if row.number in self._done:
                self.stats.skipped += 1
                continue
            self.pending[index] = row
            index += 1
            # A row that could not be read goes through as {}, which the SDK refuses
            # before any request; its own error replaces the SDK's in the results.
            yield row.fields if row.error is None else {}

    def _record(self, item: BatchItem) -> None:
        row = self.pending.pop(item.index)
        customer_id: str | None = None
        error: dict[str, Any] | None = None
        if row.error is not None:
            status, error = "failed", row.error
        elif item.customer is not None and item.error is None:
            status = "created" if item.created else "existing"
            customer_id = item.customer.id
        else:
            status = "failed"
            failure = item.error or InvalidRequestError("Soap returned no customer")
            error = error_record(failure)
            self._exhausted += _retryable_failure(failure)
            if self._stops_the_run(failure):
                self._write(row, status, customer_id, error)
                raise failure
        self._write(row, status, customer_id, error)

    def _write(
        self, row: Row, status: str, customer_id: str | None, error: dict[str, Any] | None
    ) -> None:
        self._results.write(
            {
                "row": row.number,
                "status": status,
                "customer_id": customer_id,
                "email": row.email,
                "error": error,
            }
        )
        if status == "created":
            self.stats.created += 1
        elif status == "existing":
            self.stats.existing += 1
        else:
            self.stats.failed += 1
        self._progress.advance(failed=status == "failed")

    def _stops_the_run(self, error: SoapError) -> bool:
        """Failures every later row would meet too: a refused key, a wrong URL, or no
        connection to Soap before any row succeeded. The run stops; --resume continues."""
        if isinstance(error, (AuthenticationError, PermissionDeniedError, NotFoundError)):
            return True
        return isinstance(error, APIConnectionError) and not (
            self.stats.created or self.stats.existing
        )

    def interrupt(self, task: asyncio.Task[Any] | None) -> None:
        """Ctrl-C: stop reading and cancel what is in flight (the batch closes)."""
        self.stats.interrupted = True
        if task is not None:
            task.cancel()

    async def run(self, client: AsyncSoapClient) -> None:
        loop = asyncio.get_running_loop()
        task = asyncio.current_task()
        sigint = True
        try:
            loop.add_signal_handler(signal.SIGINT, self.interrupt, task)
        except (NotImplementedError, RuntimeError, ValueError):
            sigint = False  # not the main thread, or Windows: KeyboardInterrupt instead
        started = time.perf_counter()
        try:
            async with client:
                batch = client.customers.iter_create_many(
                    self._requests(), concurrency=self._concurrency, if_exists=self._if_exists
                )
                async with contextlib.aclosing(batch):
                    async for item in batch:
                        self._record(item)
        except asyncio.CancelledError:
            if not self.stats.interrupted:
                raise
            uncancel = getattr(task, "uncancel", None)
            if uncancel is not None:
                uncancel()
        finally:
            self.finish(started)
            if sigint:
                loop.remove_signal_handler(signal.SIGINT)

    def finish(self, started: float) -> None:
        self.stats.elapsed = time.perf_counter() - started
        self.stats.cancelled = len(self.pending)
        self.stats.http_requests = self._counter.requests
        self.stats.retried_requests = max(0, self._counter.transient - self._exhausted)


# --------------------------------------------------------------------------- the command


def _results_path(file: Path, output: Path | None, resume: Path | None) -> Path:
    if resume is not None:
        if output is not None and output.resolve() != resume.resolve():
            raise click.UsageError(
                "--resume appends to the results file it reads; leave out --output "
                "(or give the same path)"
            )
        return resume
    path = output if output is not None else file.with_name(file.name + ".results.jsonl")
    if path.exists() and path.stat().st_size > 0:
        raise click.UsageError(
            f"{click.format_filename(path)} already exists: continue that import with "
            f"--resume {click.format_filename(path)}, or choose another file with --output"
        )
    if path.resolve() == file.resolve():
        raise click.UsageError("the results file cannot be the input file")
    return path


def _summary(stats: ImportStats, file: Path, results: Path) -> dict[str, Any]:
    rate = stats.finished / stats.elapsed if stats.elapsed > 0 else None
    return {
        "file": str(file),
        "results": str(results),
        "rows_read": stats.rows_read,
        "skipped": stats.skipped,
        "created": stats.created,
        "existing": stats.existing,
        "failed": stats.failed,
        "cancelled": stats.cancelled,
        "retried_requests": stats.retried_requests,
        "http_requests": stats.http_requests,
        "elapsed_seconds": round(stats.elapsed, 3),
        "rows_per_second": None if rate is None else round(rate, 1),
        "interrupted": stats.interrupted,
        "error": stats.fatal,
    }


def _print_table(summary: dict[str, Any]) -> None:
    from rich import box
    from rich.console import Console
    from rich.table import Table

    table = Table(title="customers import", show_header=False, title_justify="left", box=box.SIMPLE)
    table.add_column(style="bold")
    table.add_column()
    rows = [
        ("rows read", summary["rows_read"]),
        ("skipped (done before)", summary["skipped"]),
        ("created", summary["created"]),
        ("existing", summary["existing"]),
        ("failed", summary["failed"]),
    ]
    if summary["cancelled"]:
        rows.append(("cancelled (in flight)", summary["cancelled"]))
    rate = summary["rows_per_second"]
    rows += [
        ("retried requests", summary["retried_requests"]),
        ("HTTP requests", summary["http_requests"]),
        ("elapsed", f"{summary['elapsed_seconds']:.2f} s"),
        ("throughput", "-" if rate is None else f"{rate:,.1f} rows/s"),
        ("results", summary["results"]),
    ]
    for name, value in rows:
        table.add_row(name, str(value))
    Console(highlight=False).print(table)


@click.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, readable=True, path_type=Path))
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["csv", "jsonl"]),
    help="Input format; by default from the extension (.csv, .jsonl, .ndjson).",
)
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    help="Results file (one JSON line per row). Default: FILE.results.jsonl.",
)
@click.option(
    "--resume",
    type=click.Path(exists=True, dir_okay=False, readable=True, writable=True, path_type=Path),
    metavar="RESULTS",
    help="Continue an earlier run: skip the rows RESULTS lists as created or existing, "
    "retry the others, and append to RESULTS.",
)
@click.option(
    "--concurrency",
    type=click.IntRange(1, 256),
    default=8,
    show_default=True,
    help="Rows in flight at once (fewer while Soap answers 429).",
)
@click.option(
    "--if-exists",
    type=click.Choice(["error", "return"]),
    help="A customer with the row's email already exists: 'error' fails the row, "
    "'return' records it as existing. Default: error, but return with --resume.",
)
@click.option(
    "--max-retries",
    type=click.IntRange(0, 20),
    default=5,
    show_default=True,
    help="Retries per request after 429, 5xx, timeouts and dropped connections.",
)
@click.option(
    "--progress/--no-progress",
    default=None,
    help="Show the progress bar (default: only when stdout and stderr are terminals "
    "and --json is off).",
)
@json_option
@click.pass_obj
def import_customers(
    settings: Settings,
    file: Path,
    fmt: str | None,
    output: Path | None,
    resume: Path | None,
    concurrency: int,
    if_exists: Literal["error", "return"] | None,
    max_retries: int,
    progress: bool | None,
) -> None:
    """Create the customers of a CSV or JSONL FILE, one per row.

    \b
    CSV: a header row naming the fields (email, first_name, last_name, phone_number,
    date_of_birth, internal_id); empty cells mean "not given".
    JSONL: one JSON object of the same fields per line.

    Each finished row adds a line to the results file at once. Ctrl-C stops cleanly;
    --resume RESULTS then continues where the run stopped, without creating anyone
    twice. Exit status: 0 when every row succeeded, 1 when some failed, 130 when
    interrupted.
    """
    ctx = click.get_current_context()
    form = detect_format(file, fmt)
    results_path = _results_path(file, output, resume)
    unknown = check_csv_header(file) if form == "csv" else []
    if if_exists is None:
        # A row in flight when an earlier run stopped may have been created without its
        # answer arriving: on resume its email is taken, and that is our customer.
        if_exists = "return" if resume is not None else "error"
    state = read_results(resume) if resume is not None else ResumeState()
    total = count_rows(file, form)
    todo = None if total is None else total - state.done.count_upto(total)

    counter = RequestCounter()
    client = settings.client(
        retry=RetryPolicy(max_retries=max_retries),
        session=counter.session_factory(max(100, concurrency)),
    )
    for name in unknown:
        click.echo(
            f"warning: column {name!r} is not a customer field ({', '.join(FIELDS)}); "
            "rows that fill it will fail",
            err=True,
        )
    if state.partial_line:
        click.echo("note: the results file ended in a partial line; it was cut off", err=True)
    if state.unreadable_lines:
        click.echo(
            f"note: {state.unreadable_lines} unreadable line(s) in the results file were "
            "ignored; their rows are done again",
            err=True,
        )

    results = ResultsFile(results_path, cut_at=state.complete_bytes if state.partial_line else None)
    handle = open_input(file, form)
    bar = RowProgress(progress_wanted(progress, settings.json), todo, "importing")
    run = ImportRun(
        handle=handle,
        fmt=form,
        done=state.done,
        results=results,
        concurrency=concurrency,
        if_exists=if_exists,
        progress=bar,
        counter=counter,
    )
    started = time.perf_counter()
    try:
        with bar:
            asyncio.run(run.run(client))
    except KeyboardInterrupt:
        # Raised outside the loop's own SIGINT handling (Windows, or from inside a
        # callback): the loop has already cancelled the batch and closed the client.
        run.stats.interrupted = True
        run.finish(started)
    except SoapError as exc:  # a failure every row would meet (see _stops_the_run)
        run.stats.fatal = describe_error(exc)
    except (OSError, UnicodeDecodeError, csv.Error) as exc:  # reading or writing failed
        run.stats.fatal = f"the import stopped: {exc}"
    finally:
        handle.close()
        results.close()

    stats = run.stats
    summary = _summary(stats, file, results_path)
    if settings.json:
        echo_json(summary)
    else:
        _print_table(summary)
    name = click.format_filename(results_path)
    if stats.fatal is not None:
        click.echo(f"Error: {stats.fatal}", err=True)
    resume_hint = (
        f"Resume with --resume {name}:\n"
        f"  soap-async customers import {click.format_filename(file)} --resume {name}"
    )
    if stats.interrupted:
        click.echo(
            f"Interrupted: {stats.cancelled} row(s) in flight were cancelled. {resume_hint}",
            err=True,
        )
        ctx.exit(130)
    if stats.fatal is not None:
        click.echo(f"The import stopped early. Once that is fixed: {resume_hint}", err=True)
        ctx.exit(1)
    if stats.failed:
        click.echo(
            f"{stats.failed} row(s) failed: their lines in {name} say why. Fix them in "
            f"{click.format_filename(file)}, then retry only those with --resume {name}.",
            err=True,
        )
    if stats.failed:
        ctx.exit(1)
