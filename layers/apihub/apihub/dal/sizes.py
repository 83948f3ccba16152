"""DynamoDB's size limits, and sizes measured the way DynamoDB measures them (bytes, not characters).

The rules (AWS: "Item sizes and formats"): an item's size is the sum of its attribute names and
values; names and strings count their UTF-8 bytes, binary values their raw bytes (not base64),
numbers about one byte per two significant digits plus one, booleans and nulls one byte, sets the
sum of their elements, and lists and maps 3 bytes plus one byte per element plus their contents
(a map's element names included). A ``KB`` is 1,024 bytes: the item limit is 409,600 bytes.
"""

from __future__ import annotations

from typing import Any

ITEM_MAX = 400 * 1024  # bytes, names and values, keys included
PARTITION_KEY_MAX = 2048  # bytes of a partition key value
SORT_KEY_MAX = 1024  # bytes of a sort key value
TRANSACTION_ITEMS_MAX = 100
TRANSACTION_BYTES_MAX = 4 * 1024 * 1024  # the aggregate size of a transaction's items


def utf8_len(text: str) -> int:
    return len(text.encode("utf-8"))


def truncate_utf8(text: str, max_bytes: int) -> str:
    """The longest prefix of ``text`` that is at most ``max_bytes`` UTF-8 bytes (no split character)."""
    data = text.encode("utf-8")
    if len(data) <= max_bytes:
        return text
    return data[:max_bytes].decode("utf-8", errors="ignore")


def _number_bytes(text: str) -> int:
    digits = text.lstrip("-").replace(".", "").split("e")[0].split("E")[0].strip("0")
    return min(21, (len(digits) + 1) // 2 + 1)


def value_bytes(value: dict[str, Any]) -> int:
    """The size of one attribute value in DynamoDB JSON (``{"S": ...}``, ``{"B": ...}``, ...)."""
    (kind, raw), *_ = value.items()
    if kind == "S":
        return utf8_len(raw)
    if kind == "B":
        return len(raw)
    if kind == "N":
        return _number_bytes(raw)
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "SS":
        return sum(utf8_len(s) for s in raw)
    if kind == "BS":
        return sum(len(b) for b in raw)
    if kind == "NS":
        return sum(_number_bytes(n) for n in raw)
    if kind == "L":
        return 3 + sum(1 + value_bytes(v) for v in raw)
    if kind == "M":
        return 3 + sum(1 + utf8_len(k) + value_bytes(v) for k, v in raw.items())
    raise ValueError(f"unknown DynamoDB attribute type {kind!r}")


def item_bytes(attributes: dict[str, dict[str, Any]]) -> int:
    """The size DynamoDB counts for an item given in DynamoDB JSON (PynamoDB's ``Model.serialize()``)."""
    return sum(utf8_len(name) + value_bytes(value) for name, value in attributes.items())


def kb(size: int) -> str:
    """``612 KB`` (rounded up, so an item one byte over the limit never reads as ``400 KB``)."""
    return f"{-(-size // 1024):,} KB"
