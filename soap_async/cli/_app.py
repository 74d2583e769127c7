"""The `soap-async` command group: global options, error handling, `main`."""

from __future__ import annotations

import errno
from collections.abc import Sequence
from typing import Any

import click
from click.core import ParameterSource

from .._version import __version__
from ..errors import SoapError
from ._common import CliError, Settings, describe_error
from ._customers import customers
from ._demo import demo
from ._fake import fake_server
from ._payments import charges, checkouts
from ._webhooks import webhooks

__all__ = ["cli", "main"]


class SoapGroup(click.Group):
    """A group that turns SDK errors into one `Error: ...` line (exit 1), never a traceback,
    and Ctrl-C into exit status 130."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except SoapError as exc:
            raise CliError(describe_error(exc)) from None
        except KeyboardInterrupt:
            click.echo("\nInterrupted.", err=True)
            raise click.exceptions.Exit(130) from None
        except OSError as exc:
            if exc.errno == errno.EPIPE:  # stdout closed early (| head): click handles it
                raise
            raise CliError(str(exc)) from None


@click.group(
    cls=SoapGroup,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.version_option(
    __version__, "--version", prog_name="soap-async", message="%(prog)s %(version)s"
)
@click.option(
    "--api-key",
    envvar="SOAP_API_KEY",
    show_envvar=True,
    show_default=False,
    metavar="KEY",
    help="Your Soap API key. Prefer the environment variable: command lines are visible "
    "to other users. Never printed.",
)
@click.option(
    "--environment",
    type=click.Choice(["sandbox", "production"]),
    envvar="SOAP_ENVIRONMENT",
    show_envvar=True,
    help="Which Soap API to call (default: sandbox).",
)
@click.option(
    "--base-url",
    envvar="SOAP_BASE_URL",
    show_envvar=True,
    metavar="URL",
    help="Call this URL instead (the fake server, a proxy); wins over --environment. "
    "Plain http only for localhost.",
)
@click.option("--json", "json_output", is_flag=True, help="Print JSON, for scripts.")
@click.pass_context
def cli(
    ctx: click.Context,
    api_key: str | None,
    environment: str | None,
    base_url: str | None,
    json_output: bool,
) -> None:
    """The Soap payments API from the command line (soap-async SDK).

    \b
    Try it without an account:  soap-async demo
    Or against a local fake:    soap-async fake-server
    """
    # An explicit --environment beats a SOAP_BASE_URL inherited from the environment,
    # as in the SDK: arguments first, then environment variables.
    if (
        base_url is not None
        and ctx.get_parameter_source("base_url") is ParameterSource.ENVIRONMENT
        and ctx.get_parameter_source("environment") is ParameterSource.COMMANDLINE
    ):
        base_url = None
    ctx.obj = Settings(
        api_key=api_key or None,
        environment=environment,
        base_url=base_url or None,
        json=json_output,
    )


cli.add_command(demo)
cli.add_command(customers)
cli.add_command(checkouts)
cli.add_command(charges)
cli.add_command(webhooks)
cli.add_command(fake_server)


def main(argv: Sequence[str] | None = None) -> int:
    """Run `soap-async` with `argv` (default: the process arguments); the exit status."""
    try:
        cli.main(args=None if argv is None else list(argv), prog_name="soap-async")
    except SystemExit as exc:
        if exc.code is None:
            return 0
        if isinstance(exc.code, int):
            return exc.code
        click.echo(exc.code, err=True)
        return 1
    return 0
