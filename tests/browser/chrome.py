"""Headless Chromium from Debian, driven by Selenium through Debian's chromedriver.

Nothing is downloaded at run time: the driver's path is given to Selenium explicitly, so
Selenium Manager (which would fetch a driver from the network) is never consulted.
"""

from __future__ import annotations

import os

CHROMEDRIVER_PATHS = ("/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver")
CHROMIUM_PATHS = ("/usr/bin/chromium", "/usr/lib/chromium/chromium", "/usr/bin/chromium-browser")


def _first(paths) -> "str | None":
    for p in paths:
        if os.path.isfile(p) and os.access(p, os.X_OK):
            return p
    return None


def chromium_missing() -> "str | None":
    """Why the browser tests cannot run here, or None."""
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (pip install '.[test]')"
    if _first(CHROMIUM_PATHS) is None:
        return "chromium is not installed (Debian: apt-get install chromium; .ci/run does it)"
    if _first(CHROMEDRIVER_PATHS) is None:
        return ("chromedriver is not installed (Debian: apt-get install chromium-driver; "
                ".ci/run does it)")
    return None


def start_chromium(download_dir: "str | None" = None, lang: str = "en-GB"):
    """A headless Chromium under Selenium; the caller quits it."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = _first(CHROMIUM_PATHS)
    for arg in ("--headless=new", "--disable-gpu", "--disable-dev-shm-usage",
                "--window-size=1200,1400", "--no-first-run", "--no-default-browser-check",
                "--disable-extensions", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", f"--lang={lang}"):
        opts.add_argument(arg)
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        opts.add_argument("--no-sandbox")  # Chromium refuses its sandbox as root
    opts.add_experimental_option("prefs", {"intl.accept_languages": lang})
    # With the driver's path given, Selenium skips Selenium Manager (which would download a
    # driver); SE_OFFLINE keeps it offline should a later Selenium consult it anyway.
    os.environ.setdefault("SE_OFFLINE", "true")
    service = Service(executable_path=_first(CHROMEDRIVER_PATHS),
                      log_output=os.devnull)
    return webdriver.Chrome(options=opts, service=service)
