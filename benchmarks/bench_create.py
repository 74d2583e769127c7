"""Client CPU per `customers.create`: AsyncSoapClient against raw aiohttp, same run.

    python benchmarks/bench_create.py            # 20,000 creates each, concurrency 64
    python benchmarks/bench_create.py --smoke    # a quick check that it runs

Both clients send the same JSON to the same minimal server (its own process), with
the same concurrency. The figure is CPU time of this process per request (so the
server's work is not counted), best of --repeat rounds, alternating the two clients.
The ratio SDK / raw is what to watch; absolute numbers depend on the machine.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time

import aiohttp

sys.path.insert(0, os.path.dirname(__file__))
from _server import BenchServer

from soap_async import AsyncSoapClient

FIELDS = {"email": "bench@example.com", "first_name": "Bench", "last_name": "Mark"}


async def _run_bounded(n: int, concurrency: int, make_call: object) -> None:
    limit = asyncio.Semaphore(concurrency)

    async def one() -> None:
        async with limit:
            await make_call()  # type: ignore[operator]

    await asyncio.gather(*(one() for _ in range(n)))


async def sdk_round(url: str, n: int, concurrency: int) -> float:
    async with AsyncSoapClient(api_key="key_bench", base_url=url, retry=0) as soap:
        await soap.customers.create(**FIELDS)  # open the pool outside the measurement
        cpu = time.process_time()
        await _run_bounded(n, concurrency, lambda: soap.customers.create(**FIELDS))
        return (time.process_time() - cpu) / n * 1e6


async def raw_round(url: str, n: int, concurrency: int) -> float:
    headers = {"Authorization": "Bearer key_bench", "Content-Type": "application/json"}
    connector = aiohttp.TCPConnector(limit=100)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def create() -> object:
            body = json.dumps(FIELDS).encode()
            async with session.post(
                f"{url}/api/v1/customers", data=body, headers=headers
            ) as response:
                response.raise_for_status()
                return json.loads(await response.read())

        await create()
        cpu = time.process_time()
        await _run_bounded(n, concurrency, create)
        return (time.process_time() - cpu) / n * 1e6


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=20_000)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--smoke", action="store_true", help="tiny run to check it works")
    args = parser.parse_args()
    if args.smoke:
        args.n, args.repeat = 200, 1

    sdk: list[float] = []
    raw: list[float] = []
    with BenchServer() as url:
        for _ in range(args.repeat):
            raw.append(asyncio.run(raw_round(url, args.n, args.concurrency)))
            sdk.append(asyncio.run(sdk_round(url, args.n, args.concurrency)))
    best_sdk, best_raw = min(sdk), min(raw)
    print(f"customers.create x {args.n}, concurrency {args.concurrency}, best of {args.repeat}")
    print(f"{'client':<22}{'CPU µs/request':>16}")
    print(f"{'raw aiohttp':<22}{best_raw:>16.1f}")
    print(f"{'AsyncSoapClient':<22}{best_sdk:>16.1f}")
    print(f"{'ratio SDK / raw':<22}{best_sdk / best_raw:>16.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
