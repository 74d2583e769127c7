"""Test helpers for code that uses the Soap SDK.

[`FakeSoapServer`][soap_async.testing.FakeSoapServer] is a stateful fake of the Soap API
served over real HTTP on localhost, with fault injection for retry tests.
"""

from soap_async.testing._server import FakeSoapServer, Fault, RecordedRequest

__all__ = ["FakeSoapServer", "Fault", "RecordedRequest"]
