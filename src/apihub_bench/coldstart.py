"""Cold import of each function's handler module, and the built layer's size."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from apihub_bench.figures import p50

ROOT = Path(__file__).resolve().parents[2]
PIPELINE_FUNCTIONS = ("discover", "hydrate")

# Runs in a fresh interpreter: the function folder and the layer first on sys.path, as in Lambda
# (/var/task, then /opt/python); the venv's site-packages stand in for the runtime's boto3.
_PROBE = """
import sys, time
sys.path[:0] = [sys.argv[1], sys.argv[2]]
started = time.perf_counter()
import app
print((time.perf_counter() - started) * 1000)
"""


def lambda_like_environment() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("APIHUB_", "POWERTOOLS_", "PYTHON"))}
    env.update(
        {
            "AWS_REGION": "us-east-1",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_LAMBDA_FUNCTION_NAME": "bench",
            "POWERTOOLS_SERVICE_NAME": "apihub",
            "POWERTOOLS_METRICS_NAMESPACE": "apihub",
            "POWERTOOLS_LOG_LEVEL": "INFO",
            # The layer ships its .pyc files and /opt is read-only: nothing is written at import.
            "PYTHONDONTWRITEBYTECODE": "1",
        }
    )
    return env


# What every API function needs from the libraries the design names, and nothing of ours: the floor
# under the API budget, measured by the same probe in the same rounds (reported beside the table).
LIBRARIES_FLOOR = "_libraries"
_FLOOR_APP = """import aws_lambda_powertools.logging
import aws_lambda_powertools.event_handler
import aws_lambda_powertools.event_handler.middlewares.openapi_validation
import pydantic.main
import pynamodb.models
"""
# The same libraries with the garbage collector paused, as every function's init runs
# (apihub.startup): what the functions' own code costs, with the collector's share taken out of both.
LIBRARIES_FLOOR_PAUSED = "_libraries_paused"
_FLOOR_PAUSED_APP = "from apihub.startup import cold_start\n\nwith cold_start():\n" + "".join(
    f"    {line}\n" for line in _FLOOR_APP.splitlines()
)


def cold_import_ms(runs: int = 7, layer: Path | None = None) -> dict[str, float]:
    """Median import time of ``functions/<f>/app.py`` per function, one fresh interpreter per run.

    ``layer`` is the built layer's ``python`` directory (``/opt/python`` in Lambda), which ships its
    .pyc files (layers/apihub/Makefile); nothing is written at import, as on Lambda's read-only /opt.
    Runs go round-robin over the functions, so a slow spell of a shared machine spreads over all of
    them instead of landing on one; the first round is a warm-up of the OS file cache, not counted.
    The result also holds ``LIBRARIES_FLOOR``, the same probe on a module of library imports only,
    and ``LIBRARIES_FLOOR_PAUSED``, those imports with the collector paused."""
    layer = layer or ROOT / "layers" / "apihub"
    env = lambda_like_environment()
    folders = sorted(p for p in (ROOT / "functions").iterdir() if (p / "app.py").is_file())
    floors = Path(tempfile.mkdtemp(prefix="apihub-bench-floor-"))
    for name, source in ((LIBRARIES_FLOOR, _FLOOR_APP), (LIBRARIES_FLOOR_PAUSED, _FLOOR_PAUSED_APP)):
        (floors / name).mkdir()
        (floors / name / "app.py").write_text(source)
        folders.append(floors / name)
    timings: dict[str, list[float]] = {folder.name: [] for folder in folders}
    for _ in range(runs + 1):
        for folder in folders:
            out = subprocess.run(  # noqa: S603 - our own interpreter and files
                [sys.executable, "-c", _PROBE, str(folder), str(layer)],
                capture_output=True,
                text=True,
                env=env,
                cwd=folder,
                check=True,
            )
            timings[folder.name].append(float(out.stdout.strip().splitlines()[-1]))
    return {name: round(p50(values[1:]), 1) for name, values in timings.items()}


# The first request of a fresh container: import (not timed), then the handler on the function's
# sample event (events/<f>.json), timed, against the stack's moto server. Also counts the botocore
# DynamoDB clients the request made (one per container is the goal, not one per PynamoDB model).
_FIRST_REQUEST = """
import json, sys, time
sys.path[:0] = [sys.argv[1], sys.argv[2]]
import botocore.session
made = []
create = botocore.session.Session.create_client
def counting(self, service_name, *args, **kwargs):
    made.append(service_name)
    return create(self, service_name, *args, **kwargs)
botocore.session.Session.create_client = counting
import app
event = json.load(open(sys.argv[3]))
class Context:
    function_name = "bench"; memory_limit_in_mb = 512; aws_request_id = "bench"
    invoked_function_arn = "arn:aws:lambda:us-east-1:000000000000:function:bench"
    def get_remaining_time_in_millis(self): return 29000
started = time.perf_counter()
app.handler(event, Context())
ms = (time.perf_counter() - started) * 1000
print(json.dumps({"ms": ms, "dynamodb_clients": made.count("dynamodb")}))
"""


def api_functions() -> list[str]:
    """Folders of the functions that answer HTTP requests (those with a sample event and no
    queue, schedule or authorizer role)."""
    skip = {*PIPELINE_FUNCTIONS, "authorizer", "scheduler", "sweeper"}
    return sorted(
        p.name
        for p in (ROOT / "functions").iterdir()
        if (p / "app.py").is_file() and (ROOT / "events" / f"{p.name}.json").is_file() and p.name not in skip
    )


def first_request_ms(runs: int = 3, layer: Path | None = None) -> dict[str, dict[str, float]]:
    """Median time of the first request after a cold start, per API function, against the moto
    server this process is pointed at (its ``APIHUB_*`` and ``AWS_*`` variables are passed on), and
    the most DynamoDB clients one such request made."""
    layer = layer or ROOT / "layers" / "apihub"
    env = lambda_like_environment()
    env.update({k: v for k, v in os.environ.items() if k.startswith(("APIHUB_", "AWS_"))})
    env["POWERTOOLS_LOG_LEVEL"] = "WARNING"
    timings: dict[str, list[float]] = {name: [] for name in api_functions()}
    clients: dict[str, int] = dict.fromkeys(timings, 0)
    for _ in range(runs):
        for name in timings:
            folder = ROOT / "functions" / name
            out = subprocess.run(  # noqa: S603 - our own interpreter and files
                [sys.executable, "-c", _FIRST_REQUEST, str(folder), str(layer), str(ROOT / "events" / f"{name}.json")],
                capture_output=True,
                text=True,
                env=env,
                cwd=folder,
                check=True,
            )
            figures = json.loads(out.stdout.strip().splitlines()[-1])
            timings[name].append(figures["ms"])
            clients[name] = max(clients[name], figures["dynamodb_clients"])
    return {name: {"ms": round(p50(v), 1), "dynamodb_clients": clients[name]} for name, v in timings.items()}


def budget_ms(function: str) -> float:
    return 500.0 if function in PIPELINE_FUNCTIONS else 300.0


def tree_bytes(path: Path) -> int:
    """Sum of file sizes under ``path`` (the unzipped size), symlinks not followed."""
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())


# What ``sam build ApihubLayer`` runs (template.yaml: BuildMethod makefile), callable without sam.
LAYER_MAKEFILE = ROOT / "layers" / "apihub" / "Makefile"


def build_layer(artifacts_dir: Path) -> None:
    """The layer as ``sam build`` makes it (its ``python/`` directory, .pyc files included), by running
    the layer's makefile target directly: for measurements that need the layer and not sam."""
    artifacts_dir.mkdir(parents=True, exist_ok=True)
    make = ["make", "-s", "-C", str(LAYER_MAKEFILE.parent), "build-ApihubLayer", f"ARTIFACTS_DIR={artifacts_dir}"]
    out = subprocess.run(make, capture_output=True, text=True, check=False)  # noqa: S603 - our own makefile
    if out.returncode != 0:
        raise RuntimeError(f"layer build failed:\n{out.stdout}{out.stderr}")


def ratios_only(runs: int, say: Callable[[str], None]) -> int:
    """``python -m apihub_bench --coldstart-only``: this section alone (issue 16's ratios), on a
    freshly built layer; prints each function's median and its ratio to the libraries' floor, writes
    nothing. Non-zero when a function misses the ratio."""
    from apihub_bench.report import COLD_BUDGET_X

    layer_dir = Path(tempfile.mkdtemp(prefix="apihub-bench-layer-")) / "build"
    say(f"building the layer with {LAYER_MAKEFILE.relative_to(ROOT)} into {layer_dir}")
    build_layer(layer_dir / "ApihubLayer")
    say(f"load average {[round(x, 2) for x in os.getloadavg()]}; {runs} rounds")
    timings = cold_import_ms(runs=runs, layer=layer_dir / "ApihubLayer" / "python")
    floor = timings.pop(LIBRARIES_FLOOR)
    paused = timings.pop(LIBRARIES_FLOOR_PAUSED)
    missed = [name for name, ms in timings.items() if ms / floor > COLD_BUDGET_X]
    for name, ms in timings.items():
        print(f"{name:30} {ms:7.1f} ms  {ms / floor:.2f}x{'  MISSED' if name in missed else ''}")
    print(f"{'libraries alone (the floor)':30} {floor:7.1f} ms")
    worst = max(timings.values())
    print(f"{'libraries, collector paused':30} {paused:7.1f} ms  (slowest function {worst / paused:.2f}x of it)")
    say(
        f"{len(timings) - len(missed)} of {len(timings)} within {COLD_BUDGET_X}x; load average {os.getloadavg()[0]:.2f}"
    )
    return 1 if missed else 0


def start_layer_build(build_dir: Path) -> subprocess.Popen[bytes]:
    """``sam build ApihubLayer`` into ``build_dir``, in the background (it only yields a size)."""
    sam = ROOT / ".venv-tools" / "bin" / "sam"
    log = open(build_dir.with_suffix(".log"), "wb")  # noqa: SIM115 - handed to the child
    return subprocess.Popen(  # noqa: S603
        [str(sam), "build", "ApihubLayer", "--template", "template.yaml", "--build-dir", str(build_dir)],
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
        env={**os.environ, "SAM_CLI_TELEMETRY": "0"},
    )
