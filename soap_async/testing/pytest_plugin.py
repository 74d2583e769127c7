"""pytest plugin of soap-async (registered through the `pytest11` entry point).

Installing soap-async makes these fixtures available to every test, with no import
and no `conftest.py`:

| fixture | what it gives |
|---|---|
| `soap_server` | a running `FakeSoapServer` in its own thread |
| `soap_client` | a `SoapClient` wired to it |
| `soap_async_client` | an `AsyncSoapClient` wired to it (needs pytest-asyncio) |
| `soap_env` | `SOAP_API_KEY`, `SOAP_BASE_URL` and `SOAP_WEBHOOK_SECRET` set for it |

All are function-scoped: every test gets a fresh, empty server. The clients retry
as usual but never wait between attempts, so injected faults cost no time.

```python
from soap_async.testing import Fault


def test_signup(soap_server, soap_client):
    soap_server.inject(Fault.status(503), method="POST")
    customer = soap_client.customers.create(
        email="ada@example.com", first_name="Ada", last_name="Lovelace"
    )
    assert soap_server.customers[0]["id"] == customer.id
```

A fixture of the same name in your own `conftest.py` replaces the plugin's. To turn
the plugin off, run pytest with `-p no:soap_async`.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from typing import NoReturn

import pytest

from soap_async import AsyncSoapClient, RetryPolicy, SoapClient
from soap_async.testing import (
    SOAP_TEST_API_KEY,
    SOAP_TEST_CLIENT_SECRET,
    SOAP_TEST_WEBHOOK_SECRET,
    FakeSoapServer,
)

__all__ = ["SOAP_TEST_API_KEY", "SOAP_TEST_CLIENT_SECRET", "SOAP_TEST_WEBHOOK_SECRET"]

_NEEDS_PYTEST_ASYNCIO = (
    "The soap_async_client fixture needs pytest-asyncio, which is not installed: "
    "`pip install pytest-asyncio`, then mark the test with @pytest.mark.asyncio or set "
    "asyncio_mode = auto. In a synchronous test, use the soap_client fixture instead."
)


async def _no_sleep(seconds: float) -> None:
    """The retry wait of the fixtures' clients: none, but still a point to cancel at."""
    await asyncio.sleep(0)


def _test_retry_policy() -> RetryPolicy:
    # The SDK's defaults (2 retries, same statuses), minus the waiting.
    return RetryPolicy(sleep=_no_sleep)


@pytest.fixture
def soap_server() -> Iterator[FakeSoapServer]:
    """A running `FakeSoapServer`, fresh for each test, serving from its own thread.

    It works in sync and async tests alike. It accepts the API key `SOAP_TEST_API_KEY`
    ("key_test"), the client secret `SOAP_TEST_CLIENT_SECRET` ("secr_test"), and signs
    webhooks with `SOAP_TEST_WEBHOOK_SECRET` ("wss_test"). Read what it stored with
    `.customers`, `.requests`, ...; make it misbehave with
    `soap_server.inject(Fault.status(503))`; send webhooks with
    `deliver_webhook(url, make_event(...))` (or `deliver_webhook_sync`).
    """
    with FakeSoapServer(
        api_key=SOAP_TEST_API_KEY,
        client_secret=SOAP_TEST_CLIENT_SECRET,
        webhook_secret=SOAP_TEST_WEBHOOK_SECRET,
    ) as server:
        yield server


@pytest.fixture
def soap_client(soap_server: FakeSoapServer) -> Iterator[SoapClient]:
    """A blocking `SoapClient` wired to `soap_server`, closed after the test.

    It retries like the SDK's default policy (2 retries) but without waiting between
    attempts, so injected faults do not slow the test down.
    """
    with SoapClient(
        api_key=SOAP_TEST_API_KEY, base_url=soap_server.url, retry=_test_retry_policy()
    ) as client:
        yield client


@pytest.fixture
def soap_env(soap_server: FakeSoapServer, monkeypatch: pytest.MonkeyPatch) -> FakeSoapServer:
    """Points clients built from the environment at `soap_server`; returns that server.

    Sets `SOAP_API_KEY`, `SOAP_BASE_URL` and `SOAP_WEBHOOK_SECRET` for the test (and
    restores them after), so code that creates its own `SoapClient()` or
    `AsyncSoapClient()` talks to the fake. Such clients keep the SDK's real retry waits.
    """
    monkeypatch.setenv("SOAP_API_KEY", SOAP_TEST_API_KEY)
    monkeypatch.setenv("SOAP_BASE_URL", soap_server.url)
    monkeypatch.setenv("SOAP_WEBHOOK_SECRET", SOAP_TEST_WEBHOOK_SECRET)
    return soap_server


try:
    import pytest_asyncio
except ImportError:

    @pytest.fixture(name="soap_async_client")
    def _soap_async_client_unavailable() -> NoReturn:
        """An `AsyncSoapClient` wired to `soap_server`: needs pytest-asyncio, not installed.

        `pip install pytest-asyncio` to use it; until then, a test that asks for it fails
        with that advice. In a synchronous test, use `soap_client` instead.
        """
        pytest.fail(_NEEDS_PYTEST_ASYNCIO, pytrace=False)

else:

    @pytest_asyncio.fixture(name="soap_async_client")
    async def _soap_async_client(soap_server: FakeSoapServer) -> AsyncIterator[AsyncSoapClient]:
        """An `AsyncSoapClient` wired to `soap_server`, closed after the test.

        An async fixture of pytest-asyncio, on its default fixture loop: the test's own
        loop unless you changed `asyncio_default_fixture_loop_scope`. It retries like the
        SDK's default policy (2 retries) but without waiting between attempts.
        """
        async with AsyncSoapClient(
            api_key=SOAP_TEST_API_KEY, base_url=soap_server.url, retry=_test_retry_policy()
        ) as client:
            yield client
