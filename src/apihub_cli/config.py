"""Where the CLI finds its base URL and token, and where the local stack leaves its state.

- Config file: ``$APIHUB_CONFIG``, else ``$XDG_CONFIG_HOME/apihub/config.json``, else
  ``~/.config/apihub/config.json``. JSON ``{"url": ..., "token": ...}``, written by ``make run``
  (and by ``apihub token create --save``), mode 0600.
- Local stack state: ``$APIHUB_LOCAL_STATE``, else ``local-stack.json`` next to the config file.
  Written by ``make run`` while it runs: its URL and the functions' environment (table names, moto
  endpoint), so that ``apihub token create`` can reach the local tokens table.

Precedence: ``APIHUB_URL`` / ``APIHUB_TOKEN`` environment variables, then the config file, then
the default URL ``http://127.0.0.1:3000``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

DEFAULT_URL = "http://127.0.0.1:3000"


def config_path() -> Path:
    if os.environ.get("APIHUB_CONFIG"):
        return Path(os.environ["APIHUB_CONFIG"]).expanduser()
    base = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    return base / "apihub" / "config.json"


def state_path() -> Path:
    if os.environ.get("APIHUB_LOCAL_STATE"):
        return Path(os.environ["APIHUB_LOCAL_STATE"]).expanduser()
    return config_path().with_name("local-stack.json")


def _read(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        return {}
    except ValueError as exc:
        raise ValueError(f"{path} is not valid JSON: {exc}") from None
    return data if isinstance(data, dict) else {}


def _write_private(path: Path, data: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump(data, fh, indent=2)
        fh.write("\n")
    os.replace(tmp, path)


def load_config() -> dict[str, Any]:
    return _read(config_path())


def save_config(**values: Any) -> Path:
    """Merge ``values`` into the config file (created 0600 when missing)."""
    path = config_path()
    data = _read(path)
    data.update({k: v for k, v in values.items() if v is not None})
    _write_private(path, data)
    return path


def base_url() -> str:
    return (os.environ.get("APIHUB_URL") or load_config().get("url") or DEFAULT_URL).rstrip("/")


def token() -> str | None:
    return os.environ.get("APIHUB_TOKEN") or load_config().get("token") or None


def load_state() -> dict[str, Any]:
    return _read(state_path())


def save_state(data: dict[str, Any]) -> Path:
    path = state_path()
    _write_private(path, data)
    return path


def remove_state() -> None:
    try:
        state_path().unlink()
    except FileNotFoundError:
        pass
