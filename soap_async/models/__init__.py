"""attrs request and response classes, one module per resource."""

from .batch import BatchItem, BatchProgress, BatchResult
from .customers import CreateCustomerRequest, Customer

__all__ = ["BatchItem", "BatchProgress", "BatchResult", "CreateCustomerRequest", "Customer"]
