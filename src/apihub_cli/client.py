"""A small client of the apihub HTTP API (requests), with errors the CLI can print as they are."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import requests

from apihub_cli import config


class CliError(Exception):
    """Something to tell the user, then exit with ``exit_code``."""

    def __init__(self, message: str, exit_code: int = 1) -> None:
        super().__init__(message)
        self.exit_code = exit_code


class ApiError(CliError):
    def __init__(self, status: int, detail: str, method: str, path: str) -> None:
        hint = ""
        if status == 401:
            hint = " (set APIHUB_TOKEN, or start `make run`, which writes the CLI config)"
        super().__init__(f"HTTP {status} from {method} {path}: {detail}{hint}")
        self.status = status
        self.detail = detail


@dataclass
class Page:
    items: list[Any]
    next_token: str | None


class ApiClient:
    def __init__(self, base_url: str | None = None, token: str | None = None, timeout_s: float = 30.0) -> None:
        self.base_url = (base_url or config.base_url()).rstrip("/")
        self.token = token if token is not None else config.token()
        self.timeout_s = timeout_s
        self.session = requests.Session()
        if self.token:
            self.session.headers["Authorization"] = f"Bearer {self.token}"
        self.session.headers["User-Agent"] = "apihub-cli"

    def request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        url = f"{self.base_url}{path}"
        try:
            resp = self.session.request(method, url, timeout=self.timeout_s, **kwargs)
        except requests.ConnectionError:
            raise CliError(
                f"cannot reach apihub at {self.base_url} (is `make run` running? set APIHUB_URL otherwise)"
            ) from None
        except requests.Timeout:
            raise CliError(f"apihub at {self.base_url} did not answer {method} {path} in {self.timeout_s:g}s") from None
        if resp.status_code >= 400:
            raise ApiError(resp.status_code, _detail(resp), method, path)
        return resp

    def get(self, path: str, **params: Any) -> Any:
        return _json(self.request("GET", path, params=_clean(params)))

    def post(self, path: str, body: Any = None, **params: Any) -> Any:
        return _json(self.request("POST", path, json=body, params=_clean(params)))

    def page(self, path: str, **params: Any) -> Page:
        resp = self.request("GET", path, params=_clean(params))
        return Page(_json(resp) or [], resp.headers.get("X-Next-Token"))

    def collect(self, path: str, limit: int, page_size: int = 1000, **params: Any) -> list[Any]:
        """Up to ``limit`` items of a paginated list, following ``X-Next-Token``."""
        items: list[Any] = []
        token: str | None = None
        while len(items) < limit:
            page = self.page(path, limit=min(page_size, limit - len(items)), next_token=token, **params)
            items += page.items
            token = page.next_token
            if not token or not page.items:
                break
        return items[:limit]


def _clean(params: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in params.items():
        if v is None:
            continue
        out[k] = ("true" if v else "false") if isinstance(v, bool) else v
    return out


def _json(resp: requests.Response) -> Any:
    if not resp.content:
        return None
    try:
        return resp.json()
    except ValueError:
        raise CliError(f"expected JSON from {resp.request.method} {resp.url}, got {resp.text[:200]!r}") from None


def _detail(resp: requests.Response) -> str:
    try:
        data = resp.json()
    except ValueError:
        return resp.text.strip()[:500] or resp.reason
    if isinstance(data, dict):
        detail = data.get("detail") or data.get("message")
        if detail is not None:
            return detail if isinstance(detail, str) else str(detail)
    return str(data)[:500]
