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
from .models import (
    BatchItem,
    BatchProgress,
    BatchResult,
    Card,
    Charge,
    ChargeCustomer,
    ChargeStatus,
    Checkout,
    CreateCheckoutRequest,
    CreateCustomerRequest,
    Customer,
    DevicePing,
    GeoCheck,
    KycIdentity,
    KycUpsertRequest,
    LineItem,
    PaymentMethod,
    SubscriptionData,
    ThreeDSecure,
    TransactionType,
    UpdateCustomerRequest,
)

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
    "Card",
    "Charge",
    "ChargeCustomer",
    "ChargeStatus",
    "Checkout",
    "CreateCheckoutRequest",
    "CreateCustomerRequest",
    "Customer",
    "DevicePing",
    "EmailTakenError",
    "GeoCheck",
    "InternalServerError",
    "InvalidRequestError",
    "KycIdentity",
    "KycUpsertRequest",
    "LineItem",
    "NotFoundError",
    "PaymentMethod",
    "PermissionDeniedError",
    "RateLimitError",
    "RetryPolicy",
    "SoapClient",
    "SoapError",
    "SubscriptionData",
    "ThreeDSecure",
    "Timeout",
    "TransactionType",
    "UnprocessableEntityError",
    "UpdateCustomerRequest",
    "WebhookVerificationError",
    "__version__",
]
