"""Check traffic recorded by the fake Soap server against the API contract.

The contract is ``tests/spec/soap-openapi.yaml``, a verbatim copy of
``../shared/api/soap-openapi.yaml`` kept in the repository so that a clean clone can
run the checks (``test_contract_server.py`` fails when the two drift apart).

[`assert_matches_spec`][tests.contract.assert_matches_spec] checks both sides of every
exchange:

- the request (method, path, path and query parameters, JSON body, and the presence of
  the Authorization header the operation's security schemes declare), with
  openapi-core. A request that breaks the contract is allowed only when the fake
  refused it: 404 for an unknown route, 401 for a missing credential, 401 or 422 for
  anything else. A fake that accepts what the contract forbids, or a client that sends
  it, fails the check;
- the answer: a 200 against the operation's declared response, and every 401, 404 or
  422 against the Error schema (the contract does not declare them on every
  operation, though Soap answers them everywhere). Any other status is reported,
  except on exchanges a fault touched or that got no answer, whose answer is not
  checked;
- optionally, the credential's value: given `api_key` and `client_secret`, a request
  carrying the one its operation's security scheme names (the API key for
  BearerApiKey / RawApiKey, the client secret for ClientSecret, raw or after
  ``Bearer ``) must not get a 401, and any other must.

[`assert_event_matches_spec`][tests.contract.assert_event_matches_spec] checks a webhook
event (and its signature header) against the contract's ``webhooks``.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import yaml
from openapi_core import OpenAPI
from openapi_core.templating.paths.exceptions import PathError
from openapi_core.testing import MockRequest, MockResponse
from openapi_core.validation.request.exceptions import (
    RequestBodyValidationError,
    SecurityValidationError,
)
from openapi_core.validation.request.validators import (
    V31WebhookRequestBodyValidator,
    V31WebhookRequestParametersValidator,
)
from openapi_core.validation.response.exceptions import DataValidationError
from openapi_schema_validator import OAS31Validator

from soap_async.testing import RecordedRequest

SPEC_PATH = Path(__file__).parent / "spec" / "soap-openapi.yaml"
"""The repository's copy of the contract."""

# openapi-core matches requests against the spec's servers; any of them will do.
_HOST = "https://api-sandbox.paywithsoap.com"
_SIGNATURE_HEADER = "SOAP-WEBHOOK-SIGNATURE"
# Statuses whose body must be an Error, whether or not the operation declares them.
_ERROR_STATUSES = (401, 404, 422)
# Which credential each security scheme of the contract takes.
_SCHEME_CREDENTIAL = {
    "BearerApiKey": "api_key",
    "RawApiKey": "api_key",
    "ClientSecret": "client_secret",
}
_MAX_DETAIL = 200


@functools.cache
def _document() -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load(SPEC_PATH.read_text(encoding="utf-8"))
    return document


@functools.cache
def _openapi() -> OpenAPI:
    return OpenAPI.from_file_path(str(SPEC_PATH))


@functools.cache
def _error_validator() -> OAS31Validator:
    return OAS31Validator(_document()["components"]["schemas"]["Error"])


def assert_matches_spec(
    recorded: Iterable[RecordedRequest],
    *,
    api_key: str | None = None,
    client_secret: str | None = None,
) -> None:
    """Fail with every way the recorded exchanges break the contract.

    Args:
        recorded: exchanges, e.g. `server.requests`.
        api_key: the fake's API key; with `client_secret`, enables the check of
            credential values (see the module docstring).
        client_secret: the fake's dashboard client secret.

    Raises:
        AssertionError: one line per problem, naming the exchange (index, method,
            path, query, status) and what failed.
    """
    credentials = {"api_key": api_key, "client_secret": client_secret}
    problems: list[str] = []
    exchanges = list(recorded)
    for index, exchange in enumerate(exchanges):
        where = _label(index, exchange)
        problems.extend(f"{where}: {problem}" for problem in _problems(exchange, credentials))
    if problems:
        count = f"{len(problems)} problem(s) in {len(exchanges)} recorded exchange(s)"
        raise AssertionError(f"{count} against {SPEC_PATH.name}:\n  " + "\n  ".join(problems))


def assert_event_matches_spec(
    event: Mapping[str, Any] | bytes,
    *,
    signature: str | None = None,
    header: str = _SIGNATURE_HEADER,
) -> None:
    """Fail unless `event` (a dict, or the exact body bytes) is a valid delivery of its
    type under the contract's ``webhooks``; with `signature`, check the signature
    header's format too.

    The contract's top-level API-key security is not applied: webhooks are signed, not
    authenticated with a key.
    """
    body = event if isinstance(event, bytes) else json.dumps(event).encode()
    name = json.loads(body).get("type")
    request = _webhook_request(name, body, {} if signature is None else {header: signature})
    validators = [V31WebhookRequestBodyValidator(_openapi().spec)]
    if signature is not None:
        validators.append(V31WebhookRequestParametersValidator(_openapi().spec))
    problems = [_describe(error) for v in validators for error in v.iter_errors(request)]
    if problems:
        raise AssertionError(
            f"webhook {name!r} breaks {SPEC_PATH.name}:\n  " + "\n  ".join(problems)
        )


# --------------------------------------------------------------------------- exchanges


def _problems(exchange: RecordedRequest, credentials: Mapping[str, str | None]) -> Iterator[str]:
    request = _mock_request(exchange)
    errors = list(_openapi().iter_request_errors(request))
    answered = exchange.fault is None and exchange.status is not None
    if errors:
        refusals = _refusals(errors)
        if not answered:
            verdict = "and no refusal was recorded"
        elif exchange.status in refusals:
            verdict = ""
        else:
            verdict = f"yet it was answered {exchange.status}, not {_alternatives(refusals)}"
        if verdict:
            for error in errors:
                yield f"request breaks the contract ({_describe(error)}) {verdict}"
    if not answered:
        return
    assert exchange.status is not None
    if exchange.status in _ERROR_STATUSES:
        for schema_error in _error_validator().iter_errors(exchange.response):
            yield f"answer is not an Error: {_schema_detail(schema_error)}"
    elif exchange.status == 200:
        if not errors:
            answer = MockResponse(json.dumps(exchange.response).encode(), status_code=200)
            for error in _openapi().iter_response_errors(request, answer):
                yield f"answer breaks the contract: {_describe(error)}"
    else:
        yield f"answer status {exchange.status} is neither 200 nor an error status of Soap"
    yield from _credential_problems(exchange, credentials)


def _credential_problems(
    exchange: RecordedRequest, credentials: Mapping[str, str | None]
) -> Iterator[str]:
    schemes = _security_schemes(exchange.method, exchange.path)
    kinds = {_SCHEME_CREDENTIAL[scheme] for scheme in schemes}
    if len(kinds) != 1:
        return  # an unknown route, or a mix the check cannot decide
    (kind,) = kinds
    secret = credentials.get(kind)
    if secret is None:
        return
    header = _header(exchange.headers, "Authorization")
    right = header in (secret, f"Bearer {secret}")
    schemes_text = " or ".join(sorted(schemes))
    if right and exchange.status == 401:
        yield f"the right credential ({schemes_text}) was refused with a 401"
    elif not right and exchange.status != 401:
        shown = "no Authorization header" if header is None else f"Authorization {header!r}"
        yield f"{shown} is not the {schemes_text} credential, yet answered {exchange.status}"


def _refusals(errors: Iterable[Exception]) -> set[int]:
    """The statuses that may answer a request with these contract errors."""
    statuses = set()
    for error in errors:
        if isinstance(error, PathError):
            statuses.add(404)
        elif isinstance(error, SecurityValidationError):
            statuses.add(401)
        else:
            statuses.update((401, 422))
    return statuses


@functools.cache
def _path_templates() -> list[tuple[re.Pattern[str], str]]:
    """Regexes of the contract's paths, literal paths first (they win over templates)."""
    paths = sorted(_document()["paths"], key=lambda path: "{" in path)
    return [(_template_regex(path), path) for path in paths]


def _template_regex(template: str) -> re.Pattern[str]:
    parts = template.split("/")
    return re.compile("/".join("[^/]+" if "{" in part else re.escape(part) for part in parts))


def _security_schemes(method: str, path: str) -> set[str]:
    document = _document()
    for pattern, template in _path_templates():
        if pattern.fullmatch(path):
            operation = document["paths"][template].get(method.lower())
            if operation is None:
                return set()
            requirements = operation.get("security", document.get("security", []))
            return {scheme for requirement in requirements for scheme in requirement}
    return set()


def _mock_request(exchange: RecordedRequest) -> MockRequest:
    content_type = _header(exchange.headers, "Content-Type") or "application/json"
    return MockRequest(
        _HOST,
        exchange.method,
        exchange.path,
        args=dict(exchange.query),
        headers=dict(exchange.headers),
        data=None if exchange.json is None else json.dumps(exchange.json).encode(),
        content_type=content_type,
    )


def _webhook_request(name: str, body: bytes, headers: Mapping[str, str]) -> MockRequest:
    """A delivery as openapi-core's WebhookRequest protocol wants it: a request with the
    webhook's name instead of a URL."""
    request = MockRequest(_HOST, "post", "", headers=dict(headers), data=body)
    request.name = name  # type: ignore[attr-defined]
    return request


# --------------------------------------------------------------------------- messages


def _label(index: int, exchange: RecordedRequest) -> str:
    query = "&".join(f"{key}={value}" for key, value in exchange.query.items())
    target = exchange.path + (f"?{query}" if query else "")
    outcome = "no answer" if exchange.status is None else str(exchange.status)
    fault = f", fault {exchange.fault}" if exchange.fault else ""
    return f"#{index} {exchange.method} {target} -> {outcome}{fault}"


def _describe(error: Exception) -> str:
    """One line: what failed, then each schema violation with where it is."""
    if isinstance(error, RequestBodyValidationError):
        headline = "request body"
    elif isinstance(error, DataValidationError):
        headline = "response body"
    else:
        headline = str(error)
    details = list(getattr(error.__cause__, "schema_errors", None) or ())
    if not details:
        return str(error)
    return f"{headline}: " + "; ".join(_schema_detail(detail) for detail in details)


def _schema_detail(error: Exception) -> str:
    """`at $.path: message` for a jsonschema error, else the error's text."""
    where, message = getattr(error, "json_path", None), getattr(error, "message", None)
    if where is None or message is None:
        return _short(str(error))
    return f"at {where}: {_short(message)}"


def _short(text: str) -> str:
    return text if len(text) <= _MAX_DETAIL else text[: _MAX_DETAIL - 3] + "..."


def _alternatives(statuses: Iterable[int]) -> str:
    return " or ".join(str(status) for status in sorted(statuses))


def _header(headers: Mapping[str, str], name: str) -> str | None:
    for key, value in headers.items():
        if key.lower() == name.lower():
            return value
    return None
