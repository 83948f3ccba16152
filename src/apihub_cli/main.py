"""``apihub``: suppliers, imports and sync jobs from the command line.

Talks to the HTTP API at ``APIHUB_URL`` (default http://127.0.0.1:3000) with the token from
``APIHUB_TOKEN`` or the config file (see ``apihub_cli.config``; ``make run`` writes it).
"""

from __future__ import annotations

import json
import os
import uuid
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from apihub_cli import config
from apihub_cli.client import ApiClient, CliError
from apihub_cli.watch import EXIT_CODES, watch_job

MODES = ("full_sellable", "delta", "first_n", "explicit_list", "closeouts")
STATUSES = ("pending", "running", "success", "partial_success", "failed")
STATUS_STYLE = {
    "pending": "dim",
    "running": "cyan",
    "success": "green",
    "partial_success": "yellow",
    "failed": "red",
}

app = typer.Typer(
    help="apihub: suppliers, imports and sync jobs. API at $APIHUB_URL (default http://127.0.0.1:3000); "
    "token from $APIHUB_TOKEN or the config file ($APIHUB_CONFIG, default ~/.config/apihub/config.json), "
    "which `make run` writes.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
token_app = typer.Typer(help="API tokens (written to the tokens table directly).", no_args_is_help=True)
suppliers_app = typer.Typer(help="Suppliers: list, show, add.", no_args_is_help=True)
jobs_app = typer.Typer(help="Sync jobs: list, show, errors, retry, watch.", no_args_is_help=True)
products_app = typer.Typer(help="Stored products.", no_args_is_help=True)
changes_app = typer.Typer(help="The change feed (GET /api/changes).", no_args_is_help=True)
demo_app = typer.Typer(help="The local stack's demo supplier.", no_args_is_help=True)
app.add_typer(token_app, name="token")
app.add_typer(suppliers_app, name="suppliers")
app.add_typer(jobs_app, name="jobs")
app.add_typer(products_app, name="products")
app.add_typer(changes_app, name="changes")
app.add_typer(demo_app, name="demo")

out = Console()
err = Console(stderr=True)

JsonOpt = Annotated[bool, typer.Option("--json", help="Print the API's JSON instead of a table.")]


def _client() -> ApiClient:
    return ApiClient()


def _fail(exc: CliError) -> typer.Exit:
    err.print(f"[red]Error:[/red] {exc}", highlight=False, markup=True)
    return typer.Exit(exc.exit_code)


def _print_json(data: Any) -> None:
    out.print_json(json.dumps(data))


def _status(status: str | None) -> str:
    status = status or "-"
    return f"[{STATUS_STYLE.get(status, '')}]{status}[/]"


def _supplier_id(client: ApiClient, ref: str) -> str:
    """A supplier id from an id or a slug (list filters take ids only)."""
    try:
        return str(uuid.UUID(ref))
    except ValueError:
        return str(client.get(f"/api/suppliers/{ref}")["id"])


# ------------------------------------------------------------------------------------------ token


@token_app.command("create")
def token_create(
    role: Annotated[str, typer.Option(help="viewer (GET), service (GET, PATCH sync-jobs) or admin (all)")] = "admin",
    name: Annotated[str | None, typer.Option(help="A label stored with the token")] = None,
    ttl_days: Annotated[float | None, typer.Option(help="Expire after this many days (default: never)")] = None,
    save: Annotated[bool, typer.Option("--save", help="Also write it to the CLI config file")] = False,
) -> None:
    """Create a token and print it (the only time it is shown; only its hash is stored).

    Writes to the tokens table named by APIHUB_TOKENS_TABLE (a deployed stack: use the
    TokensTableName stack output and your AWS credentials), else to the running local stack's
    table (`make run` leaves its settings in the local state file)."""
    if role not in ("viewer", "service", "admin"):
        raise _fail(CliError("--role must be viewer, service or admin", 2))
    try:
        where = _tokens_settings()
        from apihub.dal.tokens import TokensRepository
        from apihub.settings import reset_settings

        reset_settings()
        value = TokensRepository().create(role, name=name, ttl_days=ttl_days)
    except CliError as exc:
        raise _fail(exc) from None
    except Exception as exc:  # boto/pynamodb: credentials, table missing, endpoint down
        raise _fail(CliError(f"could not write the token to {where}: {exc}")) from None
    print(value)
    if save:
        path = config.save_config(token=value)
        err.print(f"saved to {path}", highlight=False)


def _tokens_settings() -> str:
    if os.environ.get("APIHUB_TOKENS_TABLE"):
        return f"table {os.environ['APIHUB_TOKENS_TABLE']}"
    state = config.load_state()
    if not state.get("environment"):
        raise CliError(
            "no tokens table: set APIHUB_TOKENS_TABLE (and AWS credentials) for a deployed stack, "
            f"or start the local stack with `make run` (it writes {config.state_path()})"
        )
    pid = state.get("pid")
    if isinstance(pid, int):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            raise CliError(
                f"the local stack in {config.state_path()} is not running (pid {pid}); start `make run`"
            ) from None
        except PermissionError:
            pass
    # The local stack's tables live on its moto server: its settings and dummy credentials.
    for key in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN"):
        os.environ.pop(key, None)
    os.environ.update({"AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local"})
    os.environ.update({k: str(v) for k, v in state["environment"].items()})
    return f"the local stack's tokens table ({state.get('url')})"


# ------------------------------------------------------------------------------------------ suppliers


@suppliers_app.command("list")
def suppliers_list(as_json: JsonOpt = False) -> None:
    """Every supplier."""
    try:
        suppliers = _client().get("/api/suppliers")
    except CliError as exc:
        raise _fail(exc) from None
    if as_json:
        return _print_json(suppliers)
    table = Table("slug", "name", "protocol", "adapter", "active", "products", "last full sync")
    table.add_column("id", no_wrap=True, min_width=36)
    for s in suppliers:
        table.add_row(
            s["slug"],
            s["name"],
            s.get("protocol") or "-",
            s.get("adapter_class") or "-",
            "yes" if s.get("is_active") else "no",
            str(s.get("product_count", 0)),
            s.get("last_full_sync") or "-",
            s["id"],
        )
    out.print(table)


@suppliers_app.command("show")
def suppliers_show(supplier: Annotated[str, typer.Argument(help="Slug or id")], as_json: JsonOpt = False) -> None:
    """One supplier (credentials are masked by the API)."""
    try:
        data = _client().get(f"/api/suppliers/{supplier}")
    except CliError as exc:
        raise _fail(exc) from None
    if as_json:
        return _print_json(data)
    _print_fields(data)


def _pairs(values: list[str], option: str) -> dict[str, str]:
    result = {}
    for value in values:
        key, sep, val = value.partition("=")
        if not sep or not key:
            raise CliError(f"{option} expects KEY=VALUE, got {value!r}", 2)
        result[key] = val
    return result


@suppliers_app.command("add")
def suppliers_add(
    slug: Annotated[str, typer.Option(help="Short unique name (an existing slug is updated)")],
    name: Annotated[str, typer.Option(help="Display name")],
    adapter: Annotated[
        str,
        typer.Option(
            help="PromoStandardsAdapter, SanMarAdapter, FourOverAdapter (DemoAdapter on the local stack only)"
        ),
    ],
    protocol: Annotated[str, typer.Option(help="promostandards or rest_hmac")] = "promostandards",
    base_url: Annotated[str | None, typer.Option(help="API root (REST suppliers)")] = None,
    code: Annotated[str | None, typer.Option(help="PromoStandards company code (directory lookup)")] = None,
    endpoint: Annotated[
        list[str] | None, typer.Option(help="SERVICE=URL for protocol_config.endpoints (repeatable)")
    ] = None,
    auth: Annotated[list[str] | None, typer.Option(help="KEY=VALUE for auth_config (repeatable; write-only)")] = None,
    config_json: Annotated[str | None, typer.Option("--config", help="protocol_config as a JSON object")] = None,
    inactive: Annotated[bool, typer.Option("--inactive", help="Create it switched off")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Create a supplier (or update the one with this slug)."""
    try:
        protocol_config: dict[str, Any] = {}
        if config_json:
            try:
                protocol_config = json.loads(config_json)
            except ValueError as exc:
                raise CliError(f"--config is not valid JSON: {exc}", 2) from None
            if not isinstance(protocol_config, dict):
                raise CliError("--config must be a JSON object", 2)
        if endpoint:
            protocol_config["endpoints"] = {**protocol_config.get("endpoints", {}), **_pairs(endpoint, "--endpoint")}
        body: dict[str, Any] = {
            "name": name,
            "slug": slug,
            "protocol": protocol,
            "adapter_class": adapter,
            "protocol_config": protocol_config,
            "is_active": not inactive,
        }
        if base_url:
            body["base_url"] = base_url
        if code:
            body["promostandards_code"] = code
        if auth:
            body["auth_config"] = _pairs(auth, "--auth")
        data = _client().post("/api/suppliers", body)
    except CliError as exc:
        raise _fail(exc) from None
    if as_json:
        return _print_json(data)
    out.print(f"supplier [bold]{data['slug']}[/bold] saved (id {data['id']})", highlight=False)


# ------------------------------------------------------------------------------------------ import


@app.command("import")
def import_(
    supplier: Annotated[str, typer.Argument(help="Supplier slug or id")],
    mode: Annotated[str, typer.Option(help=f"Discovery mode: {', '.join(MODES)}")] = "first_n",
    limit: Annotated[int | None, typer.Option(help="How many products (first_n)")] = None,
    sku: Annotated[list[str] | None, typer.Option(help="A product id for explicit_list (repeatable)")] = None,
    watch: Annotated[bool, typer.Option("--watch", help="Show progress until the job ends")] = False,
    timeout: Annotated[float, typer.Option(help="With --watch: give up after this many seconds (0: never)")] = 0,
    as_json: JsonOpt = False,
) -> None:
    """Start an import job. With --watch: exit code 0 only when the job ends in success (3 partial_success, 4 failed, 5 still running at --timeout)."""
    if mode not in MODES:
        raise _fail(CliError(f"--mode must be one of {', '.join(MODES)}", 2))
    body: dict[str, Any] = {"mode": mode}
    if limit is not None:
        body["limit"] = limit
    if sku:
        body["explicit_list"] = sku
        if mode != "explicit_list":
            raise _fail(CliError("--sku needs --mode explicit_list", 2))
    client = _client()
    try:
        accepted = client.post(f"/api/suppliers/{supplier}/import", body)
    except CliError as exc:
        raise _fail(exc) from None
    job_id = accepted["sync_job_id"]
    if not watch:
        if as_json:
            return _print_json(accepted)
        out.print(f"started job [bold]{job_id}[/bold] (import:{mode}) for {supplier}", highlight=False)
        out.print(f"follow it with: apihub jobs watch {job_id}", highlight=False)
        return None
    err.print(f"started job {job_id} (import:{mode}) for {supplier}", highlight=False)
    raise typer.Exit(_watch(client, job_id, timeout, as_json))


def _watch(client: ApiClient, job_id: str, timeout: float, as_json: bool) -> int:
    try:
        job = watch_job(client, job_id, timeout_s=timeout or None, console=err)
    except CliError as exc:
        raise _fail(exc) from None
    if as_json:
        _print_json(job)
    else:
        _summary(client, job)
    return EXIT_CODES.get(job["status"], 5)


def _summary(client: ApiClient, job: dict[str, Any]) -> None:
    out.print(
        f"job {job['id']} {_status(job['status'])}: {job.get('success_count', 0)} succeeded, "
        f"{job.get('failed_count', 0)} failed of {job.get('total_products', 0)}",
        highlight=False,
    )
    if job.get("error_log"):
        out.print(f"[red]{job['error_log']}[/red]", highlight=False)
    if job.get("failed_count"):
        errors = client.collect(f"/api/sync-jobs/{job['id']}/errors", limit=20)
        _errors_table(errors, title="errors (first 20)" if job["failed_count"] > 20 else "errors")
        if job["failed_count"] > len(errors):
            out.print(f"... {job['failed_count'] - len(errors)} more: apihub jobs errors {job['id']}", highlight=False)


def _errors_table(errors: list[dict[str, Any]], title: str = "errors") -> None:
    table = Table("sku", "error", title=title)
    for e in errors:
        table.add_row(str(e.get("sku")), str(e.get("error")))
    out.print(table)


# ------------------------------------------------------------------------------------------ jobs


@jobs_app.command("list")
def jobs_list(
    status: Annotated[str | None, typer.Option(help=" | ".join(STATUSES))] = None,
    supplier: Annotated[str | None, typer.Option(help="Supplier slug or id")] = None,
    job_type: Annotated[str | None, typer.Option("--type", help="import:<mode>, or just the mode")] = None,
    limit: Annotated[int, typer.Option(min=1, max=10_000, help="How many jobs (newest first)")] = 20,
    as_json: JsonOpt = False,
) -> None:
    """Sync jobs, newest first."""
    client = _client()
    try:
        if job_type and ":" not in job_type:
            job_type = f"import:{job_type}"
        supplier_id = _supplier_id(client, supplier) if supplier else None
        jobs = client.collect("/api/sync-jobs", limit, status=status, supplier_id=supplier_id, job_type=job_type)
    except CliError as exc:
        raise _fail(exc) from None
    if as_json:
        return _print_json(jobs)
    table = Table()
    table.add_column("id", no_wrap=True, min_width=36)
    for column in ("supplier", "type", "status", "total", "ok", "failed", "started", "completed"):
        table.add_column(column)
    for j in jobs:
        table.add_row(
            j["id"],
            j.get("supplier_name") or j.get("supplier_id"),
            j.get("job_type"),
            _status(j.get("status")),
            str(j.get("total_products", 0)),
            str(j.get("success_count", 0)),
            str(j.get("failed_count", 0)),
            j.get("started_at") or "-",
            j.get("completed_at") or "-",
        )
    out.print(table)


@jobs_app.command("show")
def jobs_show(job_id: str, as_json: JsonOpt = False) -> None:
    """One sync job."""
    try:
        job = _client().get(f"/api/sync-jobs/{job_id}")
    except CliError as exc:
        raise _fail(exc) from None
    if as_json:
        return _print_json(job)
    job = dict(job)
    errors = job.pop("errors", None) or []
    if job.get("status"):
        job["status"] = _status(job["status"])
    _print_fields(job)
    if errors:
        _errors_table(errors, title="errors (see also: apihub jobs errors ID)")


@jobs_app.command("errors")
def jobs_errors(
    job_id: str,
    limit: Annotated[int, typer.Option(min=1, help="How many errors")] = 100,
    as_json: JsonOpt = False,
) -> None:
    """Every per-product error of a job (paginated by the API, collected here)."""
    try:
        errors = _client().collect(f"/api/sync-jobs/{job_id}/errors", limit)
    except CliError as exc:
        raise _fail(exc) from None
    if as_json:
        return _print_json(errors)
    _errors_table(errors, title=f"errors of {job_id} ({len(errors)})")


@jobs_app.command("retry")
def jobs_retry(
    job_id: str,
    failed_only: Annotated[bool, typer.Option("--failed-only", help="Only the failed SKUs (explicit_list)")] = False,
    watch: Annotated[bool, typer.Option("--watch", help="Show progress until the new job ends")] = False,
    timeout: Annotated[float, typer.Option(help="With --watch: give up after this many seconds")] = 0,
    as_json: JsonOpt = False,
) -> None:
    """Run a job again as a new job (the original is not changed)."""
    client = _client()
    try:
        job = client.post(f"/api/sync-jobs/{job_id}/retry", failed_only=failed_only or None)
    except CliError as exc:
        raise _fail(exc) from None
    if watch:
        err.print(f"started job {job['id']} ({job.get('job_type')}), a retry of {job_id}", highlight=False)
        raise typer.Exit(_watch(client, job["id"], timeout, as_json))
    if as_json:
        return _print_json(job)
    out.print(f"started job [bold]{job['id']}[/bold] ({job.get('job_type')}), a retry of {job_id}", highlight=False)
    return None


@jobs_app.command("watch")
def jobs_watch(
    job_id: str,
    timeout: Annotated[float, typer.Option(help="Give up after this many seconds (0: never)")] = 0,
    as_json: JsonOpt = False,
) -> None:
    """Progress of a running job; exit code 0 only when it ends in success."""
    raise typer.Exit(_watch(_client(), job_id, timeout, as_json))


# ------------------------------------------------------------------------------------------ products


@products_app.command("list")
def products_list(
    supplier: Annotated[str, typer.Argument(help="Supplier slug or id")],
    limit: Annotated[int, typer.Option(min=1, help="How many products")] = 50,
    as_json: JsonOpt = False,
) -> None:
    """A supplier's stored products."""
    try:
        products = _client().collect(f"/api/suppliers/{supplier}/products", limit)
    except CliError as exc:
        raise _fail(exc) from None
    if as_json:
        return _print_json(products)
    table = Table("product id", "name", "brand", "parts", "closeout", "updated", title=f"{supplier}: {len(products)}")
    for p in products:
        table.add_row(
            p.get("product_id"),
            p.get("name") or "-",
            p.get("brand") or "-",
            str(len(p.get("parts") or [])),
            "yes" if p.get("is_closeout") else "no",
            p.get("updated_at") or "-",
        )
    out.print(table)


# ------------------------------------------------------------------------------------------ changes


@changes_app.command("tail")
def changes_tail(
    supplier: Annotated[str | None, typer.Option("--supplier", help="Slug or id")] = None,
    type_: Annotated[str | None, typer.Option("--type", help="e.g. product.updated")] = None,
    since: Annotated[
        float, typer.Option(help="Start this many seconds back (0: only what comes from now on)", min=0)
    ] = 0,
    as_json: JsonOpt = False,
) -> None:
    """Follow the change feed like tail -f (Ctrl-C to stop)."""
    from apihub_cli.changes import follow, line, since_ago

    client = _client()
    try:
        filters = {"supplier_id": _supplier_id(client, supplier)} if supplier else {}
        if type_:
            filters["type"] = type_
        for event in follow(client, filters, since_ago(since)):
            if as_json:
                out.print(json.dumps(event), highlight=False, soft_wrap=True)
            else:
                out.print(line(event), highlight=False, soft_wrap=True)
    except CliError as exc:
        raise _fail(exc) from None
    except KeyboardInterrupt:
        raise typer.Exit(0) from None


# ------------------------------------------------------------------------------------------ demo


@demo_app.command("change")
def demo_change(
    reprice: Annotated[int, typer.Option(min=0, help="Raise the prices of this many products")] = 5,
    drop: Annotated[int, typer.Option(min=0, help="Stop selling this many products")] = 1,
    restore: Annotated[bool, typer.Option(help="Sell again what earlier changes dropped")] = False,
) -> None:
    """Change the local stack's demo supplier (slug demo) between two imports: the next
    full_sellable import then logs product.updated and product.discontinued."""
    import requests

    url = config.load_state().get("demo_control")
    if not url:
        raise _fail(CliError("no local stack found (start it with `make run`)"))
    try:
        resp = requests.post(url, json={"reprice": reprice, "drop": drop, "restore": restore}, timeout=10)
    except requests.RequestException as exc:
        raise _fail(CliError(f"the demo supplier did not answer at {url}: {exc}")) from None
    if resp.status_code != 200:
        raise _fail(CliError(f"the demo supplier answered {resp.status_code}: {resp.text[:200]}"))
    changed = resp.json()
    out.print(
        f"repriced {len(changed['repriced'])}, dropped {', '.join(changed['dropped']) or 'none'}, "
        f"restored {', '.join(changed['restored']) or 'none'}. Now: apihub import demo --mode full_sellable --watch",
        highlight=False,
    )


# ------------------------------------------------------------------------------------------ helpers


def _print_fields(data: dict[str, Any]) -> None:
    table = Table(show_header=False, box=None)
    table.add_column(style="bold")
    table.add_column()
    for key, value in data.items():
        text = json.dumps(value) if isinstance(value, dict | list) else ("-" if value is None else str(value))
        table.add_row(key, text)
    out.print(table)


if __name__ == "__main__":
    app()
