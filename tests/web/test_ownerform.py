"""The owner's form read back: the JMAP patch it saves (issue 13's properties), the field
errors it names, and a page posted back untouched changing nothing (items keep their ids)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings, strategies as st
from multidict import MultiDict

from autoresponder import config as config_mod
from autoresponder.store.base import Account, ScheduleItem
from autoresponder.web.ownerform import form_from_account, read_form, show_spec

NAMES = ["default", "short"]


@pytest.fixture
def config(tmp_path):
    p = tmp_path / "ar.toml"
    p.write_text(f'database = "{tmp_path}/db.sqlite3"\ntimezone = "Europe/Lisbon"\n')
    return config_mod.load(str(p))


def item(id_, kind, **kw) -> ScheduleItem:
    fields = {"id": id_, "kind": kind, "key": f"k{id_}", "start_local": None, "end_local": None,
              "spec": None, "subject": None, "message": None, "template": None,
              "external_subject": None, "external_message": None, "external_template": None,
              "created_at": "2026-11-30T10:00:00Z"}
    fields.update(kw)
    return ScheduleItem(**fields)


def account(**kw) -> Account:
    fields = dict(address="ana@example.com", enabled=1, start_at=None, end_at=None,
                  subject=None, message="Back soon", template="default", language=None,
                  interval_seconds=None, from_name=None, handle="h1", created_at=None,
                  updated_at=None, aliases=["ana.silva@example.com"])
    fields.update(kw)
    return Account(**fields)


def post_of(form: dict) -> MultiDict:
    """What a browser posts for the form as shown (checkboxes only when ticked)."""
    out = MultiDict()
    for k, v in form.items():
        if k in ("absences", "windows"):
            for row in v:
                for rk, rv in row.items():
                    if rk == "n":
                        continue
                    if rk == "remove":
                        if rv:
                            out.add(f"{k[:-1]}-{row['n']}-remove", "on")
                    else:
                        out.add(f"{k[:-1]}-{row['n']}-{rk}", rv)
        elif isinstance(v, bool):
            if v:
                out.add(k, "on")
        else:
            out.add(k, v)
    return out


def test_a_full_form_becomes_one_patch_of_the_apis_properties(config):
    acct = account()
    post = MultiDict({
        "enabled": "on", "timezone": "America/Sao_Paulo", "start_date": "2027-03-26",
        "start_time": "18:00", "end_date": "2027-04-02", "end_time": "", "subject": " Away ",
        "message": "Call Rita.\r\nThanks", "internal_domains": "Example.org, .corp.example.com",
        "external": "none", "external_subject": "Not here", "external_message": "",
        "reply_from": "ana.silva@example.com", "group_mail": "on",
        "absence-0-start_date": "2027-06-01", "absence-0-end_date": "2027-06-30",
        "absence-0-subject": "Summer", "window-0-spec": "sex 14h - seg 8h",
        "window-1-spec": "", "window-1-subject": "",  # the blank row: no window
    })
    rd = read_form(post, acct, config, NAMES)
    assert rd.errors == {}
    p = rd.patch
    assert p["timeZone"] == "America/Sao_Paulo"
    assert p["localFromDate"] == "2027-03-26T18:00:00"
    assert p["localToDate"] == "2027-04-03T00:00:00"  # a date alone: through that day
    assert "fromDate" not in p and "toDate" not in p  # the wall-clock pair only
    assert (p["subject"], p["textBody"]) == ("Away", "Call Rita.\nThanks")
    assert p["internalDomains"] == [".corp.example.com", "example.org"]
    assert (p["external"], p["externalSubject"], p["externalTextBody"]) == \
        ("none", "Not here", None)
    assert p["replyFrom"] == "ana.silva@example.com"
    assert p["answerGroupMail"] is True  # the config's default is false
    assert p["absences"] == [{
        "localFromDate": "2027-06-01T00:00:00", "localToDate": "2027-07-01T00:00:00",
        "subject": "Summer", "textBody": None, "template": None, "externalSubject": None,
        "externalTextBody": None, "externalTemplate": None}]
    assert [w["spec"] for w in p["windows"]] == ["Fri 14:00 - Mon 08:00"]
    # the preview's draft sees the same: zone, wall-clock dates, items
    assert rd.values["timezone"] == "America/Sao_Paulo" and rd.zone_name == "America/Sao_Paulo"
    assert rd.values["start_local"] == "2027-03-26T18:00"
    assert [i["kind"] for i in rd.items] == ["absence", "window"]
    assert rd.where == {"absence-0": 0, "window-0": 1}


def test_the_page_posted_back_untouched_keeps_every_item_and_setting(config):
    acct = account(timezone="Europe/Berlin", start_local="2027-03-27T18:00",
                   start_at="2027-03-27T17:00:00Z", internal_domains="example.org",
                   external="none", reply_from="addressed", answer_group_mail=False,
                   items=[item(7, "absence", start_local="2027-06-01T09:00",
                               end_local="2027-06-03T00:00", subject="  Two   spaces",
                               message="Line one\nline two\n"),
                          item(9, "window", spec="Mon-Fri 12:00-13:00",
                               external_subject="Lunch")])
    form = form_from_account(acct, config)
    assert form["absences"][0]["end_date"] == "2027-06-02" and form["windows"][0]["id"] == "9"
    rd = read_form(post_of(form), acct, config, NAMES)
    assert rd.errors == {}
    p = rd.patch
    assert (p["timeZone"], p["localFromDate"], p["external"], p["replyFrom"]) == \
        ("Europe/Berlin", "2027-03-27T18:00:00", "none", "addressed")
    assert p["answerGroupMail"] is False and p["internalDomains"] == ["example.org"]
    # the stored items, exactly as stored, under their ids: the API keeps them (and their keys)
    assert p["absences"] == [{
        "id": "7", "localFromDate": "2027-06-01T09:00:00", "localToDate": "2027-06-03T00:00:00",
        "subject": "  Two   spaces", "textBody": "Line one\nline two\n", "template": None,
        "externalSubject": None, "externalTextBody": None, "externalTemplate": None}]
    assert p["windows"][0]["id"] == "9" and p["windows"][0]["externalSubject"] == "Lunch"
    assert [i["key"] for i in rd.items] == ["k7", "k9"]


def test_a_removed_row_leaves_the_list_and_an_edited_one_names_the_item_it_replaces(config):
    """The edited row is sent with its id and new text; the API then replaces that item
    (new id and key: the changed reply goes out anew), as README's API section says."""
    acct = account(items=[item(7, "absence", start_local="2027-06-01T00:00"),
                          item(9, "window", spec="Sat-Sun")])
    form = form_from_account(acct, config)
    form["absences"][0]["remove"] = True
    form["windows"][0]["spec"] = "Sat-Sun until 2027-12-31"
    rd = read_form(post_of(form), acct, config, NAMES)
    assert rd.errors == {} and rd.patch["absences"] == []
    assert rd.patch["windows"][0]["id"] == "9"
    assert rd.patch["windows"][0]["spec"] == "Sat-Sun until 2027-12-31"


def test_group_mail_left_at_the_servers_default_stays_the_default(config):
    acct = account()  # answer_group_mail None: the config's (false)
    rd = read_form(post_of(form_from_account(acct, config)), acct, config, NAMES)
    assert "answerGroupMail" not in rd.patch


@pytest.mark.parametrize("fields,errors", [
    ({"timezone": "Mars/Olympus"}, {"timezone": "bad_zone"}),
    ({"timezone": "../../etc/passwd"}, {"timezone": "bad_zone"}),
    ({"window-0-spec": "whenever I like"}, {"window-0-spec": "bad_window:"}),
    ({"window-0-subject": "Lunch"}, {"window-0-spec": "window_needs_text"}),
    ({"absence-0-subject": "x"}, {"absence-0-start": "absence_needs_start"}),
    ({"absence-0-start_date": "2027-06-10", "absence-0-end_date": "2027-06-01"},
     {"absence-0-end": "end_before_start"}),
    ({"absence-0-start_date": "2027-13-01"}, {"absence-0-start": "bad_date"}),
    ({"absence-0-id": "12", "absence-0-start_date": "2027-06-01"},
     {"absence-0-id": "unknown_item"}),  # an item of another account: never taken
    ({"window-0-id": "3", "window-0-spec": "Sat"}, {"window-0-id": "unknown_item"}),
    ({"internal_domains": "example.org, bob@example.net"},
     {"internal_domains": "bad_domain:bob@example.net"}),
    ({"reply_from": "boss@example.com"}, {"reply_from": "bad_reply_from"}),
    ({"absence-0-start_date": "2027-06-01", "absence-0-template": "nope"},
     {"absence-0-template": "bad_template"}),
])
def test_bad_fields_are_named(config, fields, errors):
    acct = account(items=[item(3, "absence", start_local="2027-01-01T00:00")])
    rd = read_form(MultiDict(fields), acct, config, NAMES)
    assert set(rd.errors) == set(errors)
    for k, v in errors.items():
        assert rd.errors[k].startswith(v)


def test_too_many_rows_are_refused(config):
    post = MultiDict({f"window-{n}-spec": "Sat" for n in range(60)})
    rd = read_form(post, account(), config, NAMES)
    assert rd.errors.get("windows") == "too_many_items"


def test_dates_of_absences_get_notes_in_the_typed_zone(config):
    post = MultiDict({"timezone": "Europe/Lisbon", "absence-0-start_date": "2027-03-28",
                      "absence-0-start_time": "01:30"})
    rd = read_form(post, account(), config, NAMES)
    note = rd.notes["absence-0-start"]
    assert note["kind"] == "gap" and note["local"] == "2027-03-28 02:00"


_days = st.sampled_from(["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"])
_times = st.integers(0, 23 * 4).map(lambda q: f"{q // 4:02d}:{q % 4 * 15:02d}")


@settings(max_examples=60, deadline=None)
@given(d1=_days, t1=_times, d2=_days, t2=_times)
def test_a_window_shown_by_the_page_reads_back_as_itself(d1, t1, d2, t2):
    from autoresponder.schedule import ScheduleError, format_window, parse_window

    try:
        canonical = format_window(parse_window(f"{d1} {t1} - {d2} {t2}"))
    except ScheduleError:
        return  # not a window (e.g. an empty span): the page names the error instead
    assert show_spec(canonical) == canonical
    assert show_spec(show_spec(canonical)) == canonical


@pytest.mark.parametrize("lang", ["en", "pt"])
def test_the_window_examples_the_page_gives_are_read_by_the_parser(lang):
    import re

    from autoresponder.schedule import parse_window
    from autoresponder.web.i18n import MESSAGES

    examples = re.findall(r"“([^”]+)”", MESSAGES[lang]["window_hint"])
    assert len(examples) == 4
    for text in examples:
        parse_window(text)
