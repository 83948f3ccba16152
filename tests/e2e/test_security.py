"""Security through the local stack: every route the template declares, but health and the public
jobs page, turns away a missing, wrong, expired or revoked token (as a bearer token and as the
``auth_token`` cookie) before anything else, a viewer cannot mutate and a service token can only
PATCH jobs; supplier credentials appear in no API response and no log line of a full run."""

from __future__ import annotations

import json
import secrets
import subprocess
import time
import uuid
from pathlib import Path

import pytest
from apihub.api.catalog import BY_KEY

from apihub_local.template import Template
from apihub_verify import record

pytestmark = pytest.mark.e2e

VENV_PY = Path(__file__).resolve().parents[2] / ".venv" / "bin" / "python"
ROUTES = sorted((r.method, r.path, r.public) for fn in Template().functions().values() for r in fn.routes)
PUBLIC = {(m, p) for m, p, public in ROUTES if public}
GUARDED = [(m, p) for m, p, public in ROUTES if not public]


def _in_stack(stack, script: str) -> str:
    """Run ``script`` against the stack's own tables (its moto server), as ``apihub token create`` does."""
    state = json.loads(Path(stack.env["APIHUB_LOCAL_STATE"]).read_text())
    env = {
        **stack.env,
        **{k: str(v) for k, v in state["environment"].items()},
        "AWS_ACCESS_KEY_ID": "local",
        "AWS_SECRET_ACCESS_KEY": "local",
        "AWS_DEFAULT_REGION": state["environment"].get("AWS_DEFAULT_REGION", "us-east-1"),
    }
    proc = subprocess.run(
        [str(VENV_PY), "-c", script], env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip()


def _create(stack, role: str) -> str:
    return _in_stack(
        stack, f"from apihub.dal.tokens import TokensRepository; print(TokensRepository().create({role!r}, ttl_days=1))"
    )


def _expire(stack, token: str) -> None:
    _in_stack(
        stack,
        "import time\nfrom apihub.dal.tables import TokenItem\nfrom apihub.dal.tokens import TokensRepository, hash_token\n"
        "TokensRepository()  # binds the model to the stack's table\n"
        f"TokenItem(hash_token({token!r})).update(actions=[TokenItem.expires_at.set(int(time.time()) - 60)])",
    )


def _revoke(stack, token: str) -> None:
    _in_stack(stack, f"from apihub.dal.tokens import TokensRepository; TokensRepository().revoke({token!r})")


def _url(path: str) -> str:
    values = {"job_id": str(uuid.uuid4()), "supplier_id": "demo", "product_id": "PSF00001"}
    for name, value in values.items():
        path = path.replace("{" + name + "}", value)
    return path


def _call(stack, method: str, path: str, token: str | None, *, cookie: bool = False):
    # An invalid body on purpose: the caller must be turned away before the body is looked at
    kwargs = {"json": {"mode": "not-a-mode", "name": ""}} if method in ("POST", "PATCH") else {}
    if cookie and token:
        return stack.api(method, _url(path), token=None, cookies={"auth_token": token}, **kwargs)
    return stack.api(method, _url(path), token=token, **kwargs)


def test_every_guarded_route_rejects_bad_tokens_and_roles_are_enforced(demo_stack) -> None:
    stack = demo_stack
    # Public: liveness, the jobs page (static HTML) and the OpenAPI schema (no data; a generator fetches it)
    assert len(GUARDED) >= 14 and {("GET", "/api/health"), ("GET", "/"), ("GET", "/api/openapi.json")} == PUBLIC
    # Given tokens that worked until they expired or were revoked, a viewer and a service token
    expired, revoked = _create(stack, "admin"), _create(stack, "admin")
    for token in (expired, revoked):
        assert stack.api("GET", "/api/sync-jobs", token=token).status_code == 200
    _expire(stack, expired)
    _revoke(stack, revoked)
    viewer, service = _create(stack, "viewer"), _create(stack, "service")
    bad = {
        "missing": (None, "Unauthorized: missing token"),
        "wrong": (f"ah_{secrets.token_urlsafe(32)}", "Unauthorized: invalid token"),
        "expired": (expired, "Unauthorized: token expired"),
        "revoked": (revoked, "Unauthorized: token revoked"),
    }
    checked = 0
    for method, path in GUARDED:
        for kind, (token, detail) in bad.items():
            for cookie in (False, True):
                # When the route is called with a bad token (bearer or cookie)
                res = _call(stack, method, path, token, cookie=cookie)
                checked += 1
                # Then it is a 401 naming the reason, whatever the body
                assert res.status_code == 401, (method, path, kind, cookie, res.status_code, res.text)
                assert res.json()["detail"].startswith(detail), (method, path, kind, res.text)
        # And a viewer may read but not mutate; a service token may only PATCH jobs (and neither
        # may touch the admin-only routes, webhook subscriptions, even to read)
        as_viewer = _call(stack, method, path, viewer)
        as_service = _call(stack, method, path, service, cookie=True)
        roles = BY_KEY[(method, path)].roles
        if "viewer" in roles:
            assert as_viewer.status_code not in (401, 403), (method, path, as_viewer.text)
        else:
            assert as_viewer.status_code == 403, (method, path, as_viewer.status_code, as_viewer.text)
            service_may = (method, path) == ("PATCH", "/api/sync-jobs/{job_id}")
            assert (as_service.status_code == 403) != service_may, (method, path, as_service.status_code)
            assert ("service" in roles) == service_may, (method, path, roles)
        checked += 2
    # And the public routes answer without a token
    for method, path in PUBLIC:
        assert stack.api(method, path, token=None).status_code == 200
    record(
        "security",
        "auth-walk",
        title="Security: auth on every route, secrets, IaC scan",
        examples=len(GUARDED),
        requests=checked,
        notes=[
            f"{len(GUARDED)} guarded routes x missing/wrong/expired/revoked token x bearer/cookie: all 401; "
            "viewer 403 on every mutation; service token only PATCH jobs"
        ],
    )


def test_supplier_credentials_appear_in_no_response_and_no_log_line(stack_factory) -> None:
    from apihub_local.children import start_child
    from apihub_local.demo import DEMO_LIMITS

    # Given a stack logging everything, and a REST supplier whose credentials are distinctive
    stack = stack_factory(APIHUB_DEMO_PRODUCTS="12", POWERTOOLS_LOG_LEVEL="DEBUG", APIHUB_LOCAL_LOG_FORMAT="json")
    api_key, private_key = f"APIKEY{secrets.token_hex(12)}", f"PRIVKEY{secrets.token_hex(16)}"
    ps_id, ps_password = f"PSACCOUNT{secrets.token_hex(8)}", f"PSPASSWORD{secrets.token_hex(12)}"
    secrets_ = [api_key, private_key, ps_id, ps_password]
    args = ["-m", "apihub_local.children", "apihub_fakes.fourover", "--port", "0", "--products", "12"]
    fake = start_child("secret REST supplier", [*args, "--api-key", api_key, "--private-key", private_key])
    responses: list[str] = []

    def call(method: str, path: str, **kwargs):
        res = stack.api(method, path, **kwargs)
        responses.append(f"{res.status_code} {dict(res.headers)} {res.text}")
        return res

    try:
        # When it is created, read, listed, patched and imported, and a PromoStandards supplier
        # with wrong but distinctive credentials is imported too (its job fails on them)
        body = {
            "name": "Secretive",
            "slug": "secretive",
            "protocol": "rest_hmac",
            "base_url": fake.info["base_url"],
            "adapter_class": "FourOverAdapter",
            "auth_config": {"api_key": api_key, "private_key": private_key},
            "protocol_config": dict(DEMO_LIMITS),
        }
        assert call("POST", "/api/suppliers", json=body).status_code == 201
        assert call("PATCH", "/api/suppliers/secretive", json={"auth_config": body["auth_config"]}).status_code == 200
        demo = call("GET", "/api/suppliers/demo").json()
        wrong = {
            "name": "Wrong credentials",
            "slug": "wrong-creds",
            "adapter_class": "PromoStandardsAdapter",
            "auth_config": {"id": ps_id, "password": ps_password},
            "protocol_config": {**demo["protocol_config"]},
        }
        assert call("POST", "/api/suppliers", json=wrong).status_code == 201
        jobs = {}
        for slug in ("secretive", "wrong-creds"):
            res = call("POST", f"/api/suppliers/{slug}/import", json={"mode": "full_sellable"})
            assert res.status_code == 202, res.text
            jobs[slug] = res.json()["sync_job_id"]
        deadline = time.monotonic() + 120
        finished: dict[str, dict] = {}
        while len(finished) < len(jobs):
            assert time.monotonic() < deadline, finished
            for slug, job_id in jobs.items():
                job = call("GET", f"/api/sync-jobs/{job_id}").json()
                if job["completed_at"]:
                    finished[slug] = job
            time.sleep(0.2)
        assert finished["secretive"]["status"] == "success" and finished["secretive"]["total_products"] > 0
        assert finished["wrong-creds"]["status"] == "failed" and "AuthError" in (
            finished["wrong-creds"]["error_log"] or ""
        )
        for slug, job_id in jobs.items():
            call("GET", f"/api/sync-jobs/{job_id}/errors")
            call("GET", f"/api/suppliers/{slug}")
            call("GET", f"/api/suppliers/{slug}/products")
        for path in ("/api/suppliers", "/api/sync-jobs", "/api/sync-jobs/health", "/api/openapi.json"):
            call("GET", path)
        supplier = call("GET", "/api/suppliers/secretive").json()
        assert supplier["auth_config"] == {"api_key": "********", "private_key": "********"}
    finally:
        fake.stop()
        stack.stop()  # every log line is written once the stack has stopped
    # Then no response and no log line holds any of the secrets
    log = stack.log.read_text(errors="replace")
    assert jobs["secretive"] in log and '"level":"DEBUG"' in log.replace(" ", ""), "the logs were not captured"
    leaks = [s for s in secrets_ if s in log] + [s for s in secrets_ for r in responses if s in r]
    record(
        "security",
        "secrets",
        title="Security: auth on every route, secrets, IaC scan",
        examples=2,
        requests=len(responses),
        failures=len(leaks),
        notes=[
            f"{len(secrets_)} distinctive credentials, 2 imports (success, AuthError): found in 0 of "
            f"{len(responses)} responses and {len(log.splitlines())} log lines"
            if not leaks
            else f"LEAKED: {len(leaks)}"
        ],
    )
    assert not leaks, [s[:12] for s in leaks]
