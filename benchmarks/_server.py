"""A minimal local Soap-like server for benchmarks, run in its own process.

It answers every POST /api/v1/customers with one fixed customer (and POST /v1/customers
with a Stripe-style one, for the peer comparison), so that the client, not the server,
is what the benchmarks measure.
"""

from __future__ import annotations

import json
import multiprocessing
import socket
from multiprocessing.connection import Connection

CUSTOMER = json.dumps(
    {
        "id": "cus_A3GuXEbThpqk2t6UTxEuoceVJyUEAX7V",
        "internal_id": None,
        "email": "bench@example.com",
        "first_name": "Bench",
        "last_name": "Mark",
        "phone_number": "8008001234",
        "date_of_birth": None,
        "created_at": "2025-03-10T16:08:14.427Z",
    }
).encode()


# What a Stripe-style API answers for a customer, for the peer comparison.
STRIPE_CUSTOMER = json.dumps(
    {
        "id": "cus_Bench",
        "object": "customer",
        "email": "bench@example.com",
        "name": "Bench Mark",
        "created": 1700000000,
        "livemode": False,
        "metadata": {},
    }
).encode()


def _serve(sock: socket.socket, ready: Connection) -> None:
    import asyncio

    from aiohttp import web

    async def create(request: web.Request) -> web.Response:
        await request.read()
        return web.Response(body=CUSTOMER, content_type="application/json")

    async def create_stripe_style(request: web.Request) -> web.Response:
        await request.read()
        return web.Response(body=STRIPE_CUSTOMER, content_type="application/json")

    async def main() -> None:
        app = web.Application()
        app.router.add_post("/api/v1/customers", create)
        app.router.add_post("/v1/customers", create_stripe_style)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.SockSite(runner, sock)
        await site.start()
        ready.send("ready")
        await asyncio.Event().wait()

    asyncio.run(main())


class BenchServer:
    """`with BenchServer() as url:` runs the server in a child process on loopback."""

    def __enter__(self) -> str:
        self._sock = socket.socket()
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(1024)
        port = self._sock.getsockname()[1]
        ctx = multiprocessing.get_context("spawn")
        parent, child = ctx.Pipe()
        self._process = ctx.Process(target=_serve, args=(self._sock, child), daemon=True)
        self._process.start()
        parent.recv()
        return f"http://127.0.0.1:{port}"

    def __exit__(self, *exc: object) -> None:
        self._process.terminate()
        self._process.join(5)
        self._sock.close()
