"""soap-async: the async-first Python SDK for the Soap payments API.

```python
from soap_async import AsyncSoapClient

async with AsyncSoapClient() as soap:       # SOAP_API_KEY from the environment
    customer = await soap.customers.create(
        email="ada@example.com", first_name="Ada", last_name="Lovelace"
    )
```
"""

from ._client import AsyncSoapClient
from ._config import Timeout
from ._retry import RetryPolicy
from ._sync import SoapClient
from ._version import __version__
from .errors import (
    APIConnectionError,
    APIResponseValidationError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    EmailTakenError,
    InternalServerError,
    InvalidRequestError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    SoapError,
    UnprocessableEntityError,
    WebhookVerificationError,
)
from .models import BatchItem, BatchProgress, BatchResult, CreateCustomerRequest, Customer

__all__ = [
    "APIConnectionError",
    "APIResponseValidationError",
    "APIStatusError",
    "APITimeoutError",
    "AsyncSoapClient",
    "AuthenticationError",
    "BatchItem",
    "BatchProgress",
    "BatchResult",
    "CreateCustomerRequest",
    "Customer",
    "EmailTakenError",
    "InternalServerError",
    "InvalidRequestError",
    "NotFoundError",
    "PermissionDeniedError",
    "RateLimitError",
    "RetryPolicy",
    "SoapClient",
    "SoapError",
    "Timeout",
    "UnprocessableEntityError",
    "WebhookVerificationError",
    "__version__",
]
