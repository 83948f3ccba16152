"""Terminal-friendly logs for the local stack.

The functions log structured JSON with Powertools (as in CloudWatch). Locally each record is
rendered on one line: ``12:00:01.234 INFO  HydrateFunction  recorded outcomes job_id=... recorded=5``.
The JSON is still what is produced; ``APIHUB_LOCAL_LOG_FORMAT=json`` prints it unchanged.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import types
from datetime import datetime

from apihub_local.runtime import current_function

# Powertools' standard keys that add nothing when reading a terminal.
_QUIET_KEYS = frozenset(
    {
        "level",
        "location",
        "message",
        "timestamp",
        "service",
        "cold_start",
        "function_name",
        "function_memory_size",
        "function_arn",
        "function_request_id",
        "xray_trace_id",
        "sampling_rate",
        "correlation_id",
        "exception",
        "exception_name",
        "stack_trace",
    }
)
_COLORS = {"DEBUG": "\033[2m", "INFO": "\033[32m", "WARNING": "\033[33m", "ERROR": "\033[31m", "CRITICAL": "\033[31m"}


class CompactFormatter(logging.Formatter):
    """Wraps a Powertools formatter: its JSON, re-rendered as one readable line."""

    def __init__(self, inner: logging.Formatter | None, color: bool = False) -> None:
        super().__init__()
        self.inner = inner
        self.color = color

    def format(self, record: logging.LogRecord) -> str:
        text = self.inner.format(record) if self.inner else super().format(record)
        try:
            data = json.loads(text)
        except ValueError:
            data = {"message": text}
        if not isinstance(data, dict):
            data = {"message": text}
        stamp = datetime.fromtimestamp(record.created).strftime("%H:%M:%S.%f")[:-3]
        level = record.levelname
        # Powertools' keys are shared by every thread of this process, so the function name comes
        # from the invocation running on this thread instead.
        source = current_function() or record.name
        extras = " ".join(f"{k}={_short(v)}" for k, v in data.items() if k not in _QUIET_KEYS)
        line = f"{stamp} {level:<5} {source:<24} {data.get('message', '')}"
        if extras:
            line += f"  {extras}"
        if self.color:
            line = f"{_COLORS.get(level, '')}{line}\033[0m"
        if data.get("exception"):
            line += "\n" + str(data["exception"])
        return line


def _short(value: object) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return text if len(text) <= 120 else text[:117] + "..."


def install(json_logs: bool = False) -> None:
    """Route the stack's own logs and the functions' Powertools logs to one readable stream.

    Call after the functions' handlers are loaded (Powertools creates its handler on first use)."""
    color = sys.stdout.isatty()
    root = logging.getLogger()
    if not root.handlers:
        handler = logging.StreamHandler(sys.stdout)
        handler.setFormatter(CompactFormatter(None, color) if not json_logs else logging.Formatter())
        root.addHandler(handler)
        root.setLevel(logging.INFO)
    for name in ("botocore", "urllib3", "pynamodb"):
        logging.getLogger(name).setLevel(logging.WARNING)
    # One short line per request at INFO; with the functions at DEBUG, the whole request too.
    level = logging.getLevelName(os.environ.get("POWERTOOLS_LOG_LEVEL", "INFO").upper())
    logging.getLogger("apihub.local.http").setLevel(level if isinstance(level, int) else logging.INFO)
    # boto3's pool (10) is smaller than the number of poller threads; a discarded keep-alive
    # connection costs nothing worth a warning.
    logging.getLogger("urllib3.connectionpool").setLevel(logging.ERROR)
    if json_logs:
        return
    service = logging.getLogger("apihub")  # Powertools' logger for service "apihub"
    service.propagate = False  # its handler prints; the root handler would print it again
    for service_handler in service.handlers:
        # Powertools keeps using the handler's formatter (append_keys & co), so it stays; the
        # handler re-renders what that formatter produced.
        if not getattr(service_handler, "_apihub_compact", False):
            compact = CompactFormatter(service_handler.formatter, color)
            render = types.MethodType(lambda self, record, c=compact: c.format(record), service_handler)
            service_handler.format = render  # type: ignore[method-assign]  # patched on this instance only
            service_handler._apihub_compact = True  # type: ignore[attr-defined]  # marks a handler already patched
