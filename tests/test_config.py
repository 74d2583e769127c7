"""Client configuration: key lookup, environments, base URL rules, timeouts."""

from __future__ import annotations

import aiohttp
import pytest

from soap_async import AsyncSoapClient, InvalidRequestError, SoapClient, SoapError, Timeout
from soap_async._config import resolve_api_key, resolve_base_url


def test_api_key_comes_from_the_argument_then_the_environment() -> None:
    assert resolve_api_key("key_arg", {"SOAP_API_KEY": "key_env"}) == "key_arg"
    assert resolve_api_key(None, {"SOAP_API_KEY": "key_env"}) == "key_env"


@pytest.mark.parametrize("client_class", [AsyncSoapClient, SoapClient])
def test_a_missing_key_fails_at_construction(
    client_class: type, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SOAP_API_KEY", raising=False)
    with pytest.raises(SoapError, match="SOAP_API_KEY"):
        client_class()


def test_environments() -> None:
    assert resolve_base_url(None, None, {}) == "https://api-sandbox.paywithsoap.com"
    assert resolve_base_url(None, "production", {}) == "https://api.paywithsoap.com"
    assert (
        resolve_base_url(None, None, {"SOAP_ENVIRONMENT": "production"})
        == "https://api.paywithsoap.com"
    )
    with pytest.raises(InvalidRequestError, match="environment must be one of sandbox, production"):
        resolve_base_url(None, "staging", {})


def test_arguments_win_over_the_environment_and_urls_over_names() -> None:
    env = {"SOAP_BASE_URL": "https://proxy.example.com/soap/", "SOAP_ENVIRONMENT": "sandbox"}
    assert resolve_base_url(None, None, env) == "https://proxy.example.com/soap"
    assert resolve_base_url(None, "production", env) == "https://api.paywithsoap.com"
    assert resolve_base_url("http://127.0.0.1:8080", "production", env) == "http://127.0.0.1:8080"


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:9", "http://localhost:9", "http://[::1]:9", "https://x.example"]
)
def test_allowed_base_urls(url: str) -> None:
    assert resolve_base_url(url, None, {}) == url


@pytest.mark.parametrize(
    ("url", "rule"),
    [
        ("http://api.paywithsoap.com", "must use https unless its host is loopback"),
        ("http://10.0.0.5:8080", "must use https unless its host is loopback"),
        ("ftp://example.com", "must be an http"),
        ("api.paywithsoap.com", "must be an http"),
        ("https://example.com/?a=1", "must not have a query"),
    ],
)
def test_refused_base_urls(url: str, rule: str) -> None:
    with pytest.raises(InvalidRequestError, match=rule) as info:
        resolve_base_url(url, None, {})
    assert info.value.field == "base_url"


def test_timeout_maps_to_aiohttp_and_a_number_means_total() -> None:
    assert Timeout.coerce(5).total == 5
    client_timeout = Timeout(connect=1, read=2, total=3).to_aiohttp()
    assert client_timeout == aiohttp.ClientTimeout(total=3, sock_connect=1, sock_read=2)
    with pytest.raises(InvalidRequestError, match=r"Timeout.read must be a number > 0"):
        Timeout(read=0)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"auth_scheme": "basic"}, "auth_scheme"),
        ({"max_connections": 0}, "max_connections"),
        ({"timeout": "5"}, "timeout"),
        ({"retry": 1.5}, "retry"),
        ({"session": 3}, "session"),
    ],
)
def test_bad_client_keywords_name_the_field(kwargs: dict[str, object], field: str) -> None:
    with pytest.raises(InvalidRequestError) as info:
        AsyncSoapClient(api_key="key_test", **kwargs)  # type: ignore[arg-type]
    assert info.value.field == field


async def test_sync_client_refuses_a_ready_made_session() -> None:
    async with aiohttp.ClientSession() as session:
        with pytest.raises(InvalidRequestError, match="needs a function that makes the session"):
            SoapClient(api_key="key_test", session=session)  # type: ignore[arg-type]


def test_repr_never_shows_the_key() -> None:
    key = "key_SECRET_in_repr_0123456789"
    async_client = AsyncSoapClient(api_key=key)
    sync_client = SoapClient(api_key=key)
    try:
        for text in (repr(async_client), repr(sync_client), str(async_client)):
            assert key not in text
            assert "api-sandbox.paywithsoap.com" in text
    finally:
        sync_client.close()
