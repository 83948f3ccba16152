"""Domain errors. Each maps to one HTTP status in ``apihub.api.app`` (one place)."""

from __future__ import annotations


class ApihubError(Exception):
    """Base class for every error the domain raises on purpose."""

    status_code = 500

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class NotFound(ApihubError):
    status_code = 404


class JobNotFound(NotFound):
    def __init__(self, job_id: str = "") -> None:
        super().__init__("Job not found")
        self.job_id = job_id


class SupplierNotFound(NotFound):
    def __init__(self, supplier_ref: str = "") -> None:
        super().__init__("Supplier not found")
        self.supplier_ref = supplier_ref


class ProductNotFound(NotFound):
    def __init__(self) -> None:
        super().__init__("Product not found")


class PricingNotFound(NotFound):
    def __init__(self) -> None:
        super().__init__("pricing: no pricing stored for this product (a prices job reads it)")


class MarkupRuleNotFound(NotFound):
    def __init__(self) -> None:
        super().__init__("Markup rule not found")


class InventoryNotFound(NotFound):
    def __init__(self) -> None:
        super().__init__(
            "Inventory not found: no stock stored for this product (run an inventory import, or ask with max_age_s)"
        )


class Conflict(ApihubError):
    status_code = 409


class ImportAlreadyRunning(Conflict):
    def __init__(self, supplier_name: str, mode: str, job_id: str) -> None:
        super().__init__(f"import already running for supplier '{supplier_name}' mode '{mode}' (job {job_id})")
        self.job_id = job_id


class SupplierNotImportable(Conflict):
    """The supplier exists but cannot be imported (no adapter, inactive)."""


class InvalidTransition(Conflict):
    """A job status change the state machine does not allow (e.g. any change to a terminal job)."""


class ConcurrentChange(Conflict):
    """A write that kept losing to concurrent writes of the same item; the caller may try again."""


class BadRequest(ApihubError):
    """A request the API cannot act on at all (e.g. a cursor it did not issue for this list)."""

    status_code = 400


class InvalidCursor(BadRequest):
    """``next_token`` was not issued by this stack for this list and its filters (or was altered)."""


class InvalidInput(ApihubError):
    """Semantically invalid input that the schema could not catch; the message names the field and the rule."""

    status_code = 422


class ServiceUnavailable(ApihubError):
    status_code = 503


class ServiceBusy(ServiceUnavailable):
    """AWS stayed contended (transaction conflicts, throttling, 5xx) past the retry bound
    (``apihub.dal.retries``). The API answers 503 with ``Retry-After: retry_after_s``."""

    def __init__(self, detail: str, retry_after_s: int = 1) -> None:
        super().__init__(detail)
        self.retry_after_s = max(1, int(retry_after_s))


# --- adapter error classes (docs/architecture.md, Invariants: the adapter error classes) -------------------------------------------------


class AdapterError(Exception):
    """Base for errors raised by supplier adapters. ``str(err)`` never contains credentials."""

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code

    def describe(self) -> str:
        """The ``"<ErrorClass>: <message>"`` text stored on the job (docs/architecture.md, Invariants: the job's public shape)."""
        return f"{type(self).__name__}: {self.message}"


class AuthError(AdapterError):
    """Credentials rejected: fatal for the whole job."""


class ProductError(AdapterError):
    """This product cannot be imported; the job goes on."""


class TransientError(AdapterError):
    """Worth retrying later (timeouts, 5xx, throttling). ``retry_after`` is a hint in seconds."""

    def __init__(self, message: str, *, code: str | None = None, retry_after: float | None = None) -> None:
        super().__init__(message, code=code)
        self.retry_after = retry_after


class DiscoveryError(AdapterError):
    """The supplier's listing cannot be trusted to end (a page that repeats what came before, or one
    past the page cap). Raised by discovery, not by an adapter; fatal for the whole job."""


class Throttled(Exception):
    """Our own per-supplier limiter says wait. Deliberately not an ``AdapterError``: adapters that
    turn supplier errors into notes must let it through, and it never fails a product."""

    def __init__(self, message: str, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class OutOfTime(Exception):
    """This invocation's deadline (its remaining time minus the reserve its commit needs) ends
    before a supplier call could: the work goes back on the queue unspent. Not an ``AdapterError``,
    for the same reason as ``Throttled``: adapters that turn supplier errors into notes must let it
    through, and it never fails a product."""


class SupplierUnavailable(ServiceBusy):
    """A live read found the supplier down or our limit reached, with nothing stored to fall back
    on: 503 with ``Retry-After``."""
