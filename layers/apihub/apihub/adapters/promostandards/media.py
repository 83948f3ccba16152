"""Media Content 1.1.0: ``getMediaContent`` (mediaType Image) -> product images."""

from __future__ import annotations

from apihub.adapters.promostandards.messages import raise_for_messages
from apihub.adapters.promostandards.product import resolve_url
from apihub.adapters.promostandards.soap import MEDIA, items, response_element, service_request, text
from apihub.models import ProductImage

OPERATION = "getMediaContent"
SOAP_ACTION = "getMediaContent"
PRIMARY_CLASS_TYPE = "1006"  # "Primary" in the Media Content class type table


def media_request(credentials: tuple[str, str | None], product_id: str) -> bytes:
    return service_request(
        MEDIA, "GetMediaContentRequest", credentials, [("mediaType", "Image"), ("productId", product_id)]
    )


def parse_images(body: bytes, *, base_url: str | None = None) -> list[ProductImage]:
    """Every image of the reply, in order, de-duplicated by (url, part)."""
    response = response_element(body, "GetMediaContentResponse", OPERATION)
    raise_for_messages(response, OPERATION)
    images: list[ProductImage] = []
    seen: set[tuple[str, str | None]] = set()
    for content in items(response, "MediaContentArray", "MediaContent"):
        url = text(content, "url")
        media_type = text(content, "mediaType") or "Image"
        if not url or media_type.lower() != "image":
            continue
        part_id = text(content, "partId")
        key = (url, part_id)
        if key in seen:
            continue
        seen.add(key)
        class_ids: list[str] = []
        class_names: list[str] = []
        for class_type in items(content, "ClassTypeArray", "ClassType"):
            class_id = text(class_type, "classTypeId")
            name = text(class_type, "classTypeName")
            if class_id:
                class_ids.append(class_id)
            if name and name not in class_names:
                class_names.append(name)
        images.append(
            ProductImage(
                url=resolve_url(url, base_url),
                part_id=part_id,
                class_type=", ".join(class_names) or None,
                description=text(content, "description") or text(content, "color"),
                is_primary=PRIMARY_CLASS_TYPE in class_ids,
            )
        )
    return images
