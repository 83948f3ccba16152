"""SOAP 1.1 envelopes for PromoStandards: building requests and parsing replies safely.

Parsing rules (docs/adapters/promostandards.md):

- ``defusedxml`` parses every reply: DTDs, entity declarations and external references are refused
  (no XXE, no billion laughs) and nothing is ever fetched from the network.
- Elements are matched by their *local* name after namespace resolution (ElementTree's Clark
  notation), never by prefix. Suppliers disagree on which of a service's two namespaces a child
  element lives in (the XSDs put locally declared elements in the service namespace and referenced
  ones in ``SharedObjects``), so the local name is the only stable key.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from xml.etree.ElementTree import Element, ParseError
from xml.etree.ElementTree import fromstring as _fast_fromstring
from xml.sax.saxutils import escape

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

from apihub.errors import ProductError, TransientError

SOAP11_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
SOAP12_ENV = "http://www.w3.org/2003/05/soap-envelope"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
_XSI_NIL = f"{{{XSI}}}nil"


@dataclass(frozen=True)
class Service:
    """One PromoStandards service: its two namespaces and the version it speaks."""

    namespace: str
    shared: str
    version: str


PRODUCT_DATA = Service(
    namespace="http://www.promostandards.org/WSDL/ProductDataService/2.0.0/",
    shared="http://www.promostandards.org/WSDL/ProductDataService/2.0.0/SharedObjects/",
    version="2.0.0",
)
PRICING = Service(
    namespace="http://www.promostandards.org/WSDL/PricingAndConfiguration/1.0.0/",
    shared="http://www.promostandards.org/WSDL/PricingAndConfiguration/1.0.0/SharedObjects/",
    version="1.0.0",
)
# Media Content 1.1.0 kept the 1.0.0 namespace (see the vendored WSDL).
MEDIA = Service(
    namespace="http://www.promostandards.org/WSDL/MediaService/1.0.0/",
    shared="http://www.promostandards.org/WSDL/MediaService/1.0.0/SharedObjects/",
    version="1.1.0",
)
# Inventory 2.0.0: namespaces as in the RC4 WSDL/XSD (the newest public copy; docs/inventory.md).
INVENTORY = Service(
    namespace="http://www.promostandards.org/WSDL/Inventory/2.0.0/",
    shared="http://www.promostandards.org/WSDL/Inventory/2.0.0/SharedObjects/",
    version="2.0.0",
)


# --------------------------------------------------------------------------------------------------
# Building requests
# --------------------------------------------------------------------------------------------------


def build_request(service: Service, operation: str, fields: Iterable[tuple[str, str | None]]) -> bytes:
    """A document/literal SOAP 1.1 request: ``<ns:{operation}>`` holding shared-namespace fields.

    ``fields`` keeps the XSD's sequence order; ``None`` values are left out. Values are escaped, so
    a product id like ``A&B`` cannot break (or inject into) the envelope.
    """
    parts = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        f'<soapenv:Envelope xmlns:soapenv="{SOAP11_ENV}" xmlns:ns="{service.namespace}" xmlns:shar="{service.shared}">',
        "<soapenv:Header/><soapenv:Body>",
        f"<ns:{operation}>",
    ]
    for name, value in fields:
        if value is None:
            continue
        parts.append(f"<shar:{name}>{escape(value)}</shar:{name}>")
    parts.append(f"</ns:{operation}></soapenv:Body></soapenv:Envelope>")
    return "".join(parts).encode("utf-8")


def service_request(
    service: Service,
    operation: str,
    credentials: tuple[str, str | None],
    fields: Iterable[tuple[str, str | None]] = (),
) -> bytes:
    """A request of ``service`` as every PromoStandards request starts: ``wsVersion``, then the
    account's ``id`` and ``password`` (left out when None), then ``fields`` in the XSD's order."""
    account, password = credentials
    return build_request(
        service, operation, [("wsVersion", service.version), ("id", account), ("password", password), *fields]
    )


def soap_headers(action: str) -> dict[str, str]:
    return {"Content-Type": "text/xml; charset=utf-8", "SOAPAction": f'"{action}"'}


# --------------------------------------------------------------------------------------------------
# Parsing replies
# --------------------------------------------------------------------------------------------------


def local(tag: str) -> str:
    """``{namespace}name`` -> ``name`` (comments and PIs have non-string tags)."""
    if not isinstance(tag, str):
        return ""
    return tag.rsplit("}", 1)[-1]


def parse_xml(body: bytes, what: str) -> Element:
    """Parse untrusted XML. Malformed or dangerous content is a ``ProductError``: the same request
    would get the same bytes again, so retrying would not help (a truncated transfer is caught by
    the HTTP layer as a transient connection error before we get here)."""
    try:
        if _plainly_safe(body):
            return _fast_fromstring(body)  # noqa: S314 - _plainly_safe proved there is no DTD
        return fromstring(body, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException as exc:
        raise ProductError(f"{what}: reply refused, it declares a DTD or entities ({type(exc).__name__})") from None
    except (ParseError, ValueError) as exc:
        raise ProductError(f"{what}: reply is not well-formed XML ({_short(str(exc))})") from None


_ASCII_COMPATIBLE = (b"utf-8", b"utf8", b"us-ascii", b"ascii", b"iso-8859-1", b"latin-1", b"latin1")
_ENCODING = re.compile(rb"""encoding\s*=\s*["']([A-Za-z0-9._-]+)["']""")


def _plainly_safe(body: bytes) -> bool:
    """True when ``body`` provably has no DTD, so the C parser cannot meet an entity declaration.

    Every SOAP reply we expect qualifies, and the C parser is about three times faster than
    defusedxml's pure-Python one (docs/benchmarks.md). The proof needs an ASCII-compatible encoding
    (otherwise ``<!DOCTYPE`` could hide in UTF-16 or EBCDIC bytes): a UTF-8 BOM or none, no NUL
    bytes, and an encoding declaration, if any, naming UTF-8, ASCII or Latin-1. Without a DTD,
    entity references other than the five predefined ones are a parse error in expat, and nothing
    external is ever fetched. Anything else goes to defusedxml, which refuses DTDs outright.
    """
    if b"<!DOCTYPE" in body or b"<!ENTITY" in body or b"\x00" in body:
        return False
    head = body[3:] if body.startswith(b"\xef\xbb\xbf") else body
    if head[:1] not in (b"<", b" ", b"\t", b"\r", b"\n"):
        return False
    if not head.lstrip().startswith(b"<?xml"):
        return True
    declaration = head[: head.find(b"?>")]
    if b"encoding" not in declaration:
        return True
    declared = _ENCODING.search(declaration)
    return declared is not None and declared.group(1).lower() in _ASCII_COMPATIBLE


def response_element(body: bytes, expected: str, what: str) -> Element:
    """The ``expected`` element (e.g. ``GetProductResponse``) from a SOAP envelope's Body.

    A SOAP Fault raises: ``Server``/``Receiver`` faults are transient, ``Client``/``Sender`` faults
    (our request was refused) are a ``ProductError``.
    """
    root = parse_xml(body, what)
    if local(root.tag) != "Envelope":
        # A few servers answer with the bare response element; accept it.
        if local(root.tag) == expected:
            return root
        raise ProductError(f"{what}: reply is not a SOAP envelope (root element '{local(root.tag)}')")
    soap_body = child(root, "Body")
    if soap_body is None:
        raise ProductError(f"{what}: SOAP envelope has no Body")
    for element in soap_body:
        name = local(element.tag)
        if name == "Fault":
            raise fault_error(element, what)
        if name == expected:
            return element
    raise ProductError(f"{what}: SOAP Body has no {expected}")


def fault_error(fault: Element, what: str) -> ProductError | TransientError:
    """Classify a SOAP 1.1 or 1.2 Fault. The fault code is a QName in text; only its local part counts."""
    code = text(fault, "faultcode")
    reason = text(fault, "faultstring")
    if code is None:  # SOAP 1.2: Code/Value, Reason/Text
        code_el = child(fault, "Code")
        code = text(code_el, "Value") if code_el is not None else None
        reason_el = child(fault, "Reason")
        reason = text(reason_el, "Text") if reason_el is not None else None
    kind = (code or "").rsplit(":", 1)[-1]
    message = f"{what}: SOAP fault {kind or 'unknown'}: {_short(reason or '')}".rstrip(": ")
    if kind in ("Client", "Sender"):
        return ProductError(message, code=kind)
    return TransientError(message, code=kind or None)


def child(element: Element | None, name: str) -> Element | None:
    """First direct child with local name ``name``."""
    if element is None:
        return None
    for item in element:
        if local(item.tag) == name:
            return item
    return None


def children(element: Element | None, name: str) -> Iterator[Element]:
    """Direct children with local name ``name``, in document order."""
    if element is None:
        return
    for item in element:
        if local(item.tag) == name:
            yield item


def items(element: Element | None, array: str, item: str) -> Iterator[Element]:
    """The ``item`` elements of ``element/array`` (the PromoStandards ``FooArray/Foo`` pattern)."""
    yield from children(child(element, array), item)


def is_nil(element: Element | None) -> bool:
    return element is not None and element.get(_XSI_NIL) in ("true", "1")


def text(element: Element | None, name: str | None = None) -> str | None:
    """Stripped text of ``element`` (or of its child ``name``); ``None`` when absent, nil or empty."""
    target = child(element, name) if name is not None else element
    if target is None or is_nil(target):
        return None
    value = (target.text or "").strip()
    return value or None


def boolean(element: Element | None, name: str, default: bool = False) -> bool:
    value = text(element, name)
    if value is None:
        return default
    return value.lower() in ("true", "1")


def integer(element: Element | None, name: str) -> int | None:
    value = text(element, name)
    if value is None:
        return None
    try:
        return int(float(value))
    except (ValueError, OverflowError):  # not a number, or Infinity / 1e400 (no whole number)
        return None


def decimal(element: Element | None, name: str) -> float | None:
    value = text(element, name)
    if value is None:
        return None
    try:
        number = float(value)
    except ValueError:
        return None
    return number if math.isfinite(number) else None  # NaN and Infinity are no amount


def timestamp(value: str | None) -> datetime | None:
    """Lenient ``xsd:dateTime``: SanMar sends no zone (read as UTC), .NET sends 7 fraction digits,
    some servers send a bare date. Unparseable values are ``None`` rather than a failed product."""
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.strip())
        return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
    except (ValueError, OverflowError):  # OverflowError: a zone that moves it past year 9999
        return None


def format_timestamp(value: datetime) -> str:
    """``xsd:dateTime`` in UTC with a ``Z`` (what ``changeTimeStamp`` asks for)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _short(value: str, limit: int = 200) -> str:
    value = " ".join(value.split())
    return value if len(value) <= limit else value[: limit - 1] + "…"
