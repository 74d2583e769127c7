from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from soap_async.testing import FakeSoapServer

API_KEY = "key_test_0123456789"


@pytest.fixture
async def server() -> AsyncIterator[FakeSoapServer]:
    """The fake Soap server on the test's own event loop."""
    async with FakeSoapServer(api_key=API_KEY) as fake:
        yield fake


@pytest.fixture
def threaded_server() -> Iterator[FakeSoapServer]:
    """The fake Soap server in its own thread, for tests of the sync client."""
    with FakeSoapServer(api_key=API_KEY) as fake:
        yield fake
