"""Logging: what records carry, and that no key or body ever reaches a log, error or repr."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import textwrap

import pytest

from soap_async import AsyncSoapClient, SoapClient, SoapError
from soap_async.testing import FakeSoapServer, Fault

from .conftest import API_KEY
from .helpers import FakeClock

SECRET = "key_PLANTED_SECRET_7f3a9c1e5b"
EMAIL = "private.person@example.com"


async def test_no_key_or_body_in_logs_errors_or_reprs(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="soap_async")
    texts: list[str] = []
    async with FakeSoapServer(api_key=SECRET) as server:
        server.inject(Fault.status(503))
        server.inject(Fault.drop_before())
        server.inject(Fault.delay(0.3), times=1)
        server.inject(Fault.status(500), times=5)
        async with AsyncSoapClient(
            api_key=SECRET, base_url=server.url, retry=FakeClock().policy(max_retries=3)
        ) as soap:
            texts.append(repr(soap))
            fields = {"email": EMAIL, "first_name": "Private", "last_name": "Person"}
            await soap.customers.create(**fields, phone_number="8005550199")  # 503, drop, ok
            for call in (
                lambda: soap.customers.create(**fields, timeout=0.1, retry=0),  # timeout
                lambda: soap.customers.create(**fields),  # 500 x4: InternalServerError
                lambda: soap.customers.create(**fields),  # 422 email taken
            ):
                with pytest.raises(SoapError) as info:
                    await call()
                texts += [str(info.value), repr(info.value), repr(info.value.__dict__)]
        async with AsyncSoapClient(api_key="key_wrong", base_url=server.url) as other:
            with pytest.raises(SoapError) as info:
                await other.customers.create(**fields)
            texts += [str(info.value), repr(info.value.__dict__)]

    records = caplog.records
    assert records, "the client logged nothing at DEBUG"
    for record in records:
        texts += [record.getMessage(), repr(record.__dict__)]
    for text in texts:
        assert SECRET not in text
        assert EMAIL not in text
        assert "8005550199" not in text

    first = next(r for r in records if r.levelno == logging.INFO)
    assert first.soap_method == "POST"  # type: ignore[attr-defined]
    assert first.soap_path == "/api/v1/customers"  # type: ignore[attr-defined]
    assert first.soap_status == 503  # type: ignore[attr-defined]
    assert first.soap_attempt == 1  # type: ignore[attr-defined]
    assert isinstance(first.soap_elapsed_ms, float)  # type: ignore[attr-defined]
    assert any(r.getMessage().startswith("POST /api/v1/customers -> 200") for r in records)


def test_soap_log_env_turns_logging_on(threaded_server: FakeSoapServer) -> None:
    script = textwrap.dedent(
        f"""
        from soap_async import SoapClient
        with SoapClient(api_key={API_KEY!r}, base_url={threaded_server.url!r}) as soap:
            soap.customers.create(email={EMAIL!r}, first_name="P", last_name="Q")
        """
    )
    env = {**os.environ, "SOAP_LOG": "debug"}
    result = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=30,
        env=env,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "POST /api/v1/customers -> 200 (attempt 1" in result.stderr
    assert EMAIL not in result.stderr
    assert API_KEY not in result.stderr


def test_sync_client_repr_hides_the_key() -> None:
    soap = SoapClient(api_key=SECRET)
    try:
        assert SECRET not in repr(soap)
        assert SECRET not in repr(soap.__dict__)
    finally:
        soap.close()
