"""Peak memory of `iter_create_many` over 20,000 and 200,000 requests.

    python benchmarks/bench_memory.py            # 20,000 and 200,000 (about a minute)
    python benchmarks/bench_memory.py --smoke    # 2,000 and 20,000

Each size runs in a fresh process (so each peak is its own) that streams a generator
of requests through `iter_create_many` against a minimal local server and keeps only
counters. Memory must not grow with the input: the ratio of the two peaks should stay
under 1.5.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import resource
import sys
from collections.abc import Iterator

sys.path.insert(0, os.path.dirname(__file__))
from _server import BenchServer


def _rows(count: int) -> Iterator[dict[str, str]]:
    for n in range(count):
        yield {"email": f"user{n}@example.com", "first_name": "Bench", "last_name": f"N{n}"}


async def _stream(url: str, count: int, concurrency: int) -> int:
    from soap_async import AsyncSoapClient

    ok = 0
    async with AsyncSoapClient(api_key="key_bench", base_url=url, retry=0) as soap:
        async for item in soap.customers.iter_create_many(_rows(count), concurrency=concurrency):
            ok += item.ok
    return ok


def _measure(url: str, count: int, concurrency: int, out: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    ok = asyncio.run(_stream(url, count, concurrency))
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    out.put((ok, peak_kib))


def peak_rss(url: str, count: int, concurrency: int) -> tuple[int, int]:
    ctx = multiprocessing.get_context("spawn")
    out = ctx.Queue()
    process = ctx.Process(target=_measure, args=(url, count, concurrency, out))
    process.start()
    ok, peak = out.get()
    process.join()
    return ok, peak


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", type=int, default=20_000)
    parser.add_argument("--large", type=int, default=200_000)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--smoke", action="store_true", help="2,000 and 20,000")
    args = parser.parse_args()
    if args.smoke:
        args.small, args.large = 2_000, 20_000

    with BenchServer() as url:
        small_ok, small_peak = peak_rss(url, args.small, args.concurrency)
        large_ok, large_peak = peak_rss(url, args.large, args.concurrency)
    ratio = large_peak / small_peak
    print(f"iter_create_many peak RSS, concurrency {args.concurrency}")
    print(f"{'requests':>10}{'succeeded':>12}{'peak RSS MiB':>15}")
    print(f"{args.small:>10,}{small_ok:>12,}{small_peak / 1024:>15.1f}")
    print(f"{args.large:>10,}{large_ok:>12,}{large_peak / 1024:>15.1f}")
    print(f"ratio {args.large:,} / {args.small:,}: {ratio:.2f} (target < 1.5)")
    complete = small_ok == args.small and large_ok == args.large
    return 0 if complete and ratio < 1.5 else 1


if __name__ == "__main__":
    sys.exit(main())
