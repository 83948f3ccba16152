"""PromoStandards message codes -> the adapter error types (docs/architecture.md, Invariants: the adapter error classes).

Product Data 2.0.0 replies carry ``ServiceMessageArray/ServiceMessage{code, description, severity}``;
PPC 1.0.0 a single ``ErrorMessage{code, description}``; Media 1.1.0 a single lower-case
``errorMessage{code, description}``. All three are read here and classified the same way:

=====================  ============================================================
100, 104, 105, 110     ``AuthError`` (credentials: fatal for the job)
130, 135, 140, 145,    ``ProductError`` (this product fails, the job goes on)
150
999                    ``TransientError`` (supplier-side general error: retry later)
anything else          ``ProductError`` when its severity is Error (or unknown);
                       Warning / Information messages are ignored and the data is used
=====================  ============================================================

The message text is ``"<code> <description>"``, e.g. ``130 Product Id not found``, so the job stores
``ProductError: 130 Product Id not found``.
"""

from __future__ import annotations

from dataclasses import dataclass
from xml.etree.ElementTree import Element

from apihub.adapters.promostandards.soap import child, children, local, text
from apihub.errors import AdapterError, AuthError, ProductError, TransientError

AUTH_CODES = frozenset({100, 104, 105, 110})
PRODUCT_CODES = frozenset({130, 135, 140, 145, 150})
TRANSIENT_CODES = frozenset({999})

# Fallback descriptions (spec Appendix) for suppliers that send a code with an empty description.
STANDARD_DESCRIPTIONS = {
    100: "ID (customerID) not found",
    104: "This account is unauthorized to use this service",
    105: "Authentication Credentials failed",
    110: "Authentication Credentials required",
    115: "wsVersion not found",
    120: "The following field(s) are required",
    125: "Not Supported",
    130: "Product Id not found",
    135: "Product color not found",
    140: "Part Id not found",
    145: "Part color not found",
    150: "Part size not found",
    999: "General Error - Contact the System Service Provider",
}


@dataclass(frozen=True)
class ServiceMessage:
    code: int | None
    description: str
    severity: str = "Error"

    @property
    def is_error(self) -> bool:
        return self.severity.lower() not in ("warning", "information")

    def text(self) -> str:
        description = self.description or STANDARD_DESCRIPTIONS.get(self.code or -1, "")
        return f"{self.code} {description}".strip() if self.code is not None else description or "unknown error"


def read_messages(response: Element) -> list[ServiceMessage]:
    """Every message in a reply, whichever of the three shapes the service uses."""
    found: list[ServiceMessage] = []
    for array in children(response, "ServiceMessageArray"):
        for item in children(array, "ServiceMessage"):
            found.append(_message(item, text(item, "severity") or "Error"))
    for element in response:
        if local(element.tag) in ("ErrorMessage", "errorMessage"):
            found.append(_message(element, "Error"))
    return found


def _message(element: Element, severity: str) -> ServiceMessage:
    raw = text(element, "code")
    try:
        code: int | None = int(raw) if raw is not None else None
    except ValueError:
        code = None
    description = " ".join((text(element, "description") or "").split())
    return ServiceMessage(code=code, description=description, severity=severity)


def classify(message: ServiceMessage, what: str = "") -> AdapterError | None:
    """The error to raise for one message, or ``None`` when the data can be used."""
    code = message.code
    body = message.text()
    context = f" ({what})" if what else ""
    if code in AUTH_CODES:
        return AuthError(f"{body}{context}", code=str(code))
    if code in PRODUCT_CODES:
        return ProductError(body, code=str(code))
    if code in TRANSIENT_CODES:
        return TransientError(f"{body}{context}", code=str(code))
    if not message.is_error:
        return None
    return ProductError(f"{body}{context}", code=str(code) if code is not None else None)


def raise_for_messages(response: Element, what: str = "") -> list[ServiceMessage]:
    """Raise the most severe classified error among the reply's messages; return the harmless rest.

    Order of precedence: credentials first (they fail the whole job), then transient, then product.
    """
    messages = read_messages(response)
    errors = [err for err in (classify(m, what) for m in messages) if err is not None]
    for kind in (AuthError, TransientError, ProductError):
        for err in errors:
            if isinstance(err, kind):
                raise err
    return messages


def has_payload(response: Element, *names: str) -> bool:
    return any(child(response, name) is not None for name in names)
