"""The `soap_async` logger; `SOAP_LOG=debug|info` turns it on for quick debugging.

Records carry the method, path (never the query string, which can hold an email),
status, attempt and elapsed time. Bodies and headers are never logged: they hold
personal data and the API key.
"""

from __future__ import annotations

import logging
import os

logger = logging.getLogger("soap_async")

_LEVELS = {"debug": logging.DEBUG, "info": logging.INFO}
_configured = False


def setup_from_environment() -> None:
    """Attach a stderr handler when `SOAP_LOG` asks for one (once per process)."""
    global _configured
    if _configured:
        return
    _configured = True
    level = _LEVELS.get(os.environ.get("SOAP_LOG", "").strip().lower())
    if level is None:
        return
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("[%(asctime)s %(levelname)s %(name)s] %(message)s"))
    logger.addHandler(handler)
    logger.setLevel(level)
