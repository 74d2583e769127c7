"""The pytest plugin, as a user gets it: loaded through the `pytest11` entry point.

Each test writes a small user test file and runs pytest on it in a subprocess, so the
plugin is found the way it is in a project that merely installed soap-async.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

pytest_plugins = ["pytester"]

INI = """
[pytest]
asyncio_mode = {mode}
asyncio_default_fixture_loop_scope = function
filterwarnings = error
"""


@pytest.fixture
def user_project(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    """A pytester project configured like a user's, with plugin autoloading on."""
    monkeypatch.delenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", raising=False)
    for name in ("SOAP_API_KEY", "SOAP_BASE_URL", "SOAP_ENVIRONMENT", "SOAP_WEBHOOK_SECRET"):
        monkeypatch.delenv(name, raising=False)
    pytester.makeini(INI.format(mode="auto"))
    return pytester


def run(project: pytest.Pytester, *args: str) -> pytest.RunResult:
    return project.runpytest_subprocess("-p", "no:cacheprovider", *args)


def test_sync_client_creates_a_customer_the_server_stores(user_project: pytest.Pytester) -> None:
    user_project.makepyfile(
        test_user="""
        import pytest

        from soap_async import SoapError

        CLIENTS = []


        def test_create(soap_server, soap_client):
            customer = soap_client.customers.create(
                email="ada@example.com", first_name="Ada", last_name="Lovelace"
            )
            assert [c["id"] for c in soap_server.customers] == [customer.id]
            assert soap_server.requests[0].headers["Authorization"] == "Bearer key_test"
            assert soap_client.base_url == soap_server.url
            CLIENTS.append(soap_client)


        def test_each_test_gets_a_fresh_server_and_a_closed_old_client(soap_server):
            assert soap_server.customers == []
            with pytest.raises(SoapError, match="closed"):
                CLIENTS[0].customers.search(email="ada@example.com")
        """
    )
    result = run(user_project)
    result.assert_outcomes(passed=2)


@pytest.mark.parametrize("mode", ["auto", "strict"])
def test_async_client_on_the_tests_loop(user_project: pytest.Pytester, mode: str) -> None:
    user_project.makeini(INI.format(mode=mode))
    user_project.makepyfile(
        test_user="""
        import asyncio

        import pytest

        from soap_async import AsyncSoapClient, SoapError
        from soap_async.testing import make_event

        CLIENTS = []


        @pytest.mark.asyncio
        async def test_create(soap_server, soap_async_client):
            assert isinstance(soap_async_client, AsyncSoapClient)
            customer = await soap_async_client.customers.create(
                email="ada@example.com", first_name="Ada", last_name="Lovelace"
            )
            assert soap_server.customer_by_email("ADA@example.com")["id"] == customer.id
            CLIENTS.append((soap_async_client, asyncio.get_running_loop()))


        @pytest.mark.asyncio
        async def test_the_client_was_closed_after_the_test(soap_server):
            client, loop = CLIENTS[0]
            assert loop is not asyncio.get_running_loop()
            with pytest.raises(SoapError, match="closed"):
                await client.customers.search(email="ada@example.com")


        @pytest.mark.asyncio
        async def test_async_delivery_from_the_threaded_server(soap_server):
            status = await soap_server.deliver_webhook(
                soap_server.url + "/not-a-webhook", make_event("checkout.succeeded")
            )
            assert status == 404
        """
    )
    result = run(user_project)
    result.assert_outcomes(passed=3)


def test_injected_faults_are_retried_without_waiting(user_project: pytest.Pytester) -> None:
    user_project.makepyfile(
        test_user="""
        import time

        from soap_async.testing import Fault


        def test_sync(soap_server, soap_client):
            soap_server.inject(Fault.status(503, retry_after=10), method="POST")
            soap_server.inject(Fault.drop_after(), method="POST")
            start = time.monotonic()
            soap_client.customers.create(
                email="ada@example.com", first_name="Ada", last_name="Lovelace"
            )
            assert time.monotonic() - start < 5
            assert [r.fault for r in soap_server.requests if r.method == "POST"] == [
                "status_503", "drop_after", None
            ]
            assert len(soap_server.customers) == 1


        async def test_async(soap_server, soap_async_client):
            soap_server.inject(Fault.status(429, retry_after=10), times=2)
            start = time.monotonic()
            await soap_async_client.customers.search(email="ada@example.com")
            assert time.monotonic() - start < 5
            assert [r.status for r in soap_server.requests] == [429, 429, 200]
        """
    )
    result = run(user_project)
    result.assert_outcomes(passed=2)


def test_soap_env_points_code_that_builds_its_own_client_at_the_fake(
    user_project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    # What the developer's shell may hold; soap_env must win, then restore it.
    monkeypatch.setenv("SOAP_API_KEY", "key_live_do_not_use")
    monkeypatch.setenv("SOAP_BASE_URL", "https://api.paywithsoap.com")
    user_project.makepyfile(
        app="""
        from soap_async import AsyncSoapClient, SoapClient


        def signup(email):
            with SoapClient() as soap:
                return soap.customers.create(email=email, first_name="Ada", last_name="L")


        async def signup_async(email):
            async with AsyncSoapClient() as soap:
                return await soap.customers.create(email=email, first_name="Ada", last_name="L")
        """,
        test_user="""
        import os

        from app import signup, signup_async


        def test_sync(soap_env, soap_server):
            assert soap_env is soap_server
            assert os.environ["SOAP_BASE_URL"] == soap_server.url
            assert os.environ["SOAP_API_KEY"] == "key_test"
            assert os.environ["SOAP_WEBHOOK_SECRET"] == "wss_test"
            customer = signup("ada@example.com")
            assert soap_server.customers[0]["id"] == customer.id


        async def test_async(soap_env):
            customer = await signup_async("grace@example.com")
            assert soap_env.customer_by_email("grace@example.com")["id"] == customer.id


        def test_environment_restored_afterwards():
            assert os.environ["SOAP_API_KEY"] == "key_live_do_not_use"
            assert os.environ["SOAP_BASE_URL"] == "https://api.paywithsoap.com"
            assert "SOAP_WEBHOOK_SECRET" not in os.environ
        """,
    )
    result = run(user_project)
    result.assert_outcomes(passed=3)


def test_a_failing_user_assertion_is_reported_as_a_failure(
    user_project: pytest.Pytester,
) -> None:
    user_project.makepyfile(
        test_user="""
        from soap_async.testing import Fault


        def test_sync(soap_server, soap_client):
            soap_client.customers.create(
                email="ada@example.com", first_name="Ada", last_name="Lovelace"
            )
            assert len(soap_server.customers) == 2, "sync: expected two customers"


        async def test_async(soap_server, soap_async_client):
            await soap_async_client.customers.create(
                email="ada@example.com", first_name="Ada", last_name="Lovelace"
            )
            assert soap_server.customers == [], "async: expected no customer"


        def test_api_error(soap_server, soap_client):
            soap_server.inject(Fault.status(500), times=3)
            soap_client.customers.search(email="ada@example.com")


        def test_env(soap_env):
            assert soap_env.customers, "env: expected a customer"
        """
    )
    result = run(user_project)
    result.assert_outcomes(failed=4)
    result.stdout.fnmatch_lines(
        [
            "*AssertionError: sync: expected two customers*",
            "*AssertionError: async: expected no customer*",
            "*InternalServerError: 500: Internal Server Error*",
            "*AssertionError: env: expected a customer*",
        ]
    )


def test_fixtures_are_listed_with_their_docstrings(user_project: pytest.Pytester) -> None:
    result = run(user_project, "--fixtures", "-v")
    assert result.ret == pytest.ExitCode.OK
    result.stdout.fnmatch_lines(
        [
            "*fixtures defined from soap_async.testing.pytest_plugin*",
            "soap_async_client -- *pytest_plugin.py:*",
            "    An `AsyncSoapClient` wired to `soap_server`, closed after the test.",
            "soap_server -- *pytest_plugin.py:*",
            "    A running `FakeSoapServer`, fresh for each test, serving from its own thread.",
            "*SOAP_TEST_API_KEY*",
            "soap_client -- *pytest_plugin.py:*",
            "    A blocking `SoapClient` wired to `soap_server`, closed after the test.",
            "*without waiting between*",
            "soap_env -- *pytest_plugin.py:*",
            "    Points clients built from the environment at `soap_server`; returns that server.",
        ],
        consecutive=False,
    )


def test_without_pytest_asyncio_the_async_fixture_says_what_to_install(
    user_project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A pytest_asyncio that cannot be imported, first on the path: as if not installed.
    shadow = user_project.mkdir("shadow")
    (shadow / "pytest_asyncio").mkdir()
    (shadow / "pytest_asyncio" / "__init__.py").write_text(
        'raise ImportError("No module named pytest_asyncio (simulated)")\n'
    )
    monkeypatch.setenv("PYTHONPATH", str(shadow))
    user_project.makeini("[pytest]\nfilterwarnings = error\n")
    user_project.makepyfile(
        test_user="""
        def test_async_client(soap_async_client):
            pass


        def test_the_other_fixtures_still_work(soap_server, soap_client):
            soap_client.customers.create(
                email="ada@example.com", first_name="Ada", last_name="Lovelace"
            )
            assert len(soap_server.customers) == 1
        """
    )
    result = run(user_project, "-p", "no:asyncio")
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(
        ["*The soap_async_client fixture needs pytest-asyncio, which is not installed*"]
    )


def test_the_plugin_imports_without_pytest_asyncio_or_aiohttp_test_utils() -> None:
    code = textwrap.dedent(
        """
        import sys

        sys.modules["pytest_asyncio"] = None  # import now raises ImportError
        sys.modules["aiohttp.test_utils"] = None
        import soap_async.testing.pytest_plugin as plugin

        assert plugin.SOAP_TEST_API_KEY == "key_test"
        """
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
