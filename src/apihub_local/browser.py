"""Finds the Chrome/Chromium and chromedriver the jobs page test drives, the way a developer has them.

Looked up in this order, first match wins:

* ``CHROME`` and ``CHROMEDRIVER`` (a set variable that does not name an executable is an error, not
  something to skip past silently);
* the PATH: ``chromium``, ``chromium-browser``, ``google-chrome``, ``google-chrome-stable``, ``chrome``
  and ``chromedriver``;
* macOS apps: ``Google Chrome.app`` or ``Chromium.app`` in ``/Applications`` or ``~/Applications``;
* Selenium Manager's cache (``$SE_CACHE_PATH``, default ``~/.cache/selenium``): Chrome for Testing and
  the chromedriver it downloaded earlier, newest version first.

``python -m apihub_local.browser [--install]`` is ``make browser``: it prints what it found, or
installs Debian's ``chromium`` and ``chromium-driver`` with apt-get when it may (root, apt-get on the
PATH), or says in one line why the page test will be skipped. Under CI (``CI`` set) a missing browser
fails instead: CI can install one, so the page test always runs there.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

CHROME_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome")
# macOS installs browsers as apps, off the PATH: in /Applications or the user's ~/Applications.
CHROME_APPS = (
    "Google Chrome.app/Contents/MacOS/Google Chrome",
    "Chromium.app/Contents/MacOS/Chromium",
)
SYSTEM_APPLICATIONS = Path("/Applications")
DRIVER_NAMES = ("chromedriver",)
# Where Selenium Manager puts Chrome for Testing inside a version folder, per platform.
CACHED_CHROME_FILES = (
    "chrome",
    "chrome.exe",
    "Google Chrome for Testing.app/Contents/MacOS/Google Chrome for Testing",
)
CACHED_DRIVER_FILES = ("chromedriver", "chromedriver.exe")
APT_PACKAGES = ("chromium", "chromium-driver")
HOW_TO = "set CHROME and CHROMEDRIVER, or put chromium and chromedriver on the PATH"


class BrowserNotFound(Exception):
    """No usable browser and driver; the message is the one line a developer sees."""


@dataclass(frozen=True)
class Browser:
    chrome: Path
    driver: Path


def is_ci(env: Mapping[str, str] | None = None) -> bool:
    """CI sets ``CI`` (GitHub Actions, GitLab, ``.ci/run``): there the page test must run."""
    value = (os.environ if env is None else env).get("CI", "").strip().lower()
    return value not in ("", "0", "false", "no", "off")


def _executable(path: Path) -> bool:
    return path.is_file() and os.access(path, os.X_OK)


def _from_variable(env: Mapping[str, str], name: str) -> Path | None:
    value = env.get(name, "").strip()
    if not value:
        return None
    # A bare name (CHROME=chromium) is looked up on the PATH, as a shell would.
    found = shutil.which(value, path=env.get("PATH", "")) if os.sep not in value else None
    path = Path(found or value).expanduser()
    if not _executable(path):
        raise BrowserNotFound(f"{name}={value} is not an executable file: {HOW_TO}")
    return path


def _on_path(env: Mapping[str, str], names: Iterable[str]) -> Path | None:
    for name in names:
        found = shutil.which(name, path=env.get("PATH", ""))
        if found:
            return Path(found)
    return None


def _mac_app(env: Mapping[str, str]) -> Path | None:
    for folder in (_home(env) / "Applications", SYSTEM_APPLICATIONS):
        for app in CHROME_APPS:
            if _executable(folder / app):
                return folder / app
    return None


def _home(env: Mapping[str, str]) -> Path:
    return Path(env.get("HOME") or Path.home())


def _version_key(folder: str) -> tuple[int, ...]:
    return tuple(int(n) for n in re.findall(r"\d+", folder))


def _cache_root(env: Mapping[str, str]) -> Path:
    if env.get("SE_CACHE_PATH"):
        return Path(env["SE_CACHE_PATH"]).expanduser()
    return _home(env) / ".cache" / "selenium"


def _cached(env: Mapping[str, str], kind: str, files: Iterable[str], major: int | None = None) -> Path | None:
    """The newest executable Selenium Manager cached as ``<cache>/<kind>/<platform>/<version>/<file>``
    (of major version ``major`` when given, so that a cached driver matches a cached browser)."""
    versions = [v for platform in (_cache_root(env) / kind).glob("*") for v in platform.glob("*")]
    for version in sorted(versions, key=lambda v: _version_key(v.name), reverse=True):
        if major is not None and _version_key(version.name)[:1] != (major,):
            continue
        for name in files:
            if _executable(version / name):
                return version / name
    return None


def find_browser(env: Mapping[str, str] | None = None) -> Browser:
    """The browser and driver to use, or ``BrowserNotFound`` saying what is missing and how to fix it."""
    env = os.environ if env is None else env
    major = None
    chrome = _from_variable(env, "CHROME") or _on_path(env, CHROME_NAMES) or _mac_app(env)
    if chrome is None:
        chrome = _cached(env, "chrome", CACHED_CHROME_FILES)
        if chrome is not None:  # <cache>/chrome/<platform>/<version>/...: pair it with its own driver
            major = next(iter(_version_key(chrome.relative_to(_cache_root(env) / "chrome").parts[1])), None)
    driver = (
        _from_variable(env, "CHROMEDRIVER")
        or _on_path(env, DRIVER_NAMES)
        or _cached(env, "chromedriver", CACHED_DRIVER_FILES, major)
    )
    if chrome is None or driver is None:
        missing = [what for what, path in (("Chrome/Chromium", chrome), ("chromedriver", driver)) if path is None]
        raise BrowserNotFound(
            f"no {' and no '.join(missing)} found (CHROME/CHROMEDRIVER, PATH, Applications, Selenium Manager's cache): {HOW_TO}"
        )
    return Browser(chrome=chrome, driver=driver)


def can_install(env: Mapping[str, str] | None = None) -> bool:
    """apt-get needs root and Debian (or a derivative); anywhere else installing is the user's call."""
    env = os.environ if env is None else env
    return (
        hasattr(os, "geteuid") and os.geteuid() == 0 and shutil.which("apt-get", path=env.get("PATH", "")) is not None
    )


def apt_install() -> bool:
    """Install Debian's Chromium and its driver; False when apt-get fails (no network, no such package)."""
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for cmd in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", *APT_PACKAGES]):
        if subprocess.run(cmd, env=env, check=False).returncode != 0:  # noqa: S603 - fixed commands
            return False
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m apihub_local.browser", description=__doc__.split("\n")[0])
    parser.add_argument(
        "--install", action="store_true", help="when none is found, install Chromium with apt-get if root"
    )
    args = parser.parse_args(argv)
    try:
        browser = find_browser()
    except BrowserNotFound as exc:
        if not (args.install and can_install() and apt_install()):
            skipped = (
                "CI is set, so the jobs page test cannot be skipped"
                if is_ci()
                else "the jobs page test will be skipped"
            )
            print(f"browser: {exc}; {skipped}", file=sys.stderr if is_ci() else sys.stdout)
            return 1 if is_ci() else 0
        try:
            browser = find_browser()
        except BrowserNotFound as again:
            print(f"browser: installed {' '.join(APT_PACKAGES)} but {again}", file=sys.stderr)
            return 1
    print(f"browser: {browser.chrome} with {browser.driver}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
