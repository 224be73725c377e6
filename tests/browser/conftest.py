"""Fixtures for the browser tests: one headless Chromium per test module."""

from __future__ import annotations

import pytest

from tests.browser.chrome import chromium_missing, start_chromium


@pytest.fixture(scope="session")
def chromium_available() -> None:
    why = chromium_missing()
    if why:
        pytest.skip(why)


@pytest.fixture(scope="module")
def browser(chromium_available):
    """A headless Chromium (Debian's, through Debian's chromedriver), quit after the module."""
    driver = start_chromium()
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture
def fresh_browser(browser):
    """The module's browser with no cookies left from an earlier test."""
    browser.delete_all_cookies()
    return browser


@pytest.fixture(scope="session")
def imap_lab():
    """The HTTP API tests' private Dovecot with IMAP (tests/http/imaplab.py): the mail server
    that checks the pages' passwords."""
    from tests.dovecot.lab import free_port
    from tests.http.imaplab import ImapLab, imap_missing

    why = imap_missing()
    if why:
        pytest.skip(why)
    lab = ImapLab(free_port()).start()
    try:
        yield lab
    finally:
        lab.stop()


@pytest.fixture(scope="module")
def site(imap_lab):
    """A running `autoresponder serve --http` whose password sign-in asks the IMAP lab."""
    import shutil

    from tests.browser.site import make_site

    s = make_site(f'imap_host = "127.0.0.1"\nimap_port = {imap_lab.imap_port}\n'
                  f'imap_security = "starttls"\nimap_ca_file = "{imap_lab.ca}"\n').start()
    try:
        yield s
    finally:
        s.stop()
        shutil.rmtree(s.dir, ignore_errors=True)
