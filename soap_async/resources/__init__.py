"""One module per Soap resource; each has an async class and its generated sync twin."""

from .charges import AsyncCharges, Charges
from .checkouts import AsyncCheckouts, Checkouts
from .customers import AsyncCustomers, Customers
from .device_pings import AsyncDevicePings, DevicePings
from .kyc import AsyncKyc, Kyc

__all__ = [
    "AsyncCharges",
    "AsyncCheckouts",
    "AsyncCustomers",
    "AsyncDevicePings",
    "AsyncKyc",
    "Charges",
    "Checkouts",
    "Customers",
    "DevicePings",
    "Kyc",
]
