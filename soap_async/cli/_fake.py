"""`soap-async fake-server`: the testing kit's fake Soap API in the foreground."""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import sys
from typing import TYPE_CHECKING

import click

from ._common import Settings, json_option

if TYPE_CHECKING:
    from ..testing import Fault

__all__ = ["demo_faults", "fake_server"]


def demo_faults() -> list[Fault]:
    """The faults of the demo and of `fake-server --fault-rate`.

    The SDK can retry after each safely, and must recover the customers of `drop_after`.
    """
    from ..testing import Fault

    return [
        Fault.status(429, retry_after=0.2),
        Fault.status(503),
        Fault.status(500),
        Fault.drop_before(),
        Fault.drop_after(),  # stored, answer lost: the SDK finds it again by email
    ]


async def _serve(
    settings: Settings, host: str, port: int, api_key: str, fault_rate: float, seed: int
) -> int:
    from ..testing import FakeSoapServer

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    handled: list[signal.Signals] = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(sig, stop.set)
            handled.append(sig)
    try:
        async with FakeSoapServer(api_key=api_key, host=host, port=port) as server:
            if fault_rate > 0:
                server.inject_random(demo_faults(), rate=fault_rate, seed=seed)
            info = {
                "url": server.url,
                "api_key": api_key,
                "webhook_secret": "wss_test",
                "fault_rate": fault_rate,
            }
            if settings.json:
                click.echo(json.dumps(info))
            else:
                click.echo(f"Fake Soap server listening on {server.url}")
                click.echo(f"API key: {api_key} (the fake's key, not a secret)")
                click.echo(
                    f"Try:     SOAP_BASE_URL={server.url} SOAP_API_KEY={api_key} "
                    "soap-async customers search --email ada@example.com"
                )
                if fault_rate > 0:
                    click.echo(f"Faults:  {fault_rate:.0%} of requests (seed {seed})")
                click.echo("Press Ctrl-C to stop.")
            sys.stdout.flush()
            await stop.wait()
            answered = len(server.requests)
    finally:
        for sig in handled:
            loop.remove_signal_handler(sig)
    return answered


@click.command("fake-server", short_help="Run the fake Soap API locally until Ctrl-C.")
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option(
    "--port", type=click.IntRange(0, 65535), default=0, show_default=True, help="0: any free port."
)
@click.option(
    "--api-key",
    "fake_api_key",
    default="key_test",
    show_default=True,
    help="The one key the fake accepts (a test value, printed on start).",
)
@click.option(
    "--fault-rate",
    type=click.FloatRange(0, 1, max_open=True),
    default=0.0,
    show_default=True,
    help="Share of requests answered with a fault (429, 500, 503, dropped connections).",
)
@click.option("--seed", type=int, default=7, show_default=True, help="Seed of the fault draw.")
@json_option
@click.pass_obj
def fake_server(
    settings: Settings, host: str, port: int, fake_api_key: str, fault_rate: float, seed: int
) -> None:
    """Run the fake Soap API (soap_async.testing.FakeSoapServer) until Ctrl-C.

    Point the SDK or this command line at the URL it prints, with its API key.
    """
    try:
        answered = asyncio.run(_serve(settings, host, port, fake_api_key, fault_rate, seed))
    except KeyboardInterrupt:  # where the loop cannot catch SIGINT itself (Windows)
        answered = None
    except OSError as exc:
        raise click.ClickException(f"cannot listen on {host}:{port}: {exc}") from None
    if not settings.json:
        what = "" if answered is None else f" after {answered} request(s)"
        click.echo(f"Stopped{what}.", err=True)
