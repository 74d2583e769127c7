"""`python -m soap_async`: the same as the `soap-async` command (see `soap_async.cli`)."""

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
