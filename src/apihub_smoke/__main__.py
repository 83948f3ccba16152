"""``make smoke API=<url> TOKEN=<token> [SMOKE_SUPPLIER=<slug>]``: a short black-box check of a running
apihub (a deployed stack or the local one), over HTTP only (docs/operations.md, "Smoke test").

Health, the public OpenAPI schema, a throwaway supplier created, read (by slug and id) and deleted,
lists with their cursors (a page of one, its ``X-Next-Token`` followed, a made-up cursor refused), and,
with a supplier slug, a ``first_n`` import of that supplier that must end with exact counts
(success + failed = total = the limit) and with change events matching the job's own tally.
Prints one line per check; exits 1 at the first failed one, naming it.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import uuid
from collections import Counter
from collections.abc import Callable
from typing import Any

import requests


class SmokeFailed(Exception):
    pass


class Smoke:
    def __init__(self, api: str, token: str, timeout_s: float) -> None:
        self.api = api.rstrip("/")
        self.timeout_s = timeout_s
        self.http = requests.Session()
        self.http.headers["Authorization"] = f"Bearer {token}"
        self.checks = 0

    def call(self, method: str, path: str, expect: int, *, auth: bool = True, **kwargs: Any) -> requests.Response:
        send = self.http.request if auth else requests.request  # without auth: no token sent
        res = send(method, f"{self.api}{path}", timeout=30, **kwargs)
        if res.status_code != expect:
            raise SmokeFailed(f"{method} {path}: expected {expect}, got {res.status_code}: {res.text[:300]}")
        return res

    def check(self, name: str, step: Callable[[], str]) -> None:
        started = time.monotonic()
        detail = step()
        self.checks += 1
        print(f"ok  {name} ({time.monotonic() - started:.1f}s){': ' + detail if detail else ''}", flush=True)

    # ------------------------------------------------------------------------------------------ checks

    def health(self) -> str:
        body = self.call("GET", "/api/health", 200, auth=False).json()
        if body.get("status") != "ok":
            raise SmokeFailed(f"GET /api/health: status {body.get('status')!r}")
        return ""

    def openapi(self) -> str:
        schema = self.call("GET", "/api/openapi.json", 200, auth=False).json()
        if not str(schema.get("openapi", "")).startswith("3.") or "/api/sync-jobs" not in schema.get("paths", {}):
            raise SmokeFailed("GET /api/openapi.json: not this API's OpenAPI 3 schema")
        return f"{sum(len(ops) for ops in schema['paths'].values())} operations"

    def supplier_lifecycle(self) -> str:
        slug = f"smoke-{uuid.uuid4().hex[:10]}"
        body = {
            "name": "apihub smoke test (deleted at once)",
            "slug": slug,
            "protocol": "promostandards",
            "adapter_class": "PromoStandardsAdapter",
            "promostandards_code": "SMOKE",
            "is_active": False,
        }
        created = self.call("POST", "/api/suppliers", 201, json=body).json()
        try:
            by_slug = self.call("GET", f"/api/suppliers/{slug}", 200).json()
            by_id = self.call("GET", f"/api/suppliers/{created['id']}", 200).json()
            if by_slug["id"] != created["id"] or by_id["slug"] != slug:
                raise SmokeFailed(f"supplier {slug}: read back as {by_slug['id']} / {by_id['slug']}")
            jobs = self.call("GET", "/api/sync-jobs", 200, params={"supplier_id": slug}).json()
            if jobs != []:
                raise SmokeFailed(f"a new supplier has jobs: {jobs[:2]}")
        finally:
            self.call("DELETE", f"/api/suppliers/{created['id']}", 204)
        gone = self.call("GET", f"/api/suppliers/{slug}", 404).json()
        if gone != {"detail": "Supplier not found"}:
            raise SmokeFailed(f"a deleted supplier answers {gone}")
        return slug

    def cursors(self) -> str:
        walked = []
        for path in ("/api/sync-jobs", "/api/changes"):
            first = self.call("GET", path, 200, params={"limit": 1})
            token = first.headers.get("X-Next-Token")
            if len(first.json()) > 1:
                raise SmokeFailed(f"GET {path}?limit=1 answered {len(first.json())} items")
            if token:
                second = self.call("GET", path, 200, params={"limit": 1, "next_token": token}).json()
                if second and second[0] == first.json()[0]:
                    raise SmokeFailed(f"GET {path}: the next page repeats the first")
            walked.append(f"{path} {'2 pages' if token else '1 page'}")
            bad = self.call("GET", path, 400, params={"next_token": "made-up"}).json()
            if "next_token" not in bad.get("detail", ""):
                raise SmokeFailed(f"GET {path} with a made-up cursor: {bad}")
        return ", ".join(walked)

    def first_n_import(self, supplier: str, limit: int) -> str:
        accepted = self.call("POST", f"/api/suppliers/{supplier}/import", 202, json={"mode": "first_n", "limit": limit})
        job_id = accepted.json()["sync_job_id"]
        deadline = time.monotonic() + self.timeout_s
        job = self.call("GET", f"/api/sync-jobs/{job_id}", 200).json()
        while not job.get("completed_at"):
            if time.monotonic() > deadline:
                raise SmokeFailed(f"job {job_id} not finished after {self.timeout_s:.0f}s: {job['status']}")
            time.sleep(1)
            job = self.call("GET", f"/api/sync-jobs/{job_id}", 200).json()
        total, ok, failed = job["total_products"], job["success_count"], job["failed_count"]
        if job["status"] not in ("success", "partial_success") or total != limit or ok + failed != total:
            raise SmokeFailed(f"job {job_id}: {job['status']}, total {total}, success {ok}, failed {failed}")
        errors = self._all(f"/api/sync-jobs/{job_id}/errors")
        if len(errors) != failed:
            raise SmokeFailed(f"job {job_id}: {failed} failed but {len(errors)} errors listed")
        tally = self._changes_of(job_id, deadline)
        return f"job {job_id}: {job['status']}, {ok} + {failed} of {total}; changes {dict(sorted(tally.items()))}"

    def _changes_of(self, job_id: str, deadline: float) -> Counter[str]:
        """The job's change events, once the log holds as many as the job's tally (events reach the
        log through the table's stream, a little after the job's writes)."""
        while True:
            counts = self.call("GET", f"/api/sync-jobs/{job_id}/changes", 200).json()["counts"]
            tally = Counter(e["type"] for e in self._all("/api/changes", job_id=job_id, since="2000-01-01T00:00:00Z"))
            if tally == Counter(counts) and tally["job.finished"] == 1:
                return tally
            if time.monotonic() > deadline:
                raise SmokeFailed(f"job {job_id}: changes listed {dict(tally)}, the job's tally {counts}")
            time.sleep(1)

    def _all(self, path: str, **params: Any) -> list[Any]:
        items: list[Any] = []
        token = None
        while True:
            query = {**params, "limit": 1000, **({"next_token": token} if token else {})}
            res = self.call("GET", path, 200, params=query)
            items += res.json()
            token = res.headers.get("X-Next-Token")
            if not token:
                return items


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make smoke", description=__doc__.split("\n\n")[0])
    parser.add_argument("--api", required=True, help="the API's base URL (the stack's HttpApiUrl output)")
    parser.add_argument(
        "--token",
        default=os.environ.get("APIHUB_SMOKE_TOKEN", ""),
        help="an admin token (apihub token create --role admin); default $APIHUB_SMOKE_TOKEN, kept off the command line",
    )
    parser.add_argument("--supplier", default="", help="slug of a supplier to import first_n from")
    parser.add_argument("--limit", type=int, default=5, help="products of the first_n import")
    parser.add_argument("--timeout", type=float, default=120, help="seconds the import may take")
    args = parser.parse_args(argv)
    if not args.api or not args.token:
        parser.error("give API=<url> and TOKEN=<admin token>")
    smoke = Smoke(args.api, args.token, args.timeout)
    started = time.monotonic()
    try:
        smoke.check("health", smoke.health)
        smoke.check("OpenAPI schema (no token)", smoke.openapi)
        smoke.check("supplier created, read by slug and id, deleted", smoke.supplier_lifecycle)
        smoke.check("lists and cursors", smoke.cursors)
        if args.supplier:
            smoke.check(f"first_n import of {args.supplier}", lambda: smoke.first_n_import(args.supplier, args.limit))
    except (SmokeFailed, requests.RequestException) as exc:
        print(f"FAIL {exc}", file=sys.stderr)
        return 1
    print(f"smoke: {smoke.checks} checks passed against {args.api} in {time.monotonic() - started:.1f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
