"""Inventory 2.0.0: ``getInventoryLevels`` -> the canonical ``Inventory`` (docs/inventory.md).

The request is ``wsVersion`` 2.0.0, ``id``, ``password``, ``productId`` (no ``Filter``: one call
reads every part). The reply is read like Product Data's: by local name, whatever the prefixes,
and leniently (real suppliers deviate from the RC4 XSD):

- quantities: ``1,200`` and `` 15.0000 `` are numbers; a value outside 0..10^9 (negative, huge,
  ``NaN``, ``Infinity``, ``1e308``) is unknown (None) with a note; a value that is not a number
  (``N/A``) is unknown, never a failed product (the quantity rule, ``apihub.adapters.answers``);
- a part without a usable ``quantityAvailable`` but with located quantities gets their sum (the
  XSD calls ``quantityAvailable`` exactly that sum);
- ``replenishmentLeadTime`` ``"10 days"`` is 10 (over 999 days: unknown, with a note); booleans
  accept ``true``/``1``/``yes``/``Y``; ``lastModified`` without a zone is UTC; ``availableOn`` may
  be a bare date;
- a location without ``inventoryLocationId`` takes its name as id; a part without ``partId`` is
  skipped with a note; a part, or a part's location, listed twice is kept as first listed, with a note;
- a reply naming another product than the one asked is a ``ProductError`` (``answers.answered_product``).

The notes are the inventory view's ``warnings``.

Message codes (the service's own, Appendix A of the spec, on top of the shared ones):

=====================  ============================================================
100, 104, 105, 110     ``AuthError`` (credentials: the job fails)
600, 630               ``ProductError`` (product id / part id not found: this product fails)
999                    ``TransientError`` (as HTTP 5xx and timeouts, which the HTTP client raises)
610, 620, 125          kept in ``Inventory.notes`` (data violation, field not supported, not
                       supported): the stock that came with them is used
anything else          as Product Data: ``ProductError`` when its severity is Error, ignored else
=====================  ============================================================
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from xml.etree.ElementTree import Element

from apihub.adapters.answers import QUANTITY_MAX, answered_product, quantity
from apihub.adapters.promostandards.messages import ServiceMessage, classify, read_messages
from apihub.adapters.promostandards.soap import (
    INVENTORY,
    child,
    items,
    local,
    response_element,
    service_request,
    text,
    timestamp,
)
from apihub.errors import AdapterError, AuthError, ProductError, TransientError
from apihub.inventory.models import FutureQuantity, Inventory, InventoryLocation, InventoryPart

OPERATION = "getInventoryLevels"
SOAP_ACTION = "getInventoryLevels"

PRODUCT_CODES = frozenset({600, 630})
NOTE_CODES = frozenset({125, 610, 620})
# Service-specific descriptions (spec Appendix A) for suppliers that send a code without one.
DESCRIPTIONS = {
    600: "Product Id not found",
    610: "Data violation",
    620: "Field is not supported",
    630: "Part Id not found",
}
_TRUE = frozenset({"true", "1", "yes", "y"})
_DAYS = re.compile(r"[-+]?\d+")  # a lead time's whole days: the first number of the text
LEAD_TIME_MAX_DAYS = 999  # the spec's INT(3)


def inventory_request(credentials: tuple[str, str | None], product_id: str) -> bytes:
    """A ``GetInventoryLevelsRequest`` for every part of ``product_id``."""
    return service_request(INVENTORY, "GetInventoryLevelsRequest", credentials, [("productId", product_id)])


def parse_inventory(body: bytes, product_id: str | None = None) -> Inventory:
    """A ``GetInventoryLevelsResponse`` as the canonical ``Inventory``.

    Raises the classified errors of its ServiceMessages; the note codes (610/620/125) end up in
    ``notes``, with what the reading rules refused or dropped. A reply naming another product than
    ``product_id`` (what was asked for) is a ``ProductError``.
    """
    response = response_element(body, "GetInventoryLevelsResponse", OPERATION)
    notes = _raise_for_messages(response)
    element = child(response, "Inventory")
    if element is None:
        if notes:  # e.g. 125 Not Supported with nothing else: no stock known, not a failure
            return Inventory(product_id=product_id or "", notes=notes)
        raise ProductError("600 Product Id not found (reply holds no Inventory)", code="600")
    wanted = answered_product(product_id or "", text(element, "productId"), OPERATION)
    if not wanted:
        raise ProductError(f"{OPERATION}: reply has no productId")
    parts: dict[str, InventoryPart] = {}
    for entry in items(element, "PartInventoryArray", "PartInventory"):
        part = _part(entry, notes)
        if part is None:
            notes.append("a PartInventory without partId was skipped")
        elif part.part_id in parts:
            notes.append(f"part {part.part_id} was listed again; the first listing is kept")
        else:
            parts[part.part_id] = part
    return Inventory(product_id=wanted, parts=list(parts.values()), notes=notes)


def _raise_for_messages(response: Element) -> list[str]:
    """Raise the most severe error among the reply's messages (credentials, then transient, then
    product, as ``messages.raise_for_messages``); return the note codes' texts."""
    notes: list[str] = []
    errors: list[AdapterError] = []
    for message in read_messages(response):
        described = _described(message)
        if message.code in NOTE_CODES:
            notes.append(described.text())
        elif message.code in PRODUCT_CODES:
            errors.append(ProductError(described.text(), code=str(message.code)))
        else:
            error = classify(described, OPERATION)
            if error is not None:
                errors.append(error)
    for kind in (AuthError, TransientError, ProductError):
        for error in errors:
            if isinstance(error, kind):
                raise error
    return notes


def _described(message: ServiceMessage) -> ServiceMessage:
    if message.description or message.code not in DESCRIPTIONS:
        return message
    return ServiceMessage(code=message.code, description=DESCRIPTIONS[message.code], severity=message.severity)


def _part(entry: Element, notes: list[str]) -> InventoryPart | None:
    part_id = text(entry, "partId")
    if not part_id:
        return None
    available, uom = _quantity(child(entry, "quantityAvailable"), f"part {part_id} quantityAvailable", notes)
    locations: dict[str, InventoryLocation] = {}
    location_uoms: list[str] = []
    for item in items(entry, "InventoryLocationArray", "InventoryLocation"):
        location, location_uom = _location(item, part_id, notes)
        if location is None:
            continue
        if location.location_id in locations:
            notes.append(f"part {part_id} location {location.location_id} was listed again; the first is kept")
            continue
        locations[location.location_id] = location
        if location_uom:
            location_uoms.append(location_uom)
    if available is None:
        # The XSD defines quantityAvailable as the sum over the locations; suppliers that leave it
        # out still mean that sum (locations without a quantity add nothing).
        known = [loc.quantity for loc in locations.values() if loc.quantity is not None]
        if known and sum(known) <= QUANTITY_MAX:
            available = sum(known)
        elif known:
            notes.append(f"part {part_id}: its locations add up to more than {QUANTITY_MAX:,}; unknown")
    return InventoryPart(
        part_id=part_id,
        color=text(entry, "partColor"),
        size=text(entry, "labelSize"),
        quantity_available=available,
        uom=uom or next(iter(location_uoms), None),
        manufactured_item=_boolean(entry, "manufacturedItem"),
        buy_to_order=_boolean(entry, "buyToOrder"),
        lead_time_days=_days(text(entry, "replenishmentLeadTime"), part_id, notes),
        last_modified=timestamp(text(entry, "lastModified")),
        locations=list(locations.values()),
    )


def _location(location: Element, part_id: str, notes: list[str]) -> tuple[InventoryLocation | None, str | None]:
    """One warehouse and the unit of its quantity (None, None without any id or name)."""
    name = text(location, "inventoryLocationName")
    location_id = text(location, "inventoryLocationId") or name
    if not location_id:
        return None, None
    what = f"part {part_id} location {location_id}"
    amount, uom = _quantity(child(location, "inventoryLocationQuantity"), f"{what} quantity", notes)
    future = []
    for entry in items(location, "FutureAvailabilityArray", "FutureAvailability"):
        incoming, _ = _quantity(entry, f"{what} future quantity", notes)
        if incoming is None:
            continue
        future.append(FutureQuantity(quantity=incoming, available_on=_date(text(entry, "availableOn"))))
    country = text(location, "country")
    found = InventoryLocation(
        location_id=location_id,
        name=name,
        postal_code=text(location, "postalCode"),
        country=country.upper() if country else None,
        quantity=amount,
        future=future,
    )
    return found, uom


def _quantity(holder: Element | None, what: str, notes: list[str]) -> tuple[float | None, str | None]:
    """``holder/Quantity/{uom, value}`` (or ``holder/{uom, value}`` from suppliers that leave the
    ``Quantity`` wrapper out) -> (value, uom), by the quantity rule (a refused value is noted)."""
    if holder is None:
        return None, None
    wrapper = child(holder, "Quantity")
    if wrapper is None and any(local(item.tag) == "value" for item in holder):
        wrapper = holder
    if wrapper is None:
        return None, None
    uom = text(wrapper, "uom")
    read = quantity(text(wrapper, "value"), what)
    if read.warning:
        notes.append(read.warning)
    return read.value, uom.upper() if uom else None


def _boolean(element: Element, name: str) -> bool:
    value = text(element, name)
    return value is not None and value.lower() in _TRUE


def _days(raw: str | None, part_id: str, notes: list[str]) -> int | None:
    """``replenishmentLeadTime`` in days: the first number of free text (``"10 days"``); negative
    is unknown, over ``LEAD_TIME_MAX_DAYS`` unknown with a note."""
    if raw is None:
        return None
    found = _DAYS.search(raw)
    if found is None or found.group().startswith("-"):
        return None
    digits = found.group().lstrip("+").lstrip("0") or "0"
    if len(digits) > len(str(LEAD_TIME_MAX_DAYS)) or int(digits) > LEAD_TIME_MAX_DAYS:
        notes.append(f"part {part_id} replenishmentLeadTime: {digits[:12]} days is over {LEAD_TIME_MAX_DAYS}; unknown")
        return None
    return int(digits)


def _date(raw: str | None) -> date | None:
    """``availableOn`` (an ``xsd:dateTime``, or a bare date, or US ``MM/DD/YYYY``) as its UTC date."""
    if raw is None:
        return None
    parsed = timestamp(raw)
    if parsed is not None:
        return parsed.date()
    try:
        return datetime.strptime(raw.strip(), "%m/%d/%Y").replace(tzinfo=UTC).date()
    except ValueError:
        return None
