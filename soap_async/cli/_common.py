"""What every command shares: global settings, output helpers, error messages."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Coroutine, Iterable
from typing import Any, TypeVar

import attrs
import click

from .._client import AsyncSoapClient, SessionArg
from .._convert import converter
from .._retry import RetryPolicy
from ..errors import (
    APIConnectionError,
    AuthenticationError,
    PermissionDeniedError,
    SoapError,
)

__all__ = [
    "NO_API_KEY",
    "CliError",
    "Settings",
    "describe_error",
    "echo_fields",
    "echo_json",
    "json_option",
    "progress_wanted",
    "run_async",
    "to_jsonable",
]

T = TypeVar("T")

NO_API_KEY = (
    "No API key: set the SOAP_API_KEY environment variable or pass --api-key "
    "(before the subcommand: soap-async --api-key KEY customers ...)."
)


class CliError(click.ClickException):
    """A failure reported as one `Error: ...` line on stderr, exit code 1."""

    exit_code = 1


@attrs.frozen
class Settings:
    """The global options, handed to every subcommand through `ctx.obj`.

    The API key is kept out of the repr, like everywhere else in the SDK.
    """

    api_key: str | None = attrs.field(repr=False)
    environment: str | None
    base_url: str | None
    json: bool

    def client(
        self, *, retry: RetryPolicy | int | None = None, session: SessionArg = None
    ) -> AsyncSoapClient:
        """An `AsyncSoapClient` for these settings; a usage error when no key is set."""
        if self.api_key is None or not self.api_key.strip():
            raise click.UsageError(NO_API_KEY, ctx=click.get_current_context(silent=True))
        kwargs: dict[str, Any] = {}
        if retry is not None:
            kwargs["retry"] = retry
        if session is not None:
            kwargs["session"] = session
        return AsyncSoapClient(
            api_key=self.api_key,
            environment=self.environment,
            base_url=self.base_url,
            **kwargs,
        )


def _json_flag(ctx: click.Context, param: click.Parameter, value: bool) -> None:
    if value and isinstance(ctx.obj, Settings):
        ctx.obj = attrs.evolve(ctx.obj, json=True)


json_option = click.option(
    "--json",
    is_flag=True,
    expose_value=False,
    callback=_json_flag,
    help="Print JSON for scripts (same as the global --json).",
)
"""`--json` on a subcommand, the same as `soap-async --json ...`."""


def run_async(coro: Coroutine[Any, Any, T]) -> T:
    """Run one command's async work on a fresh event loop."""
    return asyncio.run(coro)


def describe_error(error: SoapError) -> str:
    """The one-line message of an SDK error, with a hint where one helps.

    SDK messages never contain the API key, so neither does this.
    """
    if isinstance(error, AuthenticationError):
        return (
            f"authentication failed (HTTP 401: {error.message}). Check the API key "
            "(SOAP_API_KEY or --api-key) and that it belongs to this environment "
            "(--environment, --base-url)."
        )
    if isinstance(error, PermissionDeniedError):
        return f"permission denied (HTTP 403: {error.message}): this key may not do that."
    if isinstance(error, APIConnectionError):
        return f"{error} Check --base-url / --environment and your network."
    return str(error)


def to_jsonable(value: Any) -> Any:
    """An attrs model as the JSON Soap sent (dates as ISO 8601 strings, no nulls)."""
    return converter.unstructure(value)


def echo_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, ensure_ascii=False, default=str))


def echo_fields(rows: Iterable[tuple[str, object]]) -> None:
    """Aligned `key  value` lines (values that are None are left out)."""
    shown = [(key, value) for key, value in rows if value is not None]
    width = max((len(key) for key, _ in shown), default=0)
    for key, value in shown:
        click.echo(f"{key.ljust(width)}  {value}")


def progress_wanted(setting: bool | None, json_output: bool) -> bool:
    """Whether to draw a progress bar: asked for, or (by default) only on a terminal."""
    if setting is not None:
        return setting
    if json_output:
        return False
    return sys.stdout.isatty() and sys.stderr.isatty()
