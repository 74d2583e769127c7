"""One module per Soap resource; each has an async class and its generated sync twin."""

from .customers import AsyncCustomers, Customers

__all__ = ["AsyncCustomers", "Customers"]
