"""``apihub``: suppliers, imports and sync jobs from the command line.

Talks to the HTTP API at ``APIHUB_URL`` (default http://127.0.0.1:3000) with the token from
``APIHUB_TOKEN`` or the config file (see ``apihub_cli.config``; ``make run`` writes it).
"""

from __future__ import annotations

import functools
import json
import os
import re
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated, Any

import typer
from apihub.changes.events import EventType
from apihub.modes.table import DiscoveryMode, modes_taking
from rich.console import Console
from rich.measure import Measurement
from rich.table import Table

from apihub_cli import config, display, prices
from apihub_cli.client import ApiClient, ApiError, CliError
from apihub_cli.watch import EXIT_CODES, watch_job

# The modes the API knows (its mode table, so a new mode needs no CLI change).
MODES = tuple(mode.value for mode in DiscoveryMode)
# Modes that take --sku: those whose row takes `explicit_list` (the mode table again).
SKU_MODES = tuple(mode.value for mode in modes_taking("explicit_list"))
# How many of the newest jobs a short job id is looked up in.
SHORT_ID_SCOPE = 10_000
HEXISH = re.compile(r"[0-9a-fA-F-]+")  # could be the first characters of an id
STATUSES = ("pending", "running", "success", "partial_success", "failed")
STATUS_STYLE = {
    "pending": "dim",
    "running": "cyan",
    "success": "green",
    "partial_success": "yellow",
    "failed": "red",
}


class _App(typer.Typer):
    """A Typer whose commands tell the user a ``CliError`` (its message on stderr, its exit code)
    instead of a traceback: the one place that does it for every command. Help is click's plain
    layout (``--watch / --no-watch``): Typer's rich panels print every flag as ``--watch <bool>``
    with this click and squeeze the help text into a narrow column at 80 columns."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("rich_markup_mode", None)
        super().__init__(**kwargs)

    def command(self, *args: Any, **kwargs: Any) -> Callable[[Callable[..., Any]], Callable[..., Any]]:  # type: ignore[override]  # forwards every argument of Typer.command unchanged
        register = super().command(*args, **kwargs)

        def decorator(fn: Callable[..., Any]) -> Callable[..., Any]:
            @functools.wraps(fn)  # Typer reads the options from the wrapped signature
            def told(*a: Any, **kw: Any) -> Any:
                try:
                    return fn(*a, **kw)
                except CliError as exc:
                    raise _fail(exc) from None

            register(told)
            return fn

        return decorator


app = _App(
    help="apihub: suppliers, imports and sync jobs. API at $APIHUB_URL (default http://127.0.0.1:3000); "
    "token from $APIHUB_TOKEN or the config file ($APIHUB_CONFIG, default ~/.config/apihub/config.json), "
    "which `make run` writes.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
token_app = _App(help="API tokens (written to the tokens table directly).", no_args_is_help=True)
suppliers_app = _App(help="Suppliers: list, show, add.", no_args_is_help=True)
jobs_app = _App(help="Sync jobs: list, show, errors, retry, watch.", no_args_is_help=True)
products_app = _App(help="Stored products.", no_args_is_help=True)
inventory_app = _App(help="Stock levels: one product's, or what changed.", no_args_is_help=True)
subscriptions_app = _App(
    help="Webhook subscriptions: add, list, remove, deliveries (admin token).", no_args_is_help=True
)
changes_app = _App(help="The change feed (GET /api/changes).", no_args_is_help=True)
prices_app = _App(help="Stored pricing: price breaks, decorations and charges.", no_args_is_help=True)
demo_app = _App(help="The local stack's demo supplier.", no_args_is_help=True)
app.add_typer(token_app, name="token")
app.add_typer(suppliers_app, name="suppliers")
app.add_typer(jobs_app, name="jobs")
app.add_typer(products_app, name="products")
app.add_typer(inventory_app, name="inventory")
app.add_typer(subscriptions_app, name="subscriptions")
app.add_typer(changes_app, name="changes")
app.add_typer(prices_app, name="prices")
app.add_typer(demo_app, name="demo")

out = Console()
err = Console(stderr=True)

JsonOpt = Annotated[bool, typer.Option("--json", help="Print the API's JSON instead of a table.")]
WideOpt = Annotated[
    bool, typer.Option("--wide/--no-wide", help="Full ids, times and every column (rows may pass the terminal's width)")
]
JobId = Annotated[str, typer.Argument(help="Job id, or its first characters (8 are shown by `jobs list`)")]
SUPPLIER_HELP = "Supplier slug, id, or the id's first characters"
SubscriptionId = Annotated[str, typer.Argument(help="Subscription id, or its first characters (at least 4)")]


def _client() -> ApiClient:
    return ApiClient()


def _fail(exc: CliError) -> typer.Exit:
    err.print(f"[red]Error:[/red] {exc}", highlight=False, markup=True)
    return typer.Exit(exc.exit_code)


def _width(wide: bool) -> int | None:
    """The width a table must fit (the terminal's), or None for --wide (no limit)."""
    return None if wide else out.width


def _print_table(table: Any, wide: bool) -> None:
    """One line per row: within the terminal, or with --wide as long as the values need (the
    terminal then wraps the lines; ``less -S`` scrolls them)."""
    if not wide:
        out.print(table)
        return
    natural = Measurement.get(out, out.options.update(width=100_000), table).maximum
    # A console as wide as the table on the same output (rich never renders past a console's width)
    Console(
        file=out.file,
        width=max(out.width, natural),
        color_system=out.color_system,  # type: ignore[arg-type]  # rich returns the name it was given
        no_color=out.no_color,
        force_terminal=out.is_terminal,
    ).print(table)


def _print_json(data: Any) -> None:
    out.print_json(json.dumps(data))


def _status(status: str | None) -> str:
    status = status or "-"
    return f"[{STATUS_STYLE.get(status, '')}]{status}[/]"


def _by_prefix(kind: str, ref: str, listing: Callable[[], tuple[list[str], str]]) -> str:
    """The one id that starts with ``ref`` (at least 4 characters, checked before ``listing`` is called;
    ids are lower-case hex) among the ids ``listing()`` gives with the words saying where it looked; an
    error naming ``kind`` when none or several do."""
    if len(ref) < 4:
        raise CliError(f"{kind} id {ref!r} is too short: give at least 4 characters", 2)
    ids, scope = listing()
    matches = [i for i in ids if i.startswith(ref.lower())]
    if not matches:
        raise CliError(f"no {kind} id starts with {ref!r} ({scope}); give the full id")
    if len(matches) > 1:
        raise CliError(f"{kind} id {ref!r} is ambiguous: it starts {', '.join(matches[:5])}; give more characters", 2)
    return matches[0]


def _full_uuid(ref: str) -> str | None:
    try:
        return str(uuid.UUID(ref))
    except ValueError:
        return None


def _supplier_ref(client: ApiClient, ref: str) -> str:
    """What to send where the API takes a supplier: its id or slug as given, or, for the first characters
    of an id (as `suppliers list` shows them), that id. Only a ref that could be either (hex digits
    alone) costs a request; a slug spelled like an id prefix wins."""
    ref = ref.strip()
    if _full_uuid(ref) or not HEXISH.fullmatch(ref):
        return ref
    try:
        client.get(f"/api/suppliers/{ref}")
        return ref
    except ApiError as exc:
        if exc.status != 404:
            raise

    def suppliers() -> tuple[list[str], str]:
        return [str(x["id"]) for x in client.get("/api/suppliers")], "and no supplier has that slug"

    return _by_prefix("supplier", ref, suppliers)


def _supplier_id(client: ApiClient, ref: str) -> str:
    """A supplier's full id from anything :func:`_supplier_ref` takes."""
    ref = _supplier_ref(client, ref)
    return _full_uuid(ref) or str(client.get(f"/api/suppliers/{ref}")["id"])


def _subscription_id(client: ApiClient, ref: str) -> str:
    """A full subscription id from a full id or its first characters (as `subscriptions list` shows them)."""

    def subscriptions() -> tuple[list[str], str]:
        ids = [str(x["id"]) for x in client.get("/api/subscriptions")]
        return ids, f"among {len(ids)} subscriptions"

    ref = ref.strip()
    return _full_uuid(ref) or _by_prefix("subscription", ref, subscriptions)


def _job_id(client: ApiClient, ref: str) -> str:
    """A full job id from a full id or a prefix of one (as ``jobs list`` shows them): looked up
    among the newest jobs; an error when none or several start that way."""

    def newest_jobs() -> tuple[list[str], str]:
        ids: list[str] = []
        token: str | None = None
        while len(ids) < SHORT_ID_SCOPE:
            page = client.page("/api/sync-jobs", limit=1000, next_token=token)
            ids += [str(j.get("id", "")) for j in page.items]
            token = page.next_token
            if not token or not page.items:
                break
        return ids, f"among the newest {len(ids)} jobs"

    ref = ref.strip()
    return _full_uuid(ref) or _by_prefix("job", ref, newest_jobs)


# ------------------------------------------------------------------------------------------ token


@token_app.command("create")
def token_create(
    role: Annotated[str, typer.Option(help="viewer (GET), service (GET, PATCH sync-jobs) or admin (all)")] = "admin",
    name: Annotated[str | None, typer.Option(help="A label stored with the token")] = None,
    ttl_days: Annotated[float | None, typer.Option(help="Expire after this many days (default: never)")] = None,
    save: Annotated[bool, typer.Option("--save/--no-save", help="Also write it to the CLI config file")] = False,
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
    except CliError:
        raise  # told to the user as it is (_App)
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
def suppliers_list(wide: WideOpt = False, as_json: JsonOpt = False) -> None:
    """Every supplier: short ids (any supplier command takes the slug or id), the last full sync as
    a relative time. --wide or --json for the full values."""
    suppliers = _client().get("/api/suppliers")
    if as_json:
        return _print_json(suppliers)
    return _print_table(display.suppliers_table(suppliers, datetime.now(UTC), _width(wide)), wide)


@suppliers_app.command("show")
def suppliers_show(supplier: Annotated[str, typer.Argument(help=SUPPLIER_HELP)], as_json: JsonOpt = False) -> None:
    """One supplier (credentials are masked by the API)."""
    client = _client()
    data = client.get(f"/api/suppliers/{_supplier_ref(client, supplier)}")
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
    inactive: Annotated[bool, typer.Option("--inactive/--active", help="Create it switched off")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Create a supplier (or update the one with this slug)."""
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
    if as_json:
        return _print_json(data)
    out.print(f"supplier [bold]{data['slug']}[/bold] saved (id {data['id']})", highlight=False)


# ------------------------------------------------------------------------------------------ import


@app.command("import")
def import_(
    supplier: Annotated[str, typer.Argument(help=SUPPLIER_HELP)],
    mode: Annotated[str, typer.Option(help=f"Discovery mode: {', '.join(MODES)}")] = "first_n",
    limit: Annotated[int | None, typer.Option(help="How many products (first_n)")] = None,
    sku: Annotated[
        list[str] | None, typer.Option(help="A product id for explicit_list or inventory (repeatable)")
    ] = None,
    watch: Annotated[bool, typer.Option("--watch/--no-watch", help="Show progress until the job ends")] = False,
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
        if mode not in SKU_MODES:
            raise _fail(CliError(f"--sku needs --mode {' or '.join(SKU_MODES)}", 2))
    client = _client()
    accepted = client.post(f"/api/suppliers/{_supplier_ref(client, supplier)}/import", body)
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
    job = watch_job(client, job_id, timeout_s=timeout or None, console=err)
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
    out.print(display.errors_table(errors, out.width, title))


# ------------------------------------------------------------------------------------------ jobs


@jobs_app.command("list")
def jobs_list(
    status: Annotated[str | None, typer.Option(help=" | ".join(STATUSES))] = None,
    supplier: Annotated[str | None, typer.Option(help=SUPPLIER_HELP)] = None,
    job_type: Annotated[str | None, typer.Option("--type", help="import:<mode>, or just the mode")] = None,
    limit: Annotated[int, typer.Option(min=1, max=10_000, help="How many jobs (newest first)")] = 20,
    wide: WideOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Sync jobs, newest first: short ids (any job command takes them), when each started, how long
    it ran and how fast. --wide or --json for the full values."""
    client = _client()
    if job_type and ":" not in job_type:
        job_type = f"import:{job_type}"
    supplier_id = _supplier_ref(client, supplier) if supplier else None
    jobs = client.collect("/api/sync-jobs", limit, status=status, supplier_id=supplier_id, job_type=job_type)
    if as_json:
        return _print_json(jobs)
    return _print_table(display.jobs_table(jobs, datetime.now(UTC), _width(wide), STATUS_STYLE), wide)


@jobs_app.command("show")
def jobs_show(job_id: JobId, as_json: JsonOpt = False) -> None:
    """One sync job."""
    client = _client()
    job = client.get(f"/api/sync-jobs/{_job_id(client, job_id)}")
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
    job_id: JobId,
    limit: Annotated[int, typer.Option(min=1, help="How many errors")] = 100,
    as_json: JsonOpt = False,
) -> None:
    """Every per-product error of a job (paginated by the API, collected here)."""
    client = _client()
    job_id = _job_id(client, job_id)
    errors = client.collect(f"/api/sync-jobs/{job_id}/errors", limit)
    if as_json:
        return _print_json(errors)
    _errors_table(errors, title=f"errors of {job_id} ({len(errors)})")


@jobs_app.command("retry")
def jobs_retry(
    job_id: JobId,
    failed_only: Annotated[
        bool, typer.Option("--failed-only/--all", help="Only the failed SKUs (explicit_list)")
    ] = False,
    watch: Annotated[bool, typer.Option("--watch/--no-watch", help="Show progress until the new job ends")] = False,
    timeout: Annotated[float, typer.Option(help="With --watch: give up after this many seconds")] = 0,
    as_json: JsonOpt = False,
) -> None:
    """Run a job again as a new job (the original is not changed)."""
    client = _client()
    job_id = _job_id(client, job_id)
    job = client.post(f"/api/sync-jobs/{job_id}/retry", failed_only=failed_only or None)
    if watch:
        err.print(f"started job {job['id']} ({job.get('job_type')}), a retry of {job_id}", highlight=False)
        raise typer.Exit(_watch(client, job["id"], timeout, as_json))
    if as_json:
        return _print_json(job)
    out.print(f"started job [bold]{job['id']}[/bold] ({job.get('job_type')}), a retry of {job_id}", highlight=False)
    return None


@jobs_app.command("watch")
def jobs_watch(
    job_id: JobId,
    timeout: Annotated[float, typer.Option(help="Give up after this many seconds (0: never)")] = 0,
    as_json: JsonOpt = False,
) -> None:
    """Progress of a running job; exit code 0 only when it ends in success."""
    client = _client()
    job_id = _job_id(client, job_id)
    raise typer.Exit(_watch(client, job_id, timeout, as_json))


# ------------------------------------------------------------------------------------------ products


@products_app.command("list")
def products_list(
    supplier: Annotated[str, typer.Argument(help=SUPPLIER_HELP)],
    limit: Annotated[int, typer.Option(min=1, help="How many products")] = 50,
    wide: WideOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """A supplier's stored products (names cut to the terminal; --wide or --json for all of them)."""
    client = _client()
    products = client.collect(f"/api/suppliers/{_supplier_ref(client, supplier)}/products", limit)
    if as_json:
        return _print_json(products)
    title = f"{supplier}: {len(products)}"
    return _print_table(display.products_table(products, datetime.now(UTC), _width(wide), title), wide)


# ------------------------------------------------------------------------------------------ inventory


@inventory_app.command("show")
def inventory_show(
    supplier: Annotated[str, typer.Argument(help=SUPPLIER_HELP)],
    product: Annotated[str, typer.Argument(help="Product id")],
    live: Annotated[bool, typer.Option("--live/--stored", help="Read the supplier now (max_age_s=0)")] = False,
    wide: WideOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """One product's stock: parts x warehouses, stored or (--live) read from the supplier now."""
    client = _client()
    path = f"/api/suppliers/{_supplier_ref(client, supplier)}/products/{product}/inventory"
    data = client.get(path, max_age_s=0 if live else None)
    if as_json:
        return _print_json(data)
    now = datetime.now(UTC)
    source = data.get("source") or "-"
    out.print(
        f"[bold]{data.get('product_id', product)}[/bold] at {supplier}: stock as of {data.get('as_of') or '-'} "
        f"({display.ago(data.get('as_of'), now)}, {source})",
        highlight=False,
    )
    if data.get("stale") or data.get("warning"):
        out.print(f"[yellow]stale: {data.get('warning') or 'the supplier could not be read now'}[/yellow]")
    for warning in data.get("warnings") or []:  # what the reading rules refused in the supplier's reply
        out.print(f"[yellow]warning: {warning}[/yellow]", highlight=False)
    if not data.get("parts"):
        out.print("no parts", highlight=False)
        return None
    table = display.stock_table(data, _width(wide))
    _print_table(table, wide)
    for note in (display.left_out(data, table), display.warehouse_legend(data)):
        if note:
            out.print(note, highlight=False)
    return None


@prices_app.command("show")
def prices_show(
    supplier: Annotated[str, typer.Argument(help="Supplier slug or id")],
    product: Annotated[str, typer.Argument(help="Product id")],
    fob: Annotated[str | None, typer.Option("--fob", help="FOB point id (default: the first stored)")] = None,
    currency: Annotated[str | None, typer.Option(help="Currency (default: the first stored)")] = None,
    price_type: Annotated[str | None, typer.Option("--price-type", help="List, Net or Customer")] = None,
    wide: WideOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """One product's stored pricing: price breaks per part, decoration methods and their charges."""
    data = _client().get(
        f"/api/suppliers/{supplier}/products/{product}/pricing", fob_id=fob, currency=currency, price_type=price_type
    )
    if as_json:
        return _print_json(data)
    fallback = f" (asked {data['requested_price_type']})" if data.get("requested_price_type") else ""
    out.print(
        f"[bold]{data.get('product_id', product)}[/bold] at {supplier}: pricing as of {data.get('as_of') or '-'}{fallback}",
        highlight=False,
    )
    _print_table(prices.breaks_table(data, _width(wide)), wide)
    if data.get("locations"):
        _print_table(prices.decorations_table(data, _width(wide)), wide)
    return None


@app.command("quote")
def quote(
    supplier: Annotated[str, typer.Argument(help="Supplier slug or id")],
    product: Annotated[str, typer.Argument(help="Product id")],
    part: Annotated[str, typer.Option("--part", help="Part id")],
    qty: Annotated[int, typer.Option("--qty", min=1, help="Quantity")],
    deco: Annotated[
        list[str] | None, typer.Option("--deco", help="LOCATION:DECORATION:UNITS (repeat for several)")
    ] = None,
    fob: Annotated[str | None, typer.Option("--fob", help="FOB point id")] = None,
    currency: Annotated[str | None, typer.Option(help="Currency")] = None,
    price_type: Annotated[str | None, typer.Option("--price-type", help="List, Net or Customer")] = None,
    repeat: Annotated[bool, typer.Option("--repeat/--no-repeat", help="A repeat order (repeat setup prices)")] = False,
    no_markup: Annotated[bool, typer.Option("--no-markup/--markup", help="Cost only, no sell price")] = False,
    wide: WideOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Quote a part, quantity and decorations from the stored pricing: each line, total and sell price."""
    try:
        decorations = [prices.parse_decoration(value) for value in deco or []]
    except ValueError as exc:
        raise _fail(CliError(str(exc), 2)) from None
    body: dict[str, Any] = {"part_id": part, "quantity": qty, "decorations": decorations, "repeat": repeat}
    body |= {k: v for k, v in {"fob_id": fob, "currency": currency, "price_type": price_type}.items() if v}
    if no_markup:
        body["markup"] = False
    data = _client().post(f"/api/suppliers/{supplier}/products/{product}/quote", body)
    if as_json:
        return _print_json(data)
    _print_table(prices.quote_table(data, _width(wide)), wide)
    out.print(f"pricing as of {data.get('as_of') or '-'}", highlight=False)
    return None


@inventory_app.command("changed")
def inventory_changed(
    supplier: Annotated[str, typer.Argument(help=SUPPLIER_HELP)],
    since: Annotated[str, typer.Option(help="How far back: 30m, 1h, 2d, ... or an ISO 8601 time")] = "1h",
    limit: Annotated[int, typer.Option(min=1, help="How many products")] = 1000,
    wide: WideOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Products whose stock changed since then (paginated by the API, collected here)."""
    try:
        changed_since = display.since_to_iso(since, datetime.now(UTC))
    except ValueError as exc:
        raise _fail(CliError(str(exc), 2)) from None
    client = _client()
    items = client.collect(
        f"/api/suppliers/{_supplier_ref(client, supplier)}/inventory", limit, changed_since=changed_since
    )
    if as_json:
        return _print_json(items)
    title = f"{supplier}: {len(items)} changed since {changed_since}"
    table = display.inventory_changed_table(items, datetime.now(UTC), _width(wide), title)
    return _print_table(table, wide)


# ------------------------------------------------------------------------------------------ subscriptions

EVENT_TYPES = tuple(event_type.value for event_type in EventType)  # the API's own list


@subscriptions_app.command("add")
def subscriptions_add(
    url: Annotated[str, typer.Argument(help="Where to POST the events (https; http on loopback locally)")],
    event_type: Annotated[
        list[str], typer.Option("--type", help=f"An event type to deliver (repeatable): {', '.join(EVENT_TYPES)}")
    ],
    supplier: Annotated[str | None, typer.Option(help=f"Only this supplier's events ({SUPPLIER_HELP})")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Subscribe URL to change events. Prints the signing secret: the only time it is shown."""
    client = _client()
    body: dict[str, Any] = {"url": url, "types": event_type}
    if supplier:
        body["supplier_id"] = _supplier_ref(client, supplier)
    data = client.post("/api/subscriptions", body)
    if as_json:
        return _print_json(data)
    out.print(f"subscription [bold]{data['id']}[/bold] -> {data['url']} ({', '.join(data['types'])})", highlight=False)
    out.print(f"signing secret (shown once, keep it): {data['secret']}", highlight=False, markup=False)
    return None


@subscriptions_app.command("list")
def subscriptions_list(wide: WideOpt = False, as_json: JsonOpt = False) -> None:
    """Every webhook subscription (secrets are never shown again)."""
    subs = _client().get("/api/subscriptions")
    if as_json:
        return _print_json(subs)
    return _print_table(display.subscriptions_table(subs, datetime.now(UTC), _width(wide)), wide)


@subscriptions_app.command("remove")
def subscriptions_remove(subscription_id: SubscriptionId) -> None:
    """Delete a subscription: nothing more is delivered to it."""
    client = _client()
    subscription_id = _subscription_id(client, subscription_id)
    client.request("DELETE", f"/api/subscriptions/{subscription_id}")
    out.print(f"subscription {subscription_id} removed", highlight=False)


@subscriptions_app.command("deliveries")
def subscriptions_deliveries(
    subscription_id: SubscriptionId,
    limit: Annotated[int, typer.Option(min=1, max=100, help="How many attempts (newest first)")] = 50,
    wide: WideOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Recent delivery attempts of a subscription: event, attempt, status code, error, time."""
    client = _client()
    path = f"/api/subscriptions/{_subscription_id(client, subscription_id)}/deliveries"
    items = client.get(path, limit=limit)
    if as_json:
        return _print_json(items)
    return _print_table(display.deliveries_table(items, datetime.now(UTC), _width(wide)), wide)


# ------------------------------------------------------------------------------------------ changes


@changes_app.command("tail")
def changes_tail(
    supplier: Annotated[str | None, typer.Option("--supplier", help=SUPPLIER_HELP)] = None,
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
                out.print(line(event, out.width), highlight=False, soft_wrap=True)
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
