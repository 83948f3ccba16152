"""Cold import of each function's handler module, and the built layer's size."""

from __future__ import annotations

import os
import subprocess
import sys
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
            "PYTHONDONTWRITEBYTECODE": "",
        }
    )
    env.pop("PYTHONDONTWRITEBYTECODE")
    return env


def cold_import_ms(runs: int = 5, layer: Path | None = None) -> dict[str, float]:
    """Median import time of ``functions/<f>/app.py`` per function, one fresh interpreter per run.
    Bytecode caches exist (as in a deployed layer, which SAM builds with its .pyc files)."""
    layer = layer or ROOT / "layers" / "apihub"
    env = lambda_like_environment()
    results: dict[str, float] = {}
    for folder in sorted(p for p in (ROOT / "functions").iterdir() if (p / "app.py").is_file()):
        timings = []
        for _ in range(runs + 1):  # the first run may write .pyc files: not counted
            out = subprocess.run(  # noqa: S603 - our own interpreter and files
                [sys.executable, "-c", _PROBE, str(folder), str(layer)],
                capture_output=True,
                text=True,
                env=env,
                cwd=folder,
                check=True,
            )
            timings.append(float(out.stdout.strip().splitlines()[-1]))
        results[folder.name] = round(p50(timings[1:]), 1)
    return results


def budget_ms(function: str) -> float:
    return 500.0 if function in PIPELINE_FUNCTIONS else 300.0


def tree_bytes(path: Path) -> int:
    """Sum of file sizes under ``path`` (the unzipped size), symlinks not followed."""
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())


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
