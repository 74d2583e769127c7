"""The `soap-async` command line (install the `cli` extra: `pip install 'soap-async[cli]'`).

`main` is the console script's entry point and `python -m soap_async`'s; `cli` is the
click command group (for `click.testing.CliRunner`).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

__all__ = ["cli", "main"]

_MISSING = (
    "The soap-async command line needs the 'cli' extra (click and rich): "
    "pip install 'soap-async[cli]'"
)


def main(argv: Sequence[str] | None = None) -> int:
    """Run `soap-async` with `argv` (default: the process arguments); the exit status."""
    try:
        from ._app import main as run
    except ModuleNotFoundError as exc:
        if (exc.name or "").partition(".")[0] not in ("click", "rich"):
            raise
        print(_MISSING, file=sys.stderr)
        return 1
    return run(argv)


def __getattr__(name: str) -> Any:
    if name == "cli":
        from ._app import cli

        return cli
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
