"""attrs request and response classes, one module per resource."""

from .batch import BatchItem, BatchProgress, BatchResult
from .charges import (
    Card,
    Charge,
    ChargeCustomer,
    ChargeStatus,
    PaymentMethod,
    ThreeDSecure,
    TransactionType,
)
from .checkouts import Checkout, CreateCheckoutRequest, LineItem, SubscriptionData
from .customers import CreateCustomerRequest, Customer, UpdateCustomerRequest
from .device_pings import DevicePing, GeoCheck
from .kyc import KycIdentity, KycUpsertRequest

__all__ = [
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
    "GeoCheck",
    "KycIdentity",
    "KycUpsertRequest",
    "LineItem",
    "PaymentMethod",
    "SubscriptionData",
    "ThreeDSecure",
    "TransactionType",
    "UpdateCustomerRequest",
]
