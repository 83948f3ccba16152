"""Per-supplier call slots and 429 penalties in the jobs table (see ``apihub.ratelimit``).

Every call goes through ``call_with_retries``: contention is retried with backoff, a lost
condition is an answer (the slot is taken), and ``ServiceBusy`` is raised at the bound."""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

from pynamodb.exceptions import DoesNotExist, UpdateError

from apihub.dal.retries import call_with_retries
from apihub.dal.tables import RatePenaltyItem, RateSlotItem, bind_tables
from apihub.settings import Settings, get_settings


def rate_pk(supplier_id: str) -> str:
    return f"RATE#{supplier_id}"


@dataclass
class Slot:
    number: int
    tokens: float | None
    refilled_ms: int | None


class LimitsRepository:
    def __init__(self, settings: Settings | None = None) -> None:
        bind_tables(settings or get_settings())

    def acquire_slot(
        self, supplier_id: str, max_concurrency: int, holder: str, lease_ms: int, now_ms: int
    ) -> Slot | None:
        """Lease a free slot (never leased, released, or its lease expired): one read to find the
        candidates, then a conditional write per attempt. None when all are busy."""
        slots = self.acquire_slots(supplier_id, max_concurrency, holder, lease_ms, now_ms, count=1)
        return slots[0] if slots else None

    def acquire_slots(
        self, supplier_id: str, max_concurrency: int, holder: str, lease_ms: int, now_ms: int, count: int
    ) -> list[Slot]:
        """Lease up to ``count`` free slots with one read (a worker that keeps several calls in
        flight); fewer, or none, when the others are busy."""
        pk = rate_pk(supplier_id)
        slots = call_with_retries(
            lambda: list(RateSlotItem.query(pk, RateSlotItem.sk.startswith("SLOT#"), consistent_read=True)),
            what="read supplier slots",
        )
        existing = {int(item.sk.split("#", 1)[1]): item for item in slots}
        free = [
            k
            for k in range(max_concurrency)
            if k not in existing or existing[k].holder is None or (existing[k].expires_ms or 0) < now_ms
        ]
        # Prefer slots that exist (they carry a bucket state); otherwise any order is fine.
        free.sort(key=lambda k: (k not in existing, k))
        leased: list[Slot] = []
        for number in free:
            if len(leased) >= count:
                break
            item = RateSlotItem(pk, f"SLOT#{number:03d}")
            try:
                call_with_retries(
                    partial(
                        item.update,
                        actions=[RateSlotItem.holder.set(holder), RateSlotItem.expires_ms.set(now_ms + lease_ms)],
                        condition=RateSlotItem.holder.does_not_exist() | (RateSlotItem.expires_ms < now_ms),
                    ),
                    what="lease a supplier slot",
                )
            except UpdateError as exc:
                if getattr(exc, "cause_response_code", None) == "ConditionalCheckFailedException":
                    continue
                raise
            leased.append(
                Slot(
                    number,
                    float(item.tokens) if item.tokens is not None else None,
                    int(item.refilled_ms) if item.refilled_ms is not None else None,
                )
            )
        return leased

    def release_slot(self, supplier_id: str, number: int, holder: str, tokens: float, refilled_ms: int) -> None:
        """Hand the slot back with its bucket state, so the next holder continues from it."""
        try:
            call_with_retries(
                lambda: RateSlotItem(rate_pk(supplier_id), f"SLOT#{number:03d}").update(
                    actions=[
                        RateSlotItem.holder.remove(),
                        RateSlotItem.expires_ms.remove(),
                        RateSlotItem.tokens.set(tokens),
                        RateSlotItem.refilled_ms.set(refilled_ms),
                    ],
                    condition=RateSlotItem.holder == holder,
                ),
                what="release a supplier slot",
            )
        except UpdateError as exc:
            if getattr(exc, "cause_response_code", None) != "ConditionalCheckFailedException":
                raise  # else: our lease expired and someone else holds it now; nothing to hand back

    def penalty(self, supplier_id: str) -> tuple[int, float]:
        try:
            item = call_with_retries(
                lambda: RatePenaltyItem.get(rate_pk(supplier_id), "PENALTY", consistent_read=True),
                what="read the supplier's 429 penalty",
            )
        except DoesNotExist:
            return 0, 1.0
        return int(item.until_ms or 0), float(item.factor or 1)

    def penalize(self, supplier_id: str, until_ms: int, factor: float) -> None:
        call_with_retries(
            lambda: RatePenaltyItem(rate_pk(supplier_id), "PENALTY").update(
                actions=[RatePenaltyItem.until_ms.set(until_ms), RatePenaltyItem.factor.set(factor)]
            ),
            what="store the supplier's 429 penalty",
        )
