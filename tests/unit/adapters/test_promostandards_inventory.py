"""Inventory 2.0.0 replies -> the canonical ``Inventory``: hand-written replies with other prefixes
than the fake's, the sum rule, the code table and the lenient reading of odd values."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from apihub.adapters.promostandards.inventory import inventory_request, parse_inventory
from apihub.errors import AuthError, ProductError, TransientError
from defusedxml.ElementTree import fromstring

INV = "http://www.promostandards.org/WSDL/Inventory/2.0.0/"
SHARED = INV + "SharedObjects/"
ENV = "http://schemas.xmlsoap.org/soap/envelope/"

# SanMar-style prefixes: ns2 for the service, ns3 for SharedObjects, SOAP 1.1 as "soapenv".
PREFIXED = f"""<?xml version="1.0" encoding="UTF-8"?>
<soapenv:Envelope xmlns:soapenv="{ENV}">
 <soapenv:Body>
  <ns2:GetInventoryLevelsResponse xmlns:ns2="{INV}" xmlns:ns3="{SHARED}">
   <ns3:Inventory>
    <ns3:productId>PC61</ns3:productId>
    <ns3:PartInventoryArray>
     <ns3:PartInventory>
      <ns3:partId>PC61-NAVY-L</ns3:partId>
      <ns3:mainPart>true</ns3:mainPart>
      <ns3:partColor>Navy</ns3:partColor>
      <ns3:labelSize>L</ns3:labelSize>
      <ns3:partDescription>Essential Tee Navy L</ns3:partDescription>
      <ns3:quantityAvailable><ns3:Quantity><ns3:uom>EA</ns3:uom><ns3:value>1250</ns3:value></ns3:Quantity></ns3:quantityAvailable>
      <ns3:manufacturedItem>false</ns3:manufacturedItem>
      <ns3:buyToOrder>false</ns3:buyToOrder>
      <ns3:replenishmentLeadTime>12</ns3:replenishmentLeadTime>
      <ns3:InventoryLocationArray>
       <ns3:InventoryLocation>
        <ns3:inventoryLocationId>1</ns3:inventoryLocationId>
        <ns3:inventoryLocationName>Seattle, WA</ns3:inventoryLocationName>
        <ns3:postalCode>98101</ns3:postalCode>
        <ns3:country>US</ns3:country>
        <ns3:inventoryLocationQuantity><ns3:Quantity><ns3:uom>EA</ns3:uom><ns3:value>1000</ns3:value></ns3:Quantity></ns3:inventoryLocationQuantity>
       </ns3:InventoryLocation>
       <ns3:InventoryLocation>
        <ns3:inventoryLocationId>2</ns3:inventoryLocationId>
        <ns3:inventoryLocationName>Cincinnati, OH</ns3:inventoryLocationName>
        <ns3:postalCode>45241</ns3:postalCode>
        <ns3:country>US</ns3:country>
        <ns3:inventoryLocationQuantity><ns3:Quantity><ns3:uom>EA</ns3:uom><ns3:value>250</ns3:value></ns3:Quantity></ns3:inventoryLocationQuantity>
        <ns3:FutureAvailabilityArray>
         <ns3:FutureAvailability>
          <ns3:Quantity><ns3:uom>EA</ns3:uom><ns3:value>500</ns3:value></ns3:Quantity>
          <ns3:availableOn>2027-02-01T00:00:00Z</ns3:availableOn>
         </ns3:FutureAvailability>
        </ns3:FutureAvailabilityArray>
       </ns3:InventoryLocation>
      </ns3:InventoryLocationArray>
      <ns3:lastModified>2026-11-29T17:45:00Z</ns3:lastModified>
     </ns3:PartInventory>
    </ns3:PartInventoryArray>
   </ns3:Inventory>
  </ns2:GetInventoryLevelsResponse>
 </soapenv:Body>
</soapenv:Envelope>
"""


def reply(inventory: str = "", messages: str = "") -> bytes:
    """A reply with a default namespace on the response (the service's) and ``s:`` for shared
    objects: yet another prefix scheme than the fake's (``tns`` + default shared)."""
    return (
        f'<E:Envelope xmlns:E="{ENV}"><E:Body><GetInventoryLevelsResponse xmlns="{INV}" xmlns:s="{SHARED}">'
        f"{inventory}{messages}</GetInventoryLevelsResponse></E:Body></E:Envelope>"
    ).encode()


def quantity(value: str, uom: str = "EA") -> str:
    return f"<s:Quantity><s:uom>{uom}</s:uom><s:value>{value}</s:value></s:Quantity>"


def location(location_id: str | None, value: str | None, extra: str = "", name: str | None = None) -> str:
    ident = f"<s:inventoryLocationId>{location_id}</s:inventoryLocationId>" if location_id else ""
    label = f"<s:inventoryLocationName>{name}</s:inventoryLocationName>" if name else ""
    amount = f"<s:inventoryLocationQuantity>{quantity(value)}</s:inventoryLocationQuantity>" if value else ""
    return f"<s:InventoryLocation>{ident}{label}{amount}{extra}</s:InventoryLocation>"


def part(part_id: str | None = "P-1", available: str | None = None, locations: str = "", extra: str = "") -> str:
    ident = f"<s:partId>{part_id}</s:partId>" if part_id else ""
    amount = f"<s:quantityAvailable>{quantity(available)}</s:quantityAvailable>" if available is not None else ""
    array = f"<s:InventoryLocationArray>{locations}</s:InventoryLocationArray>" if locations else ""
    return (
        f"<s:PartInventory>{ident}<s:mainPart>true</s:mainPart>{amount}"
        f"<s:manufacturedItem>false</s:manufacturedItem><s:buyToOrder>false</s:buyToOrder>{extra}{array}"
        "</s:PartInventory>"
    )


def inventory(*parts: str, product_id: str = "P") -> str:
    return (
        f"<s:Inventory><s:productId>{product_id}</s:productId>"
        f"<s:PartInventoryArray>{''.join(parts)}</s:PartInventoryArray></s:Inventory>"
    )


def message(code: int, description: str = "", severity: str = "Error") -> str:
    return (
        f"<s:ServiceMessageArray><s:ServiceMessage><s:code>{code}</s:code><s:description>{description}"
        f"</s:description><s:severity>{severity}</s:severity></s:ServiceMessage></s:ServiceMessageArray>"
    )


# --- the mapping ------------------------------------------------------------------------------------


def test_a_reply_with_other_prefixes_maps_every_field():
    found = parse_inventory(PREFIXED.encode(), "PC61")

    assert found.product_id == "PC61" and found.notes == []
    (navy,) = found.parts
    assert (navy.part_id, navy.color, navy.size, navy.quantity_available, navy.uom) == (
        "PC61-NAVY-L",
        "Navy",
        "L",
        1250,
        "EA",
    )
    assert (navy.manufactured_item, navy.buy_to_order, navy.lead_time_days) == (False, False, 12)
    assert navy.last_modified == datetime(2026, 11, 29, 17, 45, tzinfo=UTC)
    seattle, cincinnati = navy.locations
    assert (seattle.location_id, seattle.name, seattle.postal_code, seattle.country, seattle.quantity) == (
        "1",
        "Seattle, WA",
        "98101",
        "US",
        1000,
    )
    assert seattle.future == []
    assert cincinnati.quantity == 250
    assert [(f.quantity, f.available_on) for f in cincinnati.future] == [(500, date(2027, 2, 1))]


def test_the_same_reply_with_a_default_namespace_and_reserialised_prefixes_reads_the_same():
    # ElementTree re-serialises with ns0:, ns1:, ... and no default namespace at all.
    from xml.etree import ElementTree as ET

    reprefixed = ET.tostring(ET.fromstring(PREFIXED.encode()))
    assert b"ns3:" not in reprefixed
    assert parse_inventory(reprefixed, "PC61") == parse_inventory(PREFIXED.encode(), "PC61")


def test_missing_quantity_available_is_the_sum_of_the_locations():
    body = reply(inventory(part(available=None, locations=location("A", "10") + location("B", "32.5"))))

    (found,) = parse_inventory(body, "P").parts

    assert found.quantity_available == 42.5
    assert found.uom == "EA"  # from the locations when the part gives none


def test_a_given_quantity_available_wins_over_the_sum():
    body = reply(inventory(part(available="7", locations=location("A", "10") + location("B", "32"))))
    assert parse_inventory(body, "P").parts[0].quantity_available == 7


def test_without_quantity_available_and_without_located_quantities_the_total_is_unknown():
    body = reply(inventory(part(available=None, locations=location("A", None)), part("P-2")))
    first, second = parse_inventory(body, "P").parts
    assert first.quantity_available is None and first.locations[0].quantity is None
    assert second.quantity_available is None and second.locations == []


# --- the code table ---------------------------------------------------------------------------------


@pytest.mark.parametrize("code", [100, 104, 105, 110])
def test_credential_codes_are_auth_errors(code):
    with pytest.raises(AuthError) as caught:
        parse_inventory(reply(messages=message(code, "nope")), "P")
    assert caught.value.code == str(code)


@pytest.mark.parametrize(("code", "text"), [(600, "600 Product Id not found"), (630, "630 Part Id not found")])
def test_not_found_codes_fail_the_product(code, text):
    with pytest.raises(ProductError) as caught:
        parse_inventory(reply(messages=message(code)), "P")  # no description: the spec's text
    assert caught.value.code == str(code)
    assert caught.value.describe() == f"ProductError: {text}"


def test_999_is_transient():
    with pytest.raises(TransientError) as caught:
        parse_inventory(reply(messages=message(999, "General Error")), "P")
    assert caught.value.code == "999"


@pytest.mark.parametrize("code", [610, 620, 125])
@pytest.mark.parametrize("severity", ["Error", "Warning"])
def test_note_codes_keep_the_stock_and_record_the_message(code, severity):
    body = reply(inventory(part(available="5")), message(code, "Field is odd", severity))

    found = parse_inventory(body, "P")

    assert found.parts[0].quantity_available == 5
    assert found.notes == [f"{code} Field is odd"]


def test_a_note_code_without_any_inventory_is_an_empty_inventory_not_a_failure():
    found = parse_inventory(reply(messages=message(125, "Not Supported")), "P")
    assert found.parts == [] and found.notes == ["125 Not Supported"]


def test_credentials_win_over_other_messages_in_the_same_reply():
    messages = message(600).replace("</s:ServiceMessageArray>", "") + message(105, "bad").replace(
        "<s:ServiceMessageArray>", ""
    )
    with pytest.raises(AuthError):
        parse_inventory(reply(messages=messages), "P")


def test_a_reply_without_inventory_or_messages_is_600():
    with pytest.raises(ProductError) as caught:
        parse_inventory(reply(), "P")
    assert caught.value.code == "600"


def test_server_fault_is_transient_and_malformed_xml_fails_the_product():
    fault = f'<e:Envelope xmlns:e="{ENV}"><e:Body><e:Fault><faultcode>e:Server</faultcode><faultstring>down</faultstring></e:Fault></e:Body></e:Envelope>'
    with pytest.raises(TransientError):
        parse_inventory(fault.encode(), "P")
    with pytest.raises(ProductError):
        parse_inventory(reply(inventory(part()))[:-30], "P")


# --- leniency -------------------------------------------------------------------------------------


def test_odd_values_are_read_leniently():
    extra = "<s:replenishmentLeadTime>10 days</s:replenishmentLeadTime><s:lastModified>2026-03-01T08:00:00.1234567</s:lastModified>"
    future = (
        "<s:FutureAvailabilityArray>"
        f"<s:FutureAvailability>{quantity(' 1,200 ')}<s:availableOn>2027-01-15</s:availableOn></s:FutureAvailability>"
        f"<s:FutureAvailability>{quantity('N/A')}<s:availableOn>2027-01-20</s:availableOn></s:FutureAvailability>"
        f"<s:FutureAvailability>{quantity('24')}<s:availableOn>03/02/2027</s:availableOn></s:FutureAvailability>"
        f"<s:FutureAvailability>{quantity('12')}<s:availableOn>soon</s:availableOn></s:FutureAvailability>"
        "</s:FutureAvailabilityArray><s:country>us</s:country>"
    )
    locations = location("A", "-3", future) + location(None, "4", name="Dock 9") + location(None, "99")
    body = reply(inventory(part(available="NaN", locations=locations, extra=extra).replace("false", "Y", 1)))

    (found,) = parse_inventory(body, "P").parts

    assert found.manufactured_item is True  # "Y"
    assert found.lead_time_days == 10
    assert found.last_modified is not None and found.last_modified.tzinfo is not None  # zone-less: UTC
    first, dock = found.locations  # the location with neither id nor name is skipped
    assert first.quantity is None  # negative stock is no quantity: unknown, with a warning
    assert first.country == "US"
    assert [(f.quantity, f.available_on) for f in first.future] == [
        (1200, date(2027, 1, 15)),
        (24, date(2027, 3, 2)),
        (12, None),
    ]
    assert (dock.location_id, dock.name, dock.quantity) == ("Dock 9", "Dock 9", 4)
    assert found.quantity_available == 4  # "NaN" is unknown, so the locations' sum
    assert parse_inventory(body, "P").notes == [
        "part P-1 quantityAvailable: 'NaN' is not a quantity from 0 to 1,000,000,000; unknown",
        "part P-1 location A quantity: '-3' is not a quantity from 0 to 1,000,000,000; unknown",
    ]


def test_a_part_without_part_id_is_skipped_with_a_note():
    found = parse_inventory(reply(inventory(part(None, "3"), part("P-2", "4"))), "P")
    assert [p.part_id for p in found.parts] == ["P-2"]
    assert found.notes == ["a PartInventory without partId was skipped"]


def test_a_quantity_without_its_wrapper_is_read_too():
    body = reply(inventory(part(available="1")).replace(quantity("1"), "<s:uom>dz</s:uom><s:value>3</s:value>"))
    (found,) = parse_inventory(body, "P").parts
    assert (found.quantity_available, found.uom) == (3, "DZ")


def test_a_reply_for_another_product_is_a_product_error_and_the_same_id_in_another_case_is_not():
    with pytest.raises(ProductError, match="supplier answered productId 'G500' for 'PC61'") as raised:
        parse_inventory(reply(inventory(part(available="1"), product_id="G500")), "PC61")
    assert raised.value.code == "wrong_product"

    found = parse_inventory(reply(inventory(part(available="1"), product_id=" pc61 ")), "PC61")
    assert (found.product_id, found.notes) == ("PC61", [])


def test_the_request_follows_the_xsd_sequence_in_the_shared_namespace():
    root = fromstring(inventory_request(("acct", "pw&<"), "PC61"))
    body = next(child for child in root if child.tag == f"{{{ENV}}}Body")
    (request,) = list(body)
    names = [(child.tag.split("}")[0] + "}", child.tag.split("}")[1], child.text) for child in request]
    assert request.tag == f"{{{INV}}}GetInventoryLevelsRequest"
    assert names == [
        ("{" + SHARED + "}", "wsVersion", "2.0.0"),
        ("{" + SHARED + "}", "id", "acct"),
        ("{" + SHARED + "}", "password", "pw&<"),
        ("{" + SHARED + "}", "productId", "PC61"),
    ]
