"""``apihub changes tail``: follow ``GET /api/changes`` like ``tail -f``.

Starts ``--since`` ago (default: now, so only new events), prints each event as one line (or JSON
with ``--json``), and polls with the last page's cursor: the feed's cursor never runs out, and a
page with nothing new hands the same cursor back (docs/changes.md, "Pull API")."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from apihub_cli.client import ApiClient


def follow(
    client: ApiClient,
    filters: dict[str, str],
    since: str,
    *,
    poll_s: float = 1.0,
    stop: Callable[[], bool] = lambda: False,
) -> Iterator[dict[str, Any]]:
    """Every event matching ``filters`` logged from ``since`` on, as it comes, until ``stop()``."""
    cursor = since
    while not stop():
        page = client.page("/api/changes", since=cursor, limit=1000, **filters)
        yield from page.items
        cursor = page.next_token or cursor
        if not page.items:
            time.sleep(poll_s)


def since_ago(seconds: float) -> str:
    """An ISO time ``seconds`` ago (the feed's ``since``)."""
    return (datetime.now(UTC) - timedelta(seconds=seconds)).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def line(event: dict[str, Any], width: int | None = None) -> str:
    """One event as one line of at most ``width`` characters: the time of day (UTC), type, product
    (or job), and what changed (cut with ``…`` to fit; ``--json`` has it all)."""
    data = event.get("data") or {}
    what = event.get("product_id") or event.get("job_id") or "-"
    detail = ""
    if event["type"] == "product.updated":
        fields = data.get("changed_fields")
        detail = "changed " + (",".join(fields) if fields else "?")
        if data.get("parts_added"):
            detail += f" +{len(data['parts_added'])} parts"
        if data.get("parts_removed"):
            detail += f" -{len(data['parts_removed'])} parts"
    elif event["type"] == "job.finished":
        detail = f"{data.get('mode')} {data.get('status')} ({data.get('success_count')} ok, {data.get('failed_count')} failed)"
    elif event["type"] == "inventory.changed":
        detail = f"{len(data.get('parts') or [])} parts"
    at = str(event["occurred_at"])
    at = f"{at[11:19]}Z" if len(at) >= 19 else at
    text = f"{at}  {event['type']:<20} {what}  {detail}".rstrip()
    return text if width is None or len(text) <= width else text[: width - 1] + "…"
