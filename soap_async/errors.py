"""Every exception soap-async raises.

```
SoapError
├── InvalidRequestError (also ValueError)   bad input, caught before any network call
├── APIConnectionError                       no response (refused, reset, DNS)
│   └── APITimeoutError
├── APIStatusError                           .status_code .message .body .headers
│   ├── AuthenticationError          401
│   ├── PermissionDeniedError        403
│   ├── NotFoundError                404
│   ├── UnprocessableEntityError     422   (Soap also uses 422 for "not found" charges)
│   │   └── EmailTakenError
│   ├── RateLimitError               429
│   ├── InternalServerError          5xx
│   └── APIResponseValidationError   a 2xx answer that does not have the documented shape
└── WebhookVerificationError
```

No message, repr or attribute built here ever contains the API key: the transport never
passes request headers to an exception.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = [
    "APIConnectionError",
    "APIResponseValidationError",
    "APIStatusError",
    "APITimeoutError",
    "AuthenticationError",
    "EmailTakenError",
    "InternalServerError",
    "InvalidRequestError",
    "NotFoundError",
    "PermissionDeniedError",
    "RateLimitError",
    "SoapError",
    "UnprocessableEntityError",
    "WebhookVerificationError",
]


class SoapError(Exception):
    """Base class of every error raised by soap-async."""


class InvalidRequestError(SoapError, ValueError):
    """Input the SDK refused before sending anything.

    `field` names the offending field (or is `None` when the problem is not about one
    field); the message always states the rule and the value, e.g. `date_of_birth must
    not be in the future, got '2999-01-01'`.
    """

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class APIConnectionError(SoapError):
    """No HTTP response was received: connection refused, reset or dropped, DNS failure.

    `request_sent` is `False` when the request certainly never reached the server
    (connection refused, DNS), and `True` when it may have been processed.
    """

    def __init__(self, message: str = "Connection error.", *, request_sent: bool = True) -> None:
        super().__init__(message)
        self.request_sent = request_sent


class APITimeoutError(APIConnectionError):
    """The request timed out (connect, read or total, per attempt)."""

    def __init__(self, message: str = "Request timed out.", *, request_sent: bool = True) -> None:
        super().__init__(message, request_sent=request_sent)


class APIStatusError(SoapError):
    """Soap answered with an error status.

    Attributes: `status_code`, `message` (Soap's `{"error": ...}` text when present),
    `body` (the decoded JSON body, or the text when it is not JSON) and `headers`.
    """

    def __init__(
        self,
        message: str,
        *,
        status_code: int,
        body: Any = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(f"{status_code}: {message}")
        self.message = message
        self.status_code = status_code
        self.body = body
        self.headers: Mapping[str, str] = headers if headers is not None else {}


class AuthenticationError(APIStatusError):
    """401: the API key is missing or not valid for this environment."""


class PermissionDeniedError(APIStatusError):
    """403: the key may not perform this operation."""


class NotFoundError(APIStatusError):
    """404: no such path or object."""


class UnprocessableEntityError(APIStatusError):
    """422: Soap refused the request (validation, or a charge that is not yours or missing)."""


class EmailTakenError(UnprocessableEntityError):
    """422 `Email has already been taken`: a customer with this email already exists.

    `existing_customer_id` is the id of that customer when the SDK looked it up,
    otherwise `None`.
    """

    existing_customer_id: str | None = None


class RateLimitError(APIStatusError):
    """429: too many requests; retried automatically, raised once retries run out."""


class InternalServerError(APIStatusError):
    """5xx: Soap failed; retried automatically for 500, 502, 503 and 504."""


class APIResponseValidationError(APIStatusError):
    """A successful answer whose body does not have the documented shape."""


class WebhookVerificationError(SoapError):
    """A webhook's signature, timestamp or body could not be verified."""


EMAIL_TAKEN_MESSAGE = "Email has already been taken"

_STATUS_ERRORS: dict[int, type[APIStatusError]] = {
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    422: UnprocessableEntityError,
    429: RateLimitError,
}


def error_message(status_code: int, body: Any) -> str:
    """Soap's `{"error": "..."}` text, or a generic message naming the status."""
    if isinstance(body, dict):
        error = body.get("error")
        if isinstance(error, str) and error:
            return error
    return f"HTTP {status_code}"


def make_status_error(
    status_code: int, body: Any, headers: Mapping[str, str] | None = None
) -> APIStatusError:
    """The `APIStatusError` subclass for an HTTP error answer."""
    message = error_message(status_code, body)
    cls: type[APIStatusError]
    if status_code == 422 and message == EMAIL_TAKEN_MESSAGE:
        cls = EmailTakenError
    elif status_code >= 500:
        cls = InternalServerError
    else:
        cls = _STATUS_ERRORS.get(status_code, APIStatusError)
    return cls(message, status_code=status_code, body=body, headers=headers)
