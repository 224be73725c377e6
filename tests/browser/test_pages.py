"""The two pages in a real browser (Debian's headless Chromium), against a real
`autoresponder serve --http`, with sign-in checked by a real Dovecot (IMAP) and replies made by
the real `deliver`."""

from __future__ import annotations

import email
import os
import time
from datetime import date, datetime, time as dtime, timedelta
from email import policy
from pathlib import Path
from zoneinfo import ZoneInfo

from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait

from tests.dovecot.lab import DOMAIN, PASSWORD

LISBON = ZoneInfo("Europe/Lisbon")
AWAY = f"away@{DOMAIN}"
ALICE = f"alice@{DOMAIN}"
VIC = f"vic@{DOMAIN}"
SALLY = f"sally@{DOMAIN}"
NEW_YORK = ZoneInfo("America/New_York")
ROOT = Path(__file__).resolve().parents[2]


def shots_dir(tmp_path: Path) -> Path:
    """Where screenshots go: docs/ when AUTORESPONDER_SCREENSHOTS=docs (how the README's
    pictures are made), else the test's own directory."""
    where = os.environ.get("AUTORESPONDER_SCREENSHOTS", "")
    return ROOT / "docs" if where == "docs" else tmp_path


def painted(png: bytes) -> bool:
    """Does a screenshot show more than a blank box? Its decoded pixel bytes take many values
    where text is drawn (anti-aliasing), a handful where there is only background and border."""
    import struct
    import zlib

    data, pos = b"", 8
    while pos < len(png):
        (size,) = struct.unpack(">I", png[pos:pos + 4])
        if png[pos + 4:pos + 8] == b"IDAT":
            data += png[pos + 8:pos + 8 + size]
        pos += size + 12
    return len(set(zlib.decompress(data))) > 24


def wait(browser, what, timeout: float = 15):
    return WebDriverWait(browser, timeout, poll_frequency=0.1).until(what)


def by_id(browser, id_: str):
    return browser.find_element(By.ID, id_)


def sign_in(browser, site, address: str, password: str = PASSWORD) -> None:
    browser.get(site.url + "login")
    by_id(browser, "address").send_keys(address)
    by_id(browser, "password").send_keys(password)
    by_id(browser, "sign-in").click()


def set_field(browser, id_: str, value: str) -> None:
    """Date and time inputs: set the ISO value (typing them depends on the browser's locale)
    and fire the events a person's edit fires."""
    browser.execute_script(
        "var e = document.getElementById(arguments[0]); e.value = arguments[1];"
        "e.dispatchEvent(new Event('input', {bubbles: true}));"
        "e.dispatchEvent(new Event('change', {bubbles: true}));", id_, value)


def type_into(browser, id_: str, text: str) -> None:
    el = by_id(browser, id_)
    el.clear()
    el.send_keys(text)


def next_dst_change(zone, after: date) -> date:
    """The first day after `after` whose noon has another UTC offset than the day before."""
    def offset(d):
        return datetime.combine(d, dtime(12), zone).utcoffset()

    d = after
    for _ in range(400):
        if offset(d + timedelta(days=1)) != offset(d):
            return d + timedelta(days=1)
        d += timedelta(days=1)
    raise AssertionError("no DST change within a year")


def mail(sender: str, to: str, subject: str = "Lunch?") -> bytes:
    return (f"From: Carol <{sender}>\nTo: {to}\nSubject: {subject}\n"
            f"Message-ID: <{abs(hash((sender, subject, os.getpid())))}@example.net>\n"
            "Date: Mon, 30 Nov 2026 10:00:00 +0000\n\nAre you there?\n").encode()


def text_part(path: Path) -> "tuple[email.message.EmailMessage, str]":
    msg = email.message_from_bytes(path.read_bytes(), policy=policy.default)
    return msg, msg.get_body(("plain",)).get_content()


# --- sign in and out ---------------------------------------------------------------------------

def test_sign_in_with_the_mail_password_and_sign_out(fresh_browser, site):
    b = fresh_browser
    sign_in(b, site, AWAY, "not-the-password")  # Dovecot answers a failure after a delay
    wait(b, lambda d: d.find_elements(By.ID, "login-error"))
    assert "wrong" in by_id(b, "login-error").text.lower()
    assert b.current_url.endswith("/web/login")
    sign_in(b, site, AWAY)
    wait(b, lambda d: d.current_url.endswith("/web/away"))
    assert by_id(b, "who").text == AWAY
    cookie = b.get_cookie("ar_session")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
    assert not cookie["secure"]  # plain HTTP on loopback only; Secure elsewhere (test_http)
    by_id(b, "logout").click()
    wait(b, lambda d: "/web/login" in d.current_url)
    assert by_id(b, "flash").text == "You are signed out."
    b.get(site.url + "away")
    assert "/web/login" in b.current_url  # the session is gone


# --- the owner's page --------------------------------------------------------------------------

def test_an_absence_across_a_dst_change_previews_saves_and_reaches_delivery(
        fresh_browser, site, tmp_path):
    b = fresh_browser
    today = datetime.now(LISBON).date()
    change = next_dst_change(LISBON, today)
    end_day = change + timedelta(days=1)
    sign_in(b, site, AWAY)
    wait(b, lambda d: d.current_url.endswith("/web/away"))
    by_id(b, "enabled").click()
    set_field(b, "start_date", today.isoformat())
    set_field(b, "end_date", end_day.isoformat())
    set_field(b, "end_time", "09:00")
    type_into(b, "subject", "Out until spring")
    type_into(b, "message", "Urgent matters: Rita, +351 210 000 001.")
    type_into(b, "sample_sender", "carol@example.net")

    # the preview follows the typing: the owner's words, subject and local end time
    wait(b, lambda d: "Rita, +351 210 000 001." in by_id(d, "preview-text").text)
    headers = dict(zip([e.text for e in b.find_elements(By.CSS_SELECTOR, "#preview-headers dt")],
                       [e.text for e in b.find_elements(By.CSS_SELECTOR, "#preview-headers dd")]))
    assert headers["Subject"] == "Out until spring"
    assert headers["To"] == "carol@example.net"
    assert headers["Auto-Submitted"] == "auto-replied"
    preview_text = by_id(b, "preview-text").text
    assert f"{end_day.day} {end_day.strftime('%B')} {end_day.year}, 09:00" in preview_text
    assert by_id(b, "preview-html-source").get_attribute("textContent").count("Rita") == 1

    # beside each date, the zone's abbreviation and offset on that date: they differ
    start_local = datetime.combine(today, dtime(0), LISBON)
    end_local = datetime.combine(end_day, dtime(9), LISBON)
    assert start_local.utcoffset() != end_local.utcoffset()
    wait(b, lambda d: end_local.tzname() in by_id(d, "end-note").text)
    assert f"{start_local.tzname()} (UTC+0" in by_id(b, "start-note").text
    assert f"{end_day.isoformat()} 09:00 {end_local.tzname()}" in by_id(b, "end-note").text

    by_id(b, "save").click()
    wait(b, lambda d: "saved=1" in d.current_url)
    assert by_id(b, "flash").text == "Saved."
    stored = site.show(AWAY)
    # stored in UTC at the instant 09:00 happens in Lisbon on that date (after the change)
    assert stored["end_at"] == end_local.astimezone(ZoneInfo("UTC")).strftime(
        "%Y-%m-%dT%H:%M:%SZ")
    assert stored["enabled"] == 1 and stored["in_force"]
    assert by_id(b, "end_date").get_attribute("value") == end_day.isoformat()
    assert by_id(b, "end_time").get_attribute("value") == "09:00"

    # the setting reaches delivery: the reply is the one the preview showed
    r = site.deliver("carol@example.net", AWAY, mail("carol@example.net", AWAY))
    assert r.returncode == 0, r.stderr
    replies = site.replies()
    assert len(replies) == 1
    msg, text = text_part(replies[0])
    assert msg["Subject"] == "Out until spring" and msg["To"].addresses[0].addr_spec == \
        "carol@example.net"
    assert text.replace("\r\n", "\n").strip() == preview_text.strip()

    # history shows who got it; "Reply again" lets that sender get it once more
    b.get(site.url + "away")
    rows = b.find_elements(By.CSS_SELECTOR, "#history tbody tr")
    assert [r.find_element(By.CSS_SELECTOR, "td.sender").text for r in rows] == \
        ["carol@example.net"]
    assert site.deliver("carol@example.net", AWAY, mail("carol@example.net", AWAY, "Again?")) \
        .returncode == 0
    assert len(site.replies()) == 1  # once per sender per interval
    rows[0].find_element(By.CSS_SELECTOR, "button").click()
    wait(b, lambda d: "forgot=" in d.current_url)
    assert "carol@example.net" in by_id(b, "flash").text
    assert site.deliver("carol@example.net", AWAY, mail("carol@example.net", AWAY, "Hello?")) \
        .returncode == 0
    assert len(site.replies()) == 2


def headers_shown(browser) -> dict:
    return dict(zip([e.text for e in browser.find_elements(By.CSS_SELECTOR, "#preview-headers dt")],
                    [e.text for e in browser.find_elements(By.CSS_SELECTOR,
                                                           "#preview-headers dd")]))


def window_around_now(zone) -> str:
    """A weekly window from an hour ago to two hours ahead, wall-clock in `zone`."""
    now = datetime.now(zone).replace(second=0, microsecond=0)
    a, z = now - timedelta(hours=1), now + timedelta(hours=2)
    return f"{a.strftime('%a')} {a.strftime('%H:%M')} - {z.strftime('%a')} {z.strftime('%H:%M')}"


def test_a_zone_a_queued_absence_across_dst_a_window_and_no_reply_for_outsiders(
        fresh_browser, site, tmp_path):
    """Issue 13's settings from the page to delivery: the owner picks a zone of their own,
    queues an absence across that zone's next DST change (the notes show both offsets),
    adds a weekly window in force now, and lets only colleagues get a reply; `deliver` then
    answers a colleague with the window's reply and an outsider with none."""
    b = fresh_browser
    sign_in(b, site, VIC)
    wait(b, lambda d: d.current_url.endswith("/web/away"))
    by_id(b, "enabled").click()
    type_into(b, "timezone", "America/New_York")
    wait(b, lambda d: by_id(d, "zone").text == "America/New_York")

    b.find_element(By.CSS_SELECTOR, "#absence-add summary").click()
    b.find_element(By.CSS_SELECTOR, "#window-add summary").click()
    # a change at least two days ahead: the absence is not in force now (it would outrank
    # the window below, as a dated absence does)
    change = next_dst_change(NEW_YORK, datetime.now(NEW_YORK).date() + timedelta(days=2))
    start = datetime.combine(change - timedelta(days=1), dtime(9), NEW_YORK)
    end = datetime.combine(change + timedelta(days=1), dtime(9), NEW_YORK)
    set_field(b, "absence-0-start_date", start.date().isoformat())
    set_field(b, "absence-0-start_time", "09:00")
    set_field(b, "absence-0-end_date", end.date().isoformat())
    set_field(b, "absence-0-end_time", "09:00")
    type_into(b, "absence-0-subject", "Spring break")
    wait(b, lambda d: end.tzname() in by_id(d, "absence-0-end-note").text)
    assert start.tzname() != end.tzname()
    assert f"{start.tzname()} ({localtime_offset(start)})" in \
        by_id(b, "absence-0-start-note").text
    assert f"{end.tzname()} ({localtime_offset(end)})" in by_id(b, "absence-0-end-note").text

    spec = window_around_now(NEW_YORK)
    type_into(b, "window-0-spec", spec)
    type_into(b, "window-0-subject", "In the window")
    by_id(b, "external-none").send_keys(Keys.SPACE)  # a radio, from the keyboard
    assert by_id(b, "external-none").is_selected()

    # the preview: an outsider gets nothing now; a colleague gets the window's reply
    type_into(b, "sample_sender", "carol@example.net")
    wait(b, lambda d: "carol@example.net is an outsider and gets no reply"
         in by_id(d, "preview-situation").text)
    type_into(b, "sample_sender", SALLY)
    wait(b, lambda d: headers_shown(d).get("Subject") == "In the window")
    assert "window" in by_id(b, "preview-situation").text
    assert f"{SALLY} is a colleague (lab.test)" in by_id(b, "preview-situation").text

    by_id(b, "save").click()
    wait(b, lambda d: "saved=1" in d.current_url)
    assert by_id(b, "timezone").get_attribute("value") == "America/New_York"
    assert by_id(b, "window-0-spec").get_attribute("value") == spec
    assert by_id(b, "absence-0-subject").get_attribute("value") == "Spring break"
    assert end.tzname() in by_id(b, "absence-0-end-note").text
    assert "replying now" in by_id(b, "status").text
    assert by_id(b, "absence-1-start_date").get_attribute("value") == ""  # the next new one
    type_into(b, "sample_sender", SALLY)
    wait(b, lambda d: headers_shown(d).get("Subject") == "In the window")
    # the HTML part is painted, not only set: after the save the frame began hidden (the
    # sample outsider gets no reply), and a hidden frame given a srcdoc stayed blank
    frame = by_id(b, "preview-html")
    b.execute_script("arguments[0].scrollIntoView()", frame)
    wait(b, lambda d: painted(by_id(d, "preview-html").screenshot_as_png))
    height = b.execute_script("return document.documentElement.scrollHeight")
    b.set_window_size(1200, height + 120)  # the whole page in the picture
    b.execute_script("window.scrollTo(0, 0)")
    wait(b, lambda d: d.execute_script(
        "return document.getElementById('preview-html').getBoundingClientRect().height") > 0)
    time.sleep(0.5)  # the sandboxed frame paints its srcdoc after the resize
    b.save_screenshot(str(shots_dir(tmp_path) / "web-owner.png"))
    b.set_window_size(1200, 1400)

    # delivery: the outsider gets no reply, the colleague the window's
    before = len(site.replies())
    r = site.deliver("carol@example.net", VIC, mail("carol@example.net", VIC))
    assert r.returncode == 0, r.stderr
    assert len(site.replies()) == before
    r = site.deliver(SALLY, VIC, mail(SALLY, VIC))
    assert r.returncode == 0, r.stderr
    replies = site.replies()
    assert len(replies) == before + 1
    msg, _text = text_part(replies[-1])
    assert msg["Subject"] == "In the window"
    assert msg["To"].addresses[0].addr_spec == SALLY
    assert msg["From"].addresses[0].addr_spec == VIC


def localtime_offset(dt: datetime) -> str:
    from autoresponder.web.localtime import offset_text

    return offset_text(dt)


def test_the_interface_speaks_portuguese_and_switches(fresh_browser, site):
    b = fresh_browser
    sign_in(b, site, AWAY)
    wait(b, lambda d: d.current_url.endswith("/web/away"))
    b.find_element(By.CSS_SELECTOR, "a[hreflang=pt]").click()
    wait(b, lambda d: d.find_element(By.TAG_NAME, "h1").text == "Ausência")
    assert b.find_element(By.TAG_NAME, "html").get_attribute("lang") == "pt"
    assert by_id(b, "save").text == "Guardar"
    b.find_element(By.CSS_SELECTOR, "a[hreflang=en]").click()
    wait(b, lambda d: d.find_element(By.TAG_NAME, "h1").text == "Out of office")


def test_the_page_is_usable_from_the_keyboard(fresh_browser, site):
    b = fresh_browser
    b.get(site.url + "login")
    active = b.switch_to.active_element
    assert active.get_attribute("id") == "address"  # the first field has the focus
    active.send_keys(AWAY, Keys.TAB)
    b.switch_to.active_element.send_keys(PASSWORD, Keys.ENTER)
    wait(b, lambda d: d.current_url.endswith("/web/away"))
    for el in b.find_elements(By.CSS_SELECTOR, "input:not([type=hidden]), select, textarea"):
        id_ = el.get_attribute("id")
        assert b.find_elements(By.CSS_SELECTOR, f"label[for='{id_}']"), id_


# --- the template page -------------------------------------------------------------------------

def test_a_failing_template_is_refused_with_its_error_and_a_good_one_saved_and_undone(
        fresh_browser, site, tmp_path):
    b = fresh_browser
    path = site.templates / "default.en.txt"
    original = path.read_text()
    b.get(site.url + "login")
    b.find_element(By.CSS_SELECTOR, "details summary").click()
    by_id(b, "token").send_keys(site.token())
    by_id(b, "sign-in-token").click()
    wait(b, lambda d: d.current_url.endswith("/web/templates"))
    listed = by_id(b, "template-list").text
    assert "default.en.txt" in listed and "default.pt.html" in listed and "✗" not in listed

    b.find_element(By.CSS_SELECTOR, "a[href$='file=default.en.txt']").click()
    wait(b, lambda d: "passes" in by_id(d, "check-result").text)
    lines = original.count("\n")
    source = by_id(b, "source")
    source.send_keys(Keys.CONTROL, Keys.END)
    source.send_keys("{{ nickname }}")
    wait(b, lambda d: "nickname" in by_id(d, "check-result").text)
    assert f"Line {lines + 1}: unknown variable(s): nickname" in by_id(b, "check-result").text
    by_id(b, "save-template").click()
    wait(b, lambda d: "/templates/save" in d.current_url)
    assert by_id(b, "flash").text == "Not saved: the template fails the check."
    assert f"Line {lines + 1}: unknown variable(s): nickname" in by_id(b, "check-result").text
    assert path.read_text() == original  # nothing written

    source = by_id(b, "source")
    source.send_keys(Keys.CONTROL, Keys.END)
    source.send_keys(Keys.BACKSPACE * len("{{ nickname }}"))
    source.send_keys("See you soon, {{ sender }}.")
    wait(b, lambda d: "passes" in by_id(d, "check-result").text)
    wait(b, lambda d: "See you soon, sender@example.org." in by_id(d, "preview-text").text)
    b.save_screenshot(str(shots_dir(tmp_path) / "web-templates.png"))
    by_id(b, "save-template").click()
    wait(b, lambda d: "saved=1" in d.current_url)
    assert path.read_text().endswith("See you soon, {{ sender }}.")
    assert (site.templates / "default.en.txt.prev").read_text() == original

    # the saved page fully loaded first (a click while it still loads could be lost when
    # the machine is busy: this flaked once in a full run)
    wait(b, lambda d: d.execute_script("return document.readyState") == "complete")
    by_id(b, "undo").click()
    wait(b, lambda d: "undone=" in d.current_url, timeout=30)
    assert path.read_text() == original


def test_an_owner_may_not_open_the_template_page(fresh_browser, site):
    b = fresh_browser
    sign_in(b, site, ALICE)
    wait(b, lambda d: d.current_url.endswith("/web/away"))
    b.get(site.url + "templates")
    assert "Only administrators" in by_id(b, "message").text
    assert not b.find_elements(By.ID, "template-list")


# --- one owner, one account --------------------------------------------------------------------

def test_a_second_user_cannot_see_or_change_the_first_users_absence(fresh_browser, site):
    import asyncio

    site.admin("vacation", "enable", AWAY, "--message", "Private: Rita's number",
               "--end", "2099-01-01")
    b = fresh_browser
    sign_in(b, site, AWAY)
    wait(b, lambda d: d.current_url.endswith("/web/away"))
    away_csrf = b.find_element(By.CSS_SELECTOR, "#away-form input[name=csrf]") \
        .get_attribute("value")
    b.delete_all_cookies()

    sign_in(b, site, ALICE)
    wait(b, lambda d: d.current_url.endswith("/web/away"))
    assert "Rita" not in b.page_source
    for trick in ("away?account=" + AWAY, "away?address=" + AWAY, "away/" + AWAY):
        b.get(site.url + trick)
        assert "Rita" not in b.page_source
    before = site.show(AWAY)

    async def by_hand():
        from tests.web.client import PageClient

        async with PageClient(site.url) as alice:
            await alice.sign_in(ALICE, PASSWORD)
            form = {"enabled": "on", "message": "hijacked", "address": AWAY,
                    "account": AWAY, "end_date": "2099-01-01"}
            assert (await alice.post("away", form)).status == 403  # no CSRF token
            assert (await alice.post("away", {**form, "csrf": away_csrf})).status == 403
            assert (await alice.post("away", {**form, "csrf": "x" * 43})).status == 403
            r = await alice.post("away/forget", {"sender": "carol@example.net",
                                                 "csrf": away_csrf})
            assert r.status == 403
            r = await alice.post("away/preview", {"csrf": away_csrf})
            assert r.status == 403
            # with her own token, the same form changes her own account only
            own = await alice.hidden("away")
            r = await alice.post("away", {**form, "csrf": own["csrf"], "state": own["state"]})
            assert r.status == 303, r.body
        async with PageClient(site.url) as nobody:  # no session at all
            assert (await nobody.post("away", {"csrf": away_csrf,
                                               "message": "x"})).status == 403

    asyncio.run(by_hand())
    assert site.show(AWAY) == before
    assert site.show(ALICE)["message"] == "hijacked"


def test_a_reload_keeps_the_sessions(site):
    """SIGHUP rebuilds the HTTP app inside the same process: signed-in owners stay signed in
    (the sessions live in that process)."""
    import asyncio
    import signal
    import time as _time

    from tests.web.client import PageClient

    async def go():
        async with PageClient(site.url) as c:
            await c.sign_in_token(site.token(ALICE))
            assert (await c.get("away")).status == 200
            before = site.log.read_text().count("http-reload")
            os.kill(site.proc.pid, signal.SIGHUP)
            deadline = _time.monotonic() + 20
            while site.log.read_text().count("http-reload") == before:
                assert _time.monotonic() < deadline, "no http-reload in the log"
                await asyncio.sleep(0.1)
            r = await c.get("away")
            assert r.status == 200 and ALICE in r.body

    asyncio.run(go())
