"""``make browser`` and the jobs page test find a browser the way a developer has one, install one
only where the machine allows, and otherwise say so in one line (failing only under CI)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from apihub_local import browser
from apihub_local.browser import Browser, BrowserNotFound, find_browser


def _exe(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("#!/bin/sh\n")
    path.chmod(0o755)
    return path


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty home (no Selenium cache), an empty PATH and no /Applications: nothing to find until
    a test adds it, whatever this machine has installed."""
    monkeypatch.setattr(browser, "SYSTEM_APPLICATIONS", tmp_path / "Applications")
    (tmp_path / "home").mkdir()
    (tmp_path / "bin").mkdir()
    return tmp_path


def _env(home: Path, **extra: str) -> dict[str, str]:
    return {"HOME": str(home / "home"), "PATH": str(home / "bin"), **extra}


def test_nothing_installed_names_what_is_missing_and_how_to_fix_it(home: Path) -> None:
    with pytest.raises(BrowserNotFound) as exc:
        find_browser(_env(home))
    message = str(exc.value)
    assert "\n" not in message
    assert "no Chrome/Chromium and no chromedriver found" in message and "CHROMEDRIVER" in message


def test_debian_chromium_on_the_path_is_found(home: Path) -> None:
    chrome, driver = _exe(home / "bin/chromium"), _exe(home / "bin/chromedriver")
    assert find_browser(_env(home)) == Browser(chrome=chrome, driver=driver)


@pytest.mark.parametrize("name", ["chromium-browser", "google-chrome", "google-chrome-stable", "chrome"])
def test_other_browser_names_on_the_path_are_found(home: Path, name: str) -> None:
    chrome = _exe(home / "bin" / name)
    _exe(home / "bin/chromedriver")
    assert find_browser(_env(home)).chrome == chrome


def test_a_browser_without_a_driver_is_not_enough(home: Path) -> None:
    _exe(home / "bin/chromium")
    with pytest.raises(BrowserNotFound, match=r"^no chromedriver found"):
        find_browser(_env(home))


def test_a_file_that_is_not_executable_does_not_count(home: Path) -> None:
    _exe(home / "bin/chromedriver")
    (home / "bin/chromium").write_text("not a program")
    with pytest.raises(BrowserNotFound, match="no Chrome/Chromium found"):
        find_browser(_env(home))


@pytest.mark.parametrize("folder", ["home/Applications", "Applications"])
def test_a_macos_chrome_app_is_found_off_the_path(home: Path, folder: str) -> None:
    chrome = _exe(home / folder / "Chromium.app/Contents/MacOS/Chromium")
    driver = _exe(home / "bin/chromedriver")
    assert find_browser(_env(home)) == Browser(chrome=chrome, driver=driver)


def test_chrome_and_chromedriver_variables_win_over_the_path(home: Path) -> None:
    _exe(home / "bin/chromium")
    _exe(home / "bin/chromedriver")
    chrome = _exe(home / "apps/Google Chrome.app/Contents/MacOS/Google Chrome")
    driver = _exe(home / "drivers/chromedriver")
    env = _env(home, CHROME=str(chrome), CHROMEDRIVER=str(driver))
    assert find_browser(env) == Browser(chrome=chrome, driver=driver)


def test_a_variable_may_name_a_program_on_the_path(home: Path) -> None:
    chrome = _exe(home / "bin/my-chrome")
    driver = _exe(home / "bin/chromedriver")
    assert find_browser(_env(home, CHROME="my-chrome")) == Browser(chrome=chrome, driver=driver)


def test_a_variable_naming_nothing_is_reported_not_skipped_past(home: Path) -> None:
    _exe(home / "bin/chromium")
    _exe(home / "bin/chromedriver")
    with pytest.raises(BrowserNotFound, match=r"^CHROME=/nowhere/chrome is not an executable file"):
        find_browser(_env(home, CHROME="/nowhere/chrome"))


def test_selenium_managers_cache_supplies_a_matching_browser_and_driver(home: Path) -> None:
    cache = home / "home/.cache/selenium"
    _exe(cache / "chrome/linux64/120.0.6099.109/chrome")
    chrome = _exe(cache / "chrome/linux64/131.0.6778.85/chrome")
    driver = _exe(cache / "chromedriver/linux64/131.0.6778.85/chromedriver")
    _exe(cache / "chromedriver/linux64/132.0.6834.83/chromedriver")  # newer, but for another browser
    assert find_browser(_env(home)) == Browser(chrome=chrome, driver=driver)


def test_selenium_managers_cached_driver_serves_a_browser_on_the_path(home: Path) -> None:
    chrome = _exe(home / "bin/google-chrome")
    _exe(home / "cache/chromedriver/mac-arm64/9.0.1/chromedriver")
    driver = _exe(home / "cache/chromedriver/mac-arm64/10.0.1/chromedriver")  # 10 > 9: by number, not text
    assert find_browser(_env(home, SE_CACHE_PATH=str(home / "cache"))) == Browser(chrome=chrome, driver=driver)


def test_macos_chrome_for_testing_in_the_cache_is_found(home: Path) -> None:
    cache = home / "home/.cache/selenium"
    app = "Google Chrome for Testing.app/Contents/MacOS/Google Chrome for Testing"
    chrome = _exe(cache / "chrome/mac-x64/131.0.6778.85" / app)
    driver = _exe(cache / "chromedriver/mac-x64/131.0.6778.85/chromedriver")
    assert find_browser(_env(home)) == Browser(chrome=chrome, driver=driver)


# ------------------------------------------------------------------ make browser (main)


@pytest.fixture
def no_browser(home: Path, monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """This process sees no browser; apt-get calls are recorded (and fail), never run."""
    monkeypatch.setenv("HOME", str(home / "home"))
    monkeypatch.setenv("PATH", str(home / "bin"))
    for name in ("CHROME", "CHROMEDRIVER", "SE_CACHE_PATH", "CI"):
        monkeypatch.delenv(name, raising=False)
    calls: list[list[str]] = []

    def fake_run(cmd: list[str], **kwargs: object) -> subprocess.CompletedProcess[bytes]:
        calls.append(cmd)
        return subprocess.CompletedProcess(cmd, 100)

    monkeypatch.setattr(browser.subprocess, "run", fake_run)
    return calls


def test_a_normal_user_gets_one_line_and_make_goes_on(no_browser, monkeypatch, capsys) -> None:
    monkeypatch.setattr(browser.os, "geteuid", lambda: 501)
    _exe(Path(browser.os.environ["PATH"]) / "apt-get")
    assert browser.main(["--install"]) == 0
    out = capsys.readouterr()
    assert no_browser == []  # not root: apt-get is never tried
    assert out.err == "" and out.out.count("\n") == 1
    assert out.out.startswith("browser: no Chrome/Chromium and no chromedriver found")
    assert out.out.rstrip().endswith("the jobs page test will be skipped")


def test_root_without_apt_get_does_not_try_to_install(no_browser, monkeypatch, capsys) -> None:
    monkeypatch.setattr(browser.os, "geteuid", lambda: 0)
    assert browser.main(["--install"]) == 0
    assert no_browser == []
    assert "will be skipped" in capsys.readouterr().out


def test_root_with_apt_get_installs_debians_chromium(no_browser, monkeypatch, capsys) -> None:
    monkeypatch.setattr(browser.os, "geteuid", lambda: 0)
    bin_dir = Path(browser.os.environ["PATH"])
    _exe(bin_dir / "apt-get")

    def apt(cmd: list[str], **kwargs: object) -> subprocess.CompletedProcess[bytes]:
        no_browser.append(cmd)
        if cmd[1] == "install":  # what Debian's packages put on the PATH
            _exe(bin_dir / "chromium")
            _exe(bin_dir / "chromedriver")
        return subprocess.CompletedProcess(cmd, 0)

    monkeypatch.setattr(browser.subprocess, "run", apt)
    assert browser.main(["--install"]) == 0
    assert [c[:2] for c in no_browser] == [["apt-get", "update"], ["apt-get", "install"]]
    assert no_browser[1][-2:] == ["chromium", "chromium-driver"]
    assert capsys.readouterr().out == f"browser: {bin_dir / 'chromium'} with {bin_dir / 'chromedriver'}\n"


def test_a_failed_install_is_one_line_for_a_developer(no_browser, monkeypatch, capsys) -> None:
    monkeypatch.setattr(browser.os, "geteuid", lambda: 0)
    _exe(Path(browser.os.environ["PATH"]) / "apt-get")
    assert browser.main(["--install"]) == 0  # apt-get failed (no network): the page test is skipped
    assert no_browser == [["apt-get", "update", "-qq"]]
    assert capsys.readouterr().out.count("\n") == 1


def test_under_ci_a_missing_browser_fails_make(no_browser, monkeypatch, capsys) -> None:
    monkeypatch.setattr(browser.os, "geteuid", lambda: 501)
    monkeypatch.setenv("CI", "true")
    assert browser.main(["--install"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("browser: no Chrome/Chromium") and err.rstrip().endswith(
        "CI is set, so the jobs page test cannot be skipped"
    )


def test_a_found_browser_is_reported_and_nothing_installed(no_browser, monkeypatch, capsys) -> None:
    monkeypatch.setattr(browser.os, "geteuid", lambda: 0)
    bin_dir = Path(browser.os.environ["PATH"])
    _exe(bin_dir / "apt-get")
    _exe(bin_dir / "chromium")
    _exe(bin_dir / "chromedriver")
    assert browser.main(["--install"]) == 0
    assert no_browser == []
    assert capsys.readouterr().out.startswith("browser: ")


@pytest.mark.parametrize(("value", "ci"), [("true", True), ("1", True), ("", False), ("false", False), ("0", False)])
def test_ci_is_read_from_the_ci_variable(value: str, ci: bool) -> None:
    assert browser.is_ci({"CI": value}) is ci
