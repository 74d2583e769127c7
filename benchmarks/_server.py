"""A minimal local Soap-like HTTP server for benchmarks, run in its own process.

It is an `asyncio.Protocol` that speaks just enough HTTP/1.1 (keep-alive, pipelining,
`Content-Length` bodies) to answer every `POST /api/v1/customers` with one fixed
customer, and `POST /v1/customers` with a Stripe-style one for the peer comparison.
It does no routing framework's work, so it costs a few tens of microseconds per
request: the clients, not the server, are what the benchmarks measure, and a busy
server does not slow the client's core.
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


def _response(status: str, body: bytes) -> bytes:
    head = (
        f"HTTP/1.1 {status}\r\n"
        "Content-Type: application/json; charset=utf-8\r\n"
        f"Content-Length: {len(body)}\r\n"
        "Connection: keep-alive\r\n"
        "\r\n"
    )
    return head.encode("ascii") + body


ANSWERS = {
    (b"POST", b"/api/v1/customers"): _response("200 OK", CUSTOMER),
    (b"POST", b"/v1/customers"): _response("200 OK", STRIPE_CUSTOMER),
}
NOT_FOUND = _response("404 Not Found", b'{"error":"Not found"}')
BAD_REQUEST = _response("400 Bad Request", b'{"error":"Bad request"}')


def parse_requests(buffer: bytearray) -> list[bytes]:
    """Answer every complete request at the front of `buffer`, removing it from there.

    Returns the answers, in order; an incomplete request stays in the buffer. A request
    this server cannot read (no Content-Length on a body, chunked encoding) gets a 400
    and the connection is then of no further use, which the caller handles by closing.
    """
    answers = []
    while True:
        end = buffer.find(b"\r\n\r\n")
        if end < 0:
            return answers
        head = bytes(buffer[:end])
        request_line, _, header_block = head.partition(b"\r\n")
        length = 0
        for line in header_block.split(b"\r\n"):
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                length = int(value)
            elif name == b"transfer-encoding":
                answers.append(BAD_REQUEST)
                buffer.clear()
                return answers
        if len(buffer) < end + 4 + length:
            return answers
        del buffer[: end + 4 + length]
        method, _, rest = request_line.partition(b" ")
        path = rest.partition(b" ")[0].partition(b"?")[0]
        answers.append(ANSWERS.get((method, path), NOT_FOUND))


def _serve(sock: socket.socket, ready: Connection) -> None:
    import asyncio

    class Http(asyncio.Protocol):
        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            assert isinstance(transport, asyncio.Transport)
            self.transport = transport
            self.buffer = bytearray()

        def data_received(self, data: bytes) -> None:
            self.buffer += data
            answers = parse_requests(self.buffer)
            if answers:
                self.transport.write(b"".join(answers))
                if answers[-1] is BAD_REQUEST:
                    self.transport.close()

    async def main() -> None:
        loop = asyncio.get_running_loop()
        server = await loop.create_server(Http, sock=sock, backlog=1024)
        ready.send("ready")
        async with server:
            await server.serve_forever()

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
