"""Test helpers for code that uses the Soap SDK.

[`FakeSoapServer`][soap_async.testing.FakeSoapServer] is a stateful fake of the Soap API
served over real HTTP on localhost, with fault injection for retry tests. It also signs
and delivers webhook events, which [`make_event`][soap_async.testing.make_event] builds,
to test webhook handlers.
"""

from soap_async.testing._events import EVENT_TYPES, make_event
from soap_async.testing._server import FakeSoapServer, Fault, RecordedRequest, WebhookDelivery

__all__ = [
    "EVENT_TYPES",
    "FakeSoapServer",
    "Fault",
    "RecordedRequest",
    "WebhookDelivery",
    "make_event",
]
