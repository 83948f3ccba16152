"""The change log's table (``apihub.dal.changes``)."""

from __future__ import annotations

from pynamodb.attributes import (
    NumberAttribute,
    UnicodeAttribute,
)
from pynamodb.indexes import GlobalSecondaryIndex, IncludeProjection
from pynamodb.models import Model

# --------------------------------------------------------------------------------------------------
# Change log (apihub.dal.changes)
# --------------------------------------------------------------------------------------------------

# The log's spread: each event is in one of CHANGE_SHARDS partitions of its owner (job or supplier)
# and of its day in ChangesFeed, by its id, so no key takes more than 1/CHANGE_SHARDS of the events
# (docs/changes.md, "The change log": the arithmetic).
CHANGE_SHARDS = 16


class ChangeFeedIndex(GlobalSecondaryIndex["ChangeItem"]):
    """``ChangesFeed``: the whole log in the order events entered it, a day's shard per key. It
    copies what the filters of GET /api/changes test, so a filter is a condition of the Query."""

    class Meta:
        index_name = "ChangesFeed"
        projection = IncludeProjection(["event", "type", "supplier_id", "job_id"])

    feed = UnicodeAttribute(hash_key=True)
    log_sort = UnicodeAttribute(range_key=True)


class ChangeItem(Model):
    """One change event, keyed by what the event fixes (a redelivered change cannot write a second
    item): its job's (or supplier's) shard and ``<type>#<id>``. ``event`` is exactly
    ``ChangeEvent.model_dump_json()``: the stream of this table (NEW_IMAGE) carries it to
    EventBridge and webhooks."""

    class Meta:
        table_name = "apihub-changes"
        # The log has a client of its own (``bind_tables``): one HTTP attempt per call, each bounded
        # by these timeouts, so a write lands within LOG_WRITE_BOUND_MS of taking its position
        # (apihub.dal.changes, docs/changes.md "Nothing is skipped"); call_with_retries retries.
        connect_timeout_seconds = 2
        read_timeout_seconds = 3
        max_retry_attempts = 0

    pk = UnicodeAttribute(hash_key=True)  # "<job id>#<shard>", or "supplier#<supplier id>#<shard>"
    sk = UnicodeAttribute(range_key=True)  # "<type>#<event id>"
    id = UnicodeAttribute()
    event = UnicodeAttribute()
    type = UnicodeAttribute()
    supplier_id = UnicodeAttribute()
    job_id = UnicodeAttribute(null=True)
    logged_at = UnicodeAttribute()
    log_sort = UnicodeAttribute()  # "<logged_at>#<id>": the log's order
    expires_at = NumberAttribute()  # epoch seconds; the table's TTL attribute
    feed = UnicodeAttribute()  # "<yyyy-mm-dd of logged_at>#<shard>"
    feed_index = ChangeFeedIndex()
