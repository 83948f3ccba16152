"""The local runtime runs API invocations concurrently, as Lambda does in separate environments:
each request must be answered from its own event, never from another thread's."""

from __future__ import annotations

import sys
from concurrent.futures import ThreadPoolExecutor


def test_concurrent_api_invocations_each_answer_their_own_request(hub) -> None:
    # Given four suppliers
    slugs = [f"sup-{n}" for n in range(4)]
    for slug in slugs:
        hub.add_supplier(slug)

    def fetch(n: int) -> tuple[str, str, int]:
        slug = slugs[n % len(slugs)]
        res = hub.api("GET", f"/api/suppliers/{slug}")
        return slug, (res.json or {}).get("slug", ""), res.status

    # When 8 threads fetch them, interleaved, 400 times (switching threads as often as possible)
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        with ThreadPoolExecutor(max_workers=8) as pool:
            answers = list(pool.map(fetch, range(400)))
    finally:
        sys.setswitchinterval(interval)
    # Then every answer is the supplier that request asked for
    wrong = [a for a in answers if a[0] != a[1] or a[2] != 200]
    assert not wrong, wrong[:5]
