"""Pure arithmetic of the benchmark (unit tested): the supplier-bound limit, ratios, medians."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from typing import Any


def limit_per_s(concurrency: int, latency_ms: float) -> float:
    """Products per second that ``concurrency`` workers can reach when every product costs one
    supplier call of ``latency_ms``: C x 1000 / latency. (The per-supplier limiter would lower it
    to ``min(this, rate_limit_per_s)``; the bench's suppliers set limits that never bind.)"""
    if concurrency < 1 or latency_ms <= 0:
        raise ValueError("concurrency must be >= 1 and latency_ms > 0")
    return concurrency * 1000.0 / latency_ms


def throughput_row(concurrency: int, latency_ms: float, products: int, seconds: float) -> dict[str, Any]:
    """One ``throughput`` entry: products per second from job start to finish against the limit."""
    if seconds <= 0:
        raise ValueError("seconds must be > 0")
    rate = products / seconds
    limit = limit_per_s(concurrency, latency_ms)
    return {
        "concurrency": concurrency,
        "latency_ms": latency_ms,
        "products": products,
        "products_per_s": round(rate, 2),
        "limit_per_s": round(limit, 2),
        "ratio": round(rate / limit, 3),
    }


def p50(samples: Sequence[float]) -> float:
    """The median (the mean of the middle two for an even count)."""
    if not samples:
        raise ValueError("no samples")
    return float(statistics.median(samples))


def percentile(samples: Sequence[float], pct: float) -> float:
    """The ``pct``-th percentile, interpolated between the two nearest ranks (numpy's default);
    the 50th is the median."""
    if not samples:
        raise ValueError("no samples")
    if not 0 <= pct <= 100:
        raise ValueError("pct must be between 0 and 100")
    ordered = sorted(samples)
    rank = (len(ordered) - 1) * pct / 100
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return float(ordered[low] + (ordered[high] - ordered[low]) * (rank - low))


def per_product(requests: int, products: int) -> float:
    if products <= 0:
        raise ValueError("products must be > 0")
    return round(requests / products, 3)


def mb(size_bytes: int) -> float:
    """Megabytes (10^6 bytes, as Lambda's 250 MB unzipped layer quota counts them)."""
    return round(size_bytes / 1_000_000, 1)
