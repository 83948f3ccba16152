"""Suppliers table access (credentials encrypted with KMS on the way in, masked on the way out)."""

from __future__ import annotations

import re
import uuid
from typing import Any

from pynamodb.exceptions import DoesNotExist

from apihub.dal import crypto
from apihub.dal.tables import SupplierItem, bind_tables
from apihub.errors import SupplierNotFound
from apihub.models import Protocol, Supplier, SupplierIn, SupplierPatch, iso, utcnow
from apihub.settings import Settings, get_settings

UUID_RE = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


def to_model(item: SupplierItem, credentials: dict[str, str] | None = None) -> Supplier:
    keys = list(item.auth_config_keys or [])
    return Supplier(
        id=item.id,
        name=item.name,
        slug=item.slug,
        protocol=Protocol(item.protocol),
        promostandards_code=item.promostandards_code,
        base_url=item.base_url,
        adapter_class=item.adapter_class,
        auth_config=credentials if credentials is not None else (dict.fromkeys(keys, "") if keys else None),
        protocol_config=item.protocol_config or {},
        is_active=bool(item.is_active),
        schedules=item.schedules or {},
        last_full_sync=item.last_full_sync,
        last_delta_sync=item.last_delta_sync,
        created_at=item.created_at,
        updated_at=item.updated_at,
        product_count=int(item.product_count or 0),
    )


class SuppliersRepository:
    def __init__(self, settings: Settings | None = None) -> None:
        self.settings = settings or get_settings()
        bind_tables(self.settings)

    def _item(self, ref: str) -> SupplierItem:
        """``ref`` is an id or a slug."""
        if UUID_RE.match(ref):
            try:
                return SupplierItem.get(ref.lower(), consistent_read=True)
            except DoesNotExist:
                pass
        hits = list(SupplierItem.by_slug.query(ref, limit=1))
        if hits:
            try:
                return SupplierItem.get(hits[0].id, consistent_read=True)
            except DoesNotExist:
                pass
        raise SupplierNotFound(ref)

    def get(self, ref: str) -> Supplier:
        return to_model(self._item(ref))

    def get_with_credentials(self, ref: str) -> Supplier:
        """For adapters only: ``auth_config`` decrypted. Never returned by the API."""
        item = self._item(ref)
        creds = crypto.decrypt_credentials(item.id, item.auth_config_ciphertext) if item.auth_config_ciphertext else {}
        return to_model(item, credentials=creds)

    def list(self, limit: int = 1000) -> list[Supplier]:
        ids = [hit.id for hit in SupplierItem.all_suppliers.query("SUPPLIER", limit=limit)]
        items = {i.id: i for i in SupplierItem.batch_get(ids)} if ids else {}
        return [to_model(items[i]) for i in ids if i in items]

    def upsert(self, body: SupplierIn) -> tuple[Supplier, bool]:
        """Create, or update and re-activate the supplier with this slug. Returns (supplier, created)."""
        now = iso(utcnow()) or ""
        try:
            item = self._item(body.slug)
            created = False
        except SupplierNotFound:
            item = SupplierItem(str(uuid.uuid4()), created_at=now, product_count=0)
            created = True
        item.name = body.name
        item.slug = body.slug
        item.protocol = body.protocol.value
        item.promostandards_code = body.promostandards_code
        item.base_url = body.base_url
        item.adapter_class = body.adapter_class
        item.protocol_config = body.protocol_config
        item.schedules = body.schedules
        item.is_active = True if not created else body.is_active
        item.updated_at = now
        if body.auth_config is not None:
            self._set_credentials(item, body.auth_config)
        item.save()
        return to_model(item), created

    def patch(self, ref: str, patch: SupplierPatch) -> Supplier:
        item = self._item(ref)
        fields = patch.model_dump(exclude_unset=True)
        for name, value in fields.items():
            if name == "auth_config":
                if value is not None:
                    self._set_credentials(item, value)
                continue
            if name == "protocol" and value is not None:
                value = Protocol(value).value
            setattr(item, name, value if value is not None or name not in ("protocol_config", "schedules") else {})
        item.updated_at = iso(utcnow())
        item.save()
        return to_model(item)

    def update_protocol_config(self, supplier_id: str, changes: dict[str, Any]) -> None:
        """Merge adapter-maintained state (e.g. a directory cache) into ``protocol_config``."""
        item = SupplierItem.get(supplier_id, consistent_read=True)
        item.update(actions=[SupplierItem.protocol_config.set({**(item.protocol_config or {}), **changes})])

    def delete(self, ref: str) -> None:
        self._item(ref).delete()

    def _set_credentials(self, item: SupplierItem, credentials: dict[str, str]) -> None:
        item.auth_config_ciphertext = crypto.encrypt_credentials(item.id, credentials)
        item.auth_config_keys = sorted(credentials)
