"""Issue 13's settings on the owner's page, over HTTP without a browser: saved through the
API's mapping (what the store then holds), shown back, posted back untouched with nothing
changed (items keep their ids and keys), bad input named beside its field with nothing
stored, and another account's items out of reach however the form is edited."""

from __future__ import annotations

import json
import time

from tests.web.client import form_fields
from tests.web.test_http import ANA, BOB, served, signed_in  # noqa: F401 - fixture

ALIAS = "ana.silva@example.com"


def setup_ana(site, **extra):
    with site.store() as s:
        s.enable(ANA, {"message": "Back soon", **extra}, [ALIAS], time.time())


def items_of(site, address):
    with site.store() as s:
        acct = s.find_account(address)
    return [(i.kind, i.id, i.key, i.spec or i.start_local) for i in acct.items] if acct else None


async def test_the_new_settings_are_saved_shown_and_kept_when_posted_back(served):  # noqa: F811
    setup_ana(served)
    async with await signed_in(served, ANA) as ana:
        page = await ana.get("away")
        form = form_fields(page.body, "away-form")
        form.update({"enabled": "on", "timezone": "America/Sao_Paulo",
                     "start_date": "2027-02-10", "start_time": "18:00",
                     "internal_domains": "partner.example, .corp.example",
                     "external": "none", "external_subject": "Not now",
                     "reply_from": ALIAS, "group_mail": "on",
                     "absence-0-start_date": "2027-06-01", "absence-0-end_date": "2027-06-30",
                     "absence-0-subject": "Summer", "absence-0-external_message": "Later",
                     "window-0-spec": "sex 14h - seg 8h", "window-0-subject": "Weekend"})
        r = await ana.post("away", form)
        assert r.status == 303, r.body[:2000]
        with served.store() as s:
            a = s.find_account(ANA)
        assert (a.timezone, a.start_local, a.start_at) == \
            ("America/Sao_Paulo", "2027-02-10T18:00", "2027-02-10T21:00:00Z")
        assert (a.internal_domains, a.external, a.external_subject) == \
            (".corp.example,partner.example", "none", "Not now")
        assert (a.reply_from, a.answer_group_mail) == (ALIAS, True)
        (ab,) = [i for i in a.items if i.kind == "absence"]
        (win,) = [i for i in a.items if i.kind == "window"]
        assert (ab.start_local, ab.end_local, ab.subject, ab.external_message) == \
            ("2027-06-01T00:00", "2027-07-01T00:00", "Summer", "Later")
        assert (win.spec, win.subject) == ("Fri 14:00 - Mon 08:00", "Weekend")
        before = items_of(served, ANA)

        # shown back as saved, with the window in the parser's own words
        page = await ana.get("away?saved=1")
        shown = form_fields(page.body, "away-form")
        assert shown["timezone"] == "America/Sao_Paulo" and shown["external"] == "none"
        assert shown["reply_from"] == ALIAS and shown["group_mail"] == "on"
        assert shown["window-0-spec"] == "Fri 14:00 - Mon 08:00"
        assert shown["absence-0-end_date"] == "2027-06-30"  # through that day
        assert shown["absence-0-id"] == str(ab.id)
        assert "next change" in page.body or "replying now" in page.body

        # the page saved again untouched: the same items (ids and keys: nobody answered twice)
        assert (await ana.post("away", shown)).status == 303
        assert items_of(served, ANA) == before

        # a row ticked "remove" goes; a row edited keeps its place under a new key
        page = await ana.get("away")
        again = form_fields(page.body, "away-form")
        again["absence-0-remove"] = "on"
        again["window-0-spec"] = "Fri 15:00 - Mon 08:00"
        assert (await ana.post("away", again)).status == 303
        after = items_of(served, ANA)
        assert [k for k, *_ in after] == ["window"]
        assert after[0][3] == "Fri 15:00 - Mon 08:00" and after[0][2] != before[1][2]


async def test_bad_zone_and_window_text_are_named_beside_their_fields_and_nothing_is_stored(
        served):  # noqa: F811
    setup_ana(served)
    stored = items_of(served, ANA)
    async with await signed_in(served, ANA) as ana:
        form = form_fields((await ana.get("away")).body, "away-form")
        form.update({"timezone": "Europe/Atlantis", "window-0-spec": "every other Tuesday",
                     "absence-0-subject": "no dates", "internal_domains": "a@b.example",
                     "subject": "Changed"})
        r = await ana.post("away", form)
        assert r.status == 422
        for field in ("timezone", "window-0-spec", "absence-0-start", "internal_domains"):
            assert f'id="{field}-error"' in r.body, field
        assert "not a time zone this server knows" in r.body
        assert "not a weekly window: cannot read" in r.body
        assert 'aria-describedby="window-hint window-0-spec-error" aria-invalid="true"' in r.body
        # the typed values stay in the form, to be corrected
        back = form_fields(r.body, "away-form")
        assert back["timezone"] == "Europe/Atlantis"
        assert back["window-0-spec"] == "every other Tuesday"
    with served.store() as s:
        a = s.find_account(ANA)
    assert (a.timezone, a.subject, a.internal_domains) == (None, None, None)
    assert items_of(served, ANA) == stored


async def test_an_owner_cannot_post_another_accounts_items(served):  # noqa: F811
    setup_ana(served)
    with served.store() as s:
        s.enable(BOB, {"message": "Bob away"}, None, time.time())
        bobs = s.add_item(BOB, {"kind": "absence", "key": "abob", "start_local":
                                "2027-05-01T00:00", "subject": "Bob's"}, time.time())
        bobs_window = s.add_item(BOB, {"kind": "window", "key": "wbob", "spec": "Sat-Sun"},
                                 time.time())
    bob_before = items_of(served, BOB)
    async with await signed_in(served, ANA) as ana:
        form = form_fields((await ana.get("away")).body, "away-form")
        # as if editing Bob's absence (his id in Ana's form), and removing his window
        form.update({"absence-0-id": str(bobs.id), "absence-0-start_date": "2027-05-01",
                     "absence-0-subject": "Ana's now", "window-0-id": str(bobs_window.id),
                     "window-0-spec": "Sat-Sun", "window-0-remove": "on"})
        r = await ana.post("away", form)
        assert r.status == 422
        assert 'id="absence-0-id-error"' in r.body and 'id="window-0-id-error"' in r.body
        # nor through the preview: it renders only Ana's own draft, never Bob's item
        r = await ana.post("away/preview", {**form, "sample_when": "absence-0"},
                           headers={"Accept": "application/json"})
        body = json.loads(r.body)
        assert body["errors"]["absence-0-id"] and "Bob" not in r.body
    assert items_of(served, ANA) == []
    assert items_of(served, BOB) == bob_before


async def test_the_preview_follows_audience_from_and_the_chosen_window(served):  # noqa: F811
    setup_ana(served, reply_from="addressed")
    async with await signed_in(served, ANA) as ana:
        form = form_fields((await ana.get("away")).body, "away-form")
        assert form["sample_to"] == ANA  # the account has an alias: the "sent to" choice

        async def preview(**changes):
            r = await ana.post("away/preview", {**form, **changes},
                               headers={"Accept": "application/json"})
            assert r.status == 200
            return json.loads(r.body)

        # an outsider when outsiders get none: no reply, and the page says so
        out = await preview(external="none", sample_sender="carol@example.net")
        assert out["headers"] == [] and "is an outsider and gets no reply" in out["situation"]
        # a colleague (the account's own domain) gets it, from the address written to
        out = await preview(external="none", sample_sender="rita@example.com",
                            sample_to=ALIAS)
        assert dict(out["headers"])["From"] == ALIAS
        assert "rita@example.com is a colleague (example.com)" in out["situation"]
        # an outsider's own subject; the window's reply when previewing the window
        out = await preview(external_subject="For outsiders",
                            sample_sender="carol@example.net")
        assert dict(out["headers"])["Subject"] == "For outsiders"
        out = await preview(**{"window-0-spec": "Mon-Sun 00:00-23:59",
                               "window-0-subject": "In the window",
                               "sample_when": "window-0"},
                            sample_sender="rita@example.com")
        assert dict(out["headers"])["Subject"] == "In the window"
        assert "the window Mon-Sun 00:00-23:59 answers" in out["situation"]
        # the notes follow the typed zone
        out = await preview(timezone="Asia/Tokyo", start_date="2027-01-05")
        assert out["zone"] == "Asia/Tokyo" and "JST (UTC+09:00)" in out["notes"]["start"]


async def test_a_new_zone_keeps_the_dates_as_the_clock_reads_them(served):  # noqa: F811
    setup_ana(served)
    async with await signed_in(served, ANA) as ana:
        form = form_fields((await ana.get("away")).body, "away-form")
        form.update({"start_date": "2027-02-10", "start_time": "18:00",
                     "absence-0-start_date": "2027-06-01"})
        assert (await ana.post("away", form)).status == 303
        with served.store() as s:
            a = s.find_account(ANA)
        assert (a.timezone, a.start_local, a.start_at) == \
            (None, "2027-02-10T18:00", "2027-02-10T18:00:00Z")  # Lisbon, the config's
        form = form_fields((await ana.get("away")).body, "away-form")
        form["timezone"] = "Asia/Tokyo"
        assert (await ana.post("away", form)).status == 303
        with served.store() as s:
            b = s.find_account(ANA)
        assert (b.timezone, b.start_local, b.start_at) == \
            ("Asia/Tokyo", "2027-02-10T18:00", "2027-02-10T09:00:00Z")
        assert [i.start_local for i in b.items] == ["2027-06-01T00:00"]
        assert [i.key for i in b.items] == [i.key for i in a.items]
        form = form_fields((await ana.get("away")).body, "away-form")
        assert (form["start_date"], form["start_time"]) == ("2027-02-10", "18:00")


async def test_a_stored_zone_this_machine_lacks_still_opens_and_is_named_on_save(
        served):  # noqa: F811
    setup_ana(served, timezone="Europe/Gone", start_local="2027-01-01T10:00",
              start_at="2027-01-01T10:00:00Z")
    async with await signed_in(served, ANA) as ana:
        r = await ana.get("away")
        assert r.status == 200
        form = form_fields(r.body, "away-form")
        assert form["timezone"] == "Europe/Gone" and form["start_time"] == "10:00"
        r = await ana.post("away", form)
        assert r.status == 422 and 'id="timezone-error"' in r.body


async def test_the_template_preview_shows_the_template_for_an_account_that_answers_colleagues_only(
        served):  # noqa: F811
    setup_ana(served, external="none", external_subject="Outsiders")
    with served.store() as s:
        s.add_item(ANA, {"kind": "window", "key": "w1", "spec": "Mon-Sun",
                         "subject": "Window"}, time.time())
    async with await signed_in(served) as admin:
        csrf = await admin.csrf("templates")
        r = await admin.post("templates/check", {
            "csrf": csrf, "file": "default.en.txt", "account": ANA,
            "source": "Draft for {{ account.address }}\n"},
            headers={"Accept": "application/json"})
        body = json.loads(r.body)
        assert body["problem"] is None
        assert body["text"] == "Draft for ana@example.com\n"


async def test_every_field_has_a_label_and_every_description_exists(served):  # noqa: F811
    import re

    from pathlib import Path

    setup_ana(served)
    with served.store() as s:
        s.add_item(ANA, {"kind": "absence", "key": "a1", "start_local": "2027-06-01T00:00"},
                   time.time())
    # a second template: every reply gets its template choice (main, outsiders, each row)
    (Path(served.config.templates) / "short.en.txt").write_text("Away.\n")
    async with await signed_in(served, ANA) as ana:
        form = form_fields((await ana.get("away")).body, "away-form")
        assert form["absence-0-template"] == "" and form["external_template"] == ""
        form.update({"timezone": "Nowhere/Else", "window-0-spec": "??",
                     "absence-0-template": "nope"})
        for body in ((await ana.get("away")).body, (await ana.post("away", form)).body):
            ids = set(re.findall(r'\bid="([^"]+)"', body))
            for refs in re.findall(r'aria-describedby="([^"]*)"', body):
                assert refs.split() and set(refs.split()) <= ids, refs
            labelled = set(re.findall(r'<label for="([^"]+)"', body))
            for tag in re.findall(r"<(?:input|select|textarea)\b[^>]*>", body):
                if 'type="hidden"' in tag:
                    continue
                (id_,) = re.findall(r'\bid="([^"]+)"', tag)
                assert id_ in labelled, tag


async def test_the_same_words_with_other_line_breaks_are_unchanged_when_posted_back(served):  # noqa: F811,E501
    """A browser posts a textarea's line breaks as CRLF; what a JMAP client sent with CRLF,
    or an older version stored raw (CRLF, blank lines around), must not count as new words
    when the page is posted back untouched: a new handle or item key would answer every
    sender already answered once more."""
    import sqlite3

    from autoresponder.http import vacation

    setup_ana(served)
    with served.store() as s:
        p = vacation.plan(s.find_account(ANA), {
            "externalTextBody": "Outside\r\nthanks\r\n",
            "windows": [{"spec": "Sat-Sun", "textBody": "Weekend\r\nback Monday"}]},
            True, served.config, {"default"})
        a = s.save_vacation(ANA, p.changes, p.aliases, p.enabled, time.time(), items=p.items)
    assert (a.external_message, a.items[0].message) == ("Outside\nthanks",
                                                        "Weekend\nback Monday")
    db = sqlite3.connect(served.config.database)  # as stored before one rule held for all
    db.execute("UPDATE accounts SET message = ?, external_message = ? WHERE address = ?",
               ("\r\nBack soon\r\n", "Outside\r\nthanks\n", ANA))
    db.execute("UPDATE schedule_items SET message = ? WHERE account = ?",
               ("Weekend\r\nback Monday\n", ANA))
    db.commit()
    db.close()
    with served.store() as s:
        handle = s.find_account(ANA).handle
    items = items_of(served, ANA)
    async with await signed_in(served, ANA) as ana:
        page = await ana.get("away")
        form = form_fields(page.body, "away-form")
        assert "back Monday" in form["window-0-message"]
        # as a browser: the page's text with its line breaks read as LF, posted as CRLF
        form = {k: v.replace("\r\n", "\n").replace("\n", "\r\n")
                if k.endswith("message") else v for k, v in form.items()}
        r = await ana.post("away", form)
        assert r.status == 303, r.body[:2000]
    with served.store() as s:
        after = s.find_account(ANA)
    assert items_of(served, ANA) == items
    assert after.handle == handle
    assert (after.message, after.external_message) == ("Back soon", "Outside\nthanks")
