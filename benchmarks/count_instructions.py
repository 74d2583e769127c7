"""Instructions per create, counted by valgrind: a noise-free cross-check of run.py.

    python benchmarks/count_instructions.py      # needs valgrind; about three minutes

CPU time on a shared virtual machine varies by tens of per cent from one minute to the
next; instruction counts do not. Each client runs twice under callgrind (500 and 1,500
creates at concurrency 64 against the minimal server in its own, uninstrumented
process) and the difference divided by 1,000 is its cost per create, start-up excluded.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import sys

import aiohttp

sys.path.insert(0, os.path.dirname(__file__))
from _server import BenchServer

from soap_async import AsyncSoapClient, Timeout

FIELDS = {"email": "bench@example.com", "first_name": "Bench", "last_name": "Mark"}
CLIENTS = {
    "raw aiohttp, default timeouts": "raw",
    "raw aiohttp, the SDK's timeouts": "raw-same-timeouts",
    "AsyncSoapClient.customers.create": "sdk",
    "AsyncSoapClient.customers.create_many": "sdk-many",
}


async def _bounded(n: int, call: object) -> None:
    limit = asyncio.Semaphore(64)

    async def one() -> None:
        async with limit:
            await call()  # type: ignore[operator]

    await asyncio.gather(*(one() for _ in range(n)))


async def _client(kind: str, url: str, n: int) -> None:
    if kind.startswith("raw"):
        timeout = Timeout().to_aiohttp() if kind == "raw-same-timeouts" else None
        options = {} if timeout is None else {"timeout": timeout}
        headers = {"Authorization": "Bearer key_bench", "Content-Type": "application/json"}
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=100)) as session:

            async def create() -> object:
                async with session.post(
                    f"{url}/api/v1/customers",
                    data=json.dumps(FIELDS).encode(),
                    headers=headers,
                    **options,  # type: ignore[arg-type]
                ) as response:
                    response.raise_for_status()
                    return json.loads(await response.read())

            await create()
            await _bounded(n, create)
        return
    async with AsyncSoapClient(api_key="key_bench", base_url=url) as soap:
        await soap.customers.create(**FIELDS)
        if kind == "sdk":
            await _bounded(n, lambda: soap.customers.create(**FIELDS))
        else:
            rows = ({**FIELDS, "email": f"u{i}@example.com"} for i in range(n))
            await soap.customers.create_many(rows, concurrency=64)


def _instructions(kind: str, url: str, n: int) -> int:
    result = subprocess.run(
        [
            "valgrind",
            "--tool=callgrind",
            "--callgrind-out-file=/dev/null",
            sys.executable,
            __file__,
            "--client",
            kind,
            url,
            str(n),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    match = re.search(r"Collected : (\d+)", result.stderr)
    assert match, result.stderr[-2000:]
    return int(match.group(1))


def main() -> int:
    if sys.argv[1:2] == ["--client"]:
        asyncio.run(_client(sys.argv[2], sys.argv[3], int(sys.argv[4])))
        return 0
    per_create: dict[str, float] = {}
    with BenchServer() as url:
        for label, kind in CLIENTS.items():
            low, high = _instructions(kind, url, 500), _instructions(kind, url, 1500)
            per_create[label] = (high - low) / 1000
    base = per_create["raw aiohttp, default timeouts"]
    same = per_create["raw aiohttp, the SDK's timeouts"]
    print(f"{'client':<40}{'instructions/create':>21}{'/ raw':>8}{'/ raw, same timeouts':>22}")
    for label, count in per_create.items():
        print(f"{label:<40}{count:>21,.0f}{count / base:>8.3f}{count / same:>22.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
