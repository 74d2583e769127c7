"""attrs request and response classes, one module per resource."""

from .customers import CreateCustomerRequest, Customer

__all__ = ["CreateCustomerRequest", "Customer"]
