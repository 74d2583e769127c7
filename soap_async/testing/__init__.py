"""Test helpers for code that uses the Soap SDK.

[`FakeSoapServer`][soap_async.testing.FakeSoapServer] is a stateful fake of the Soap API
served over real HTTP on localhost, with fault injection for retry tests. It also signs
and delivers webhook events, which [`make_event`][soap_async.testing.make_event] builds,
to test webhook handlers.

With pytest, the fixtures of `soap_async.testing.pytest_plugin` (`soap_server`,
`soap_client`, `soap_async_client`, `soap_env`) are available as soon as soap-async is
installed.
"""

from soap_async.testing._events import EVENT_TYPES, make_event
from soap_async.testing._server import FakeSoapServer, Fault, RecordedRequest, WebhookDelivery

SOAP_TEST_API_KEY = "key_test"
"""The API key the pytest plugin's `soap_server` accepts (and `FakeSoapServer`'s default)."""

# Well-known credentials of the fake server, not secrets.
SOAP_TEST_CLIENT_SECRET = "secr_test"  # noqa: S105
"""The client secret (for device pings) the pytest plugin's `soap_server` accepts."""

SOAP_TEST_WEBHOOK_SECRET = "wss_test"  # noqa: S105
"""The secret the pytest plugin's `soap_server` signs webhooks with."""

__all__ = [
    "EVENT_TYPES",
    "SOAP_TEST_API_KEY",
    "SOAP_TEST_CLIENT_SECRET",
    "SOAP_TEST_WEBHOOK_SECRET",
    "FakeSoapServer",
    "Fault",
    "RecordedRequest",
    "WebhookDelivery",
    "make_event",
]
