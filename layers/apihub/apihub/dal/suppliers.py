"""Suppliers table access (credentials encrypted with KMS on the way in, masked on the way out)."""

from __future__ import annotations

import builtins  # `list` is also a method here: signatures after it name builtins.list
import re
import uuid
from typing import Any

from pynamodb.exceptions import DoesNotExist, UpdateError
from pynamodb.expressions.update import Action

from apihub.dal import crypto
from apihub.dal.tables import SupplierItem, bind_tables
from apihub.errors import ConcurrentChange, SupplierNotFound
from apihub.models import Protocol, now_iso
from apihub.modes.table import sync_fields
from apihub.settings import Settings, get_settings
from apihub.supplier_models import Supplier, SupplierIn, SupplierPatch

# How often a write that a read decided is tried again after losing to a concurrent write.
CONFLICT_ATTEMPTS = 5
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
        **{name: getattr(item, name) for name in sync_fields()},
        created_at=item.created_at,
        updated_at=item.updated_at,
        product_count=int(item.product_count or 0),
        inventory_runs_skipped=int(item.inventory_runs_skipped or 0),
        inventory_last_skipped_at=item.inventory_last_skipped_at,
        inventory_stock=item.inventory_stock,
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

    def find(self, ref: str) -> Supplier | None:
        """The supplier, or None when there is none by that id or slug."""
        try:
            return self.get(ref)
        except SupplierNotFound:
            return None

    def claim_schedule_slot(self, supplier_id: str, slot_field: str, slot: int) -> bool:
        """Take a periodic schedule's period ``slot`` (epoch seconds // period) for this supplier, in
        the supplier attribute ``slot_field`` (the mode row's): True once per slot, however often
        the tick runs (a retried tick starts nothing twice)."""
        held = getattr(SupplierItem, slot_field)
        try:
            SupplierItem(supplier_id).update(
                actions=[held.set(slot)],
                condition=SupplierItem.id.exists() & (held.does_not_exist() | (held < slot)),
            )
        except UpdateError as exc:
            if _condition_failed(exc):
                return False
            raise
        return True

    def release_schedule_slot(self, supplier_id: str, slot_field: str, slot: int) -> None:
        """Give ``slot`` back (the run could not start for a reason the next tick may not have)."""
        held = getattr(SupplierItem, slot_field)
        try:
            SupplierItem(supplier_id).update(actions=[held.set(slot - 1)], condition=held == slot)
        except UpdateError as exc:
            if not _condition_failed(exc):
                raise

    def count_inventory_skip(self, supplier_id: str, at: str) -> None:
        """One more scheduled inventory run skipped (the previous one was still going)."""
        try:
            SupplierItem(supplier_id).update(
                actions=[
                    SupplierItem.inventory_runs_skipped.add(1),
                    SupplierItem.inventory_last_skipped_at.set(at),
                ],
                condition=SupplierItem.id.exists(),
            )
        except UpdateError as exc:
            if not _condition_failed(exc):
                raise

    def store_inventory_summary(self, supplier_id: str, summary: dict[str, Any], job_started_at: str) -> bool:
        """Keep the stock summary of the inventory job started at ``job_started_at`` (health's
        source), unless one of a later job is stored already. False when not stored."""
        started = SupplierItem.inventory_stock_job_started
        try:
            SupplierItem(supplier_id).update(
                actions=[SupplierItem.inventory_stock.set(summary), started.set(job_started_at)],
                condition=SupplierItem.id.exists() & (started.does_not_exist() | (started <= job_started_at)),
            )
        except UpdateError as exc:
            if _condition_failed(exc):
                return False
            raise
        return True

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
        """Create, or update and re-activate the supplier with this slug. Returns (supplier, created).

        An update writes the settings only (one ``UpdateItem``): the sync fields and ``product_count``,
        which finalise and hydrate write meanwhile, stay as they are."""
        now = now_iso()
        for _ in range(CONFLICT_ATTEMPTS):
            try:
                found = self._item(body.slug)
            except SupplierNotFound:
                return self._create(body, now), True
            actions = [
                *_settings_actions(body.model_dump(exclude={"slug", "auth_config", "is_active"})),
                SupplierItem.is_active.set(True),
                *self._credential_actions(found.id, body.auth_config),
            ]
            try:
                return self._update(found.id, actions, now), False
            except SupplierNotFound:
                continue  # deleted since we looked it up: look again (and create it)
        raise ConcurrentChange(f"supplier '{body.slug}' was changed concurrently; try again")

    def patch(self, ref: str, patch: SupplierPatch) -> Supplier:
        """Write the given fields only (one ``UpdateItem``), so a concurrent finalise keeps its sync fields."""
        supplier_id = self._item(ref).id
        fields = patch.model_dump(exclude_unset=True)
        credentials = fields.pop("auth_config", None)  # null keeps the stored credentials
        actions = [*_settings_actions(fields), *self._credential_actions(supplier_id, credentials)]
        return self._update(supplier_id, actions, now_iso())

    def update_protocol_config(self, supplier_id: str, changes: dict[str, Any]) -> bool:
        """Merge adapter-maintained state (e.g. a directory cache) into ``protocol_config``.

        The merge is decided by a read, so it is written only if no settings write came in between
        (the version is unchanged); otherwise it is merged again over the newer settings. False when
        it could not be stored (the supplier is gone, or kept changing): the state is a cache, the
        adapter works it out again next time."""
        for _ in range(CONFLICT_ATTEMPTS):
            try:
                item = SupplierItem.get(supplier_id, consistent_read=True)
            except DoesNotExist:
                return False
            unchanged = (
                SupplierItem.version.does_not_exist()
                if item.version is None
                else SupplierItem.version == int(item.version)
            )
            try:
                SupplierItem(supplier_id).update(
                    actions=[
                        SupplierItem.protocol_config.set({**(item.protocol_config or {}), **changes}),
                        SupplierItem.version.add(1),
                    ],
                    condition=SupplierItem.id.exists() & unchanged,
                )
                return True
            except UpdateError as exc:
                if not _condition_failed(exc):
                    raise
        return False

    def delete(self, ref: str) -> None:
        self._item(ref).delete()

    def _create(self, body: SupplierIn, now: str) -> Supplier:
        item = SupplierItem(
            str(uuid.uuid4()),
            name=body.name,
            slug=body.slug,
            protocol=body.protocol.value,
            promostandards_code=body.promostandards_code,
            base_url=body.base_url,
            adapter_class=body.adapter_class,
            protocol_config=body.protocol_config,
            schedules=body.schedules,
            is_active=body.is_active,
            created_at=now,
            updated_at=now,
            product_count=0,
            version=1,
        )
        if body.auth_config is not None:
            item.auth_config_ciphertext = crypto.encrypt_credentials(item.id, body.auth_config)
            item.auth_config_keys = sorted(body.auth_config)
        item.save(condition=SupplierItem.id.does_not_exist())  # a fresh uuid: never overwrites
        return to_model(item)

    def _update(self, supplier_id: str, actions: builtins.list[Action], now: str) -> Supplier:
        """Apply ``actions`` (plus ``updated_at`` and the version) to an existing supplier; the result
        is the whole item as stored after the write."""
        item = SupplierItem(supplier_id)
        try:
            item.update(
                actions=[*actions, SupplierItem.updated_at.set(now), SupplierItem.version.add(1)],
                # UpdateItem would otherwise create a stub of a supplier deleted since it was read.
                condition=SupplierItem.id.exists(),
            )
        except UpdateError as exc:
            if _condition_failed(exc):
                raise SupplierNotFound(supplier_id) from None
            raise
        return to_model(item)

    @staticmethod
    def _credential_actions(supplier_id: str, credentials: dict[str, str] | None) -> builtins.list[Action]:
        if credentials is None:
            return []
        return [
            SupplierItem.auth_config_ciphertext.set(crypto.encrypt_credentials(supplier_id, credentials)),
            SupplierItem.auth_config_keys.set(sorted(credentials)),
        ]


# Settings a write may name. The sync fields and product_count are not among them: only the pipeline writes them.
_NULLABLE = ("promostandards_code", "base_url", "adapter_class")
_EMPTY_WHEN_NULL = ("protocol_config", "schedules")
_REQUIRED = ("name", "protocol", "is_active")


def _settings_actions(fields: dict[str, Any]) -> list[Action]:
    """One action per given setting; DynamoDB stores no nulls, so a null optional setting is removed."""
    actions: list[Action] = []
    for name, value in fields.items():
        attr = getattr(SupplierItem, name)
        if name in _NULLABLE:
            actions.append(attr.remove() if value is None else attr.set(value))
        elif name in _EMPTY_WHEN_NULL:
            actions.append(attr.set(value or {}))
        elif name in _REQUIRED:
            actions.append(attr.set(Protocol(value).value if name == "protocol" else value))
        else:
            raise ValueError(f"not a supplier setting: {name}")
    return actions


def _condition_failed(exc: Exception) -> bool:
    return getattr(exc, "cause_response_code", None) == "ConditionalCheckFailedException"
