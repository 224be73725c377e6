"""Property test of vacation.plan on a real SQLite file: any patch of the VacationResponse (good,
odd or bad values for every property, issue 13's included) is either refused whole (SetError,
or the store's ValueError) with the database exactly as it was, or saved so that get reads
back what was sent (canonical values exactly; every other value in a form that, sent back
whole, changes nothing)."""

from __future__ import annotations

import shutil
from datetime import datetime

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from autoresponder import config as config_mod
from autoresponder.http import vacation
from autoresponder.render import list_templates
from autoresponder.store.sqlite import SqliteStore
from tests.http.conftest import ANA, BOB, write_config

ALIAS = "ana.silva@example.com"
PAIRS = {k: pair for pair in (("fromDate", "localFromDate"), ("toDate", "localToDate"))
         for k in pair}  # the two views of one setting
NOW = 1_800_000_000.0  # 2027-01-15
ZONE = "Europe/Lisbon"


NOTHING = st.nothing()


class V:
    """The values of one property: canonical ones (read back exactly as sent), odd but
    valid ones (stored in another form), and bad ones (refused)."""

    def __init__(self, canon, odd=NOTHING, bad=NOTHING):
        self.canon, self.odd, self.bad = canon, odd, bad

    def tagged(self, dirty: bool):
        """(value, canonical?) pairs; bad values only in a dirty patch."""
        return st.one_of(self.canon.map(lambda v: (v, True)),
                         self.odd.map(lambda v: (v, False)),
                         (self.bad if dirty else NOTHING).map(lambda v: (v, False)))


# whole minutes, across both daylight-saving changes of the winter 2026/27
minutes = st.datetimes(min_value=datetime(2026, 10, 20), max_value=datetime(2027, 4, 10)) \
    .map(lambda d: d.replace(second=0, microsecond=0))
utc = minutes.map(lambda d: d.strftime("%Y-%m-%dT%H:%M:%SZ"))
local = minutes.map(lambda d: d.strftime("%Y-%m-%dT%H:%M:%S"))
line = st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc", "Zs", "Zl", "Zp")),
               min_size=1, max_size=12)
SPECS = ["Sat-Sun", "Mon-Fri 12:00-13:00", "Fri 14:00 - Mon 08:00", "Wed"]
CONTENT = {
    "subject": V(st.none() | line, st.just("  two   words ") | st.just(""), st.just(3)),
    "textBody": V(st.none() | st.just("Away.\nBack soon."),
                  st.sampled_from(["", "\r\nAway.\r\nBack soon.\r\n", "Away.\rBack.\n\n"]),
                  st.just(["x"])),
    "template": V(st.none() | st.just("default"), NOTHING, st.just("nope")),
    "externalSubject": V(st.none() | line, NOTHING, st.just("x" * 999)),
    # canonical: LF line breaks, no blank line before or after (store.base.body_text)
    "externalTextBody": V(st.none() | st.text(min_size=1, max_size=20)
                          .filter(lambda t: "\0" not in t and "\r" not in t
                                  and t.strip("\n") == t),
                          st.text(min_size=1, max_size=20).filter(lambda t: "\0" not in t)
                          .map(lambda t: "\n" + t.replace("\n", "\r\n") + "\r\n"),
                          st.just("a\0b")),
    "externalTemplate": V(st.none() | st.just("default"), NOTHING, st.just(1)),
}
PROPS = {
    "isEnabled": V(st.booleans(), NOTHING, st.just("yes")),
    "fromDate": V(st.none() | utc, st.just("2027-01-01T00:00:00.5Z"), st.just(7)),
    "toDate": V(st.none() | utc, NOTHING, st.just("2027-02-30T00:00:00Z")),
    "localFromDate": V(st.none() | local, NOTHING, st.just("2027-01-01T10:00:30")),
    "localToDate": V(st.none() | local, NOTHING, st.just("2027-01-01")),
    "timeZone": V(st.sampled_from([None, ZONE, "America/New_York", "Asia/Kolkata"]), NOTHING,
                  st.sampled_from(["Mars/Base", "", 1])),
    "interval": V(st.none() | st.integers(0, 10**6), NOTHING, st.just(-1) | st.just(True)),
    "language": V(st.sampled_from([None, "en", "pt"]), NOTHING, st.just("fr")),
    "fromName": V(st.none() | line),
    "aliases": V(st.sampled_from([[], [ALIAS]]), st.just(["Ana.Silva@Example.com"]),
                 st.sampled_from([[BOB], [ANA], "x"])),  # the store refuses the first two
    "internalDomains": V(st.sampled_from([None, ["example.org"],
                                          [".corp.example", "partner.example"]]),
                         st.sampled_from([[], ["Partner.Example", "*.corp.example"]]),
                         st.sampled_from([["a@b"], "x"])),
    "external": V(st.sampled_from([None, "none"]), st.just("reply"), st.just("no")),
    "replyFrom": V(st.sampled_from([None, "addressed", ALIAS]), st.sampled_from(["account", ANA]),
                   st.sampled_from([BOB, "x y"])),
    "answerGroupMail": V(st.sampled_from([None, True, False]), NOTHING, st.just("no")),
    **{k: v for k, v in CONTENT.items() if k != "template"},
    "template": V(st.just("default"), NOTHING, st.none()),
}


@st.composite
def entries(draw, kind: str, existing: list, dirty: bool):
    """A new list for absences or windows: kept items (as get shows them, in order), then new
    ones, in a dirty patch sometimes a bad one; (list, canonical?)."""
    kept = [e for e in existing if draw(st.booleans())]
    out, canon = list(kept), True
    for _ in range(draw(st.integers(0, 2))):
        e = {}
        for k, v in CONTENT.items():
            if draw(st.booleans()):
                value, c = draw(v.tagged(dirty))
                e[k] = value
                canon = canon and c
        if kind == "absence":
            a, b = sorted([draw(local), draw(local)])
            if a != b or dirty:
                e["localFromDate"], e["localToDate"] = draw(st.sampled_from(
                    [(a, b), (None, b), (a, None), (None, None)] + ([(b, a)] if dirty else [])))
        else:
            e["spec"] = draw(st.sampled_from(SPECS + ["sáb-dom"] +
                                             (["Fri 14:00", 5] if dirty else [])))
            canon = canon and e["spec"] in SPECS
        out.append(e)
    if dirty and draw(st.integers(0, 4)) == 0:
        out.append(draw(st.sampled_from([{"id": "987654"}, {"colour": 1}, "x", None])))
        canon = False
    if dirty and draw(st.integers(0, 9)) == 0:
        out = [{}] * 51
    return out, canon


@st.composite
def patches(draw, existing: dict):
    """A patch, clean (every value valid) or dirty (bad values too): {prop: (value, canon)}."""
    dirty = draw(st.booleans())
    parts = {k: v.tagged(dirty) for k, v in PROPS.items()}
    parts["absences"] = entries("absence", existing["absences"], dirty)
    parts["windows"] = entries("window", existing["windows"], dirty)
    names = draw(st.lists(st.sampled_from(sorted(parts)), max_size=6, unique=True))
    return {k: draw(parts[k]) for k in names}


def setup_base(tmp_path):
    """A config (zone Lisbon) and a pristine database: ana (an alias, an absence, a window,
    wall-clock dates) and bob."""
    path = write_config(tmp_path, top=f'timezone = "{ZONE}"\n')
    config = config_mod.load(str(path))
    base = str(tmp_path / "base.sqlite3")
    with SqliteStore(base, create=True) as s:
        s.enable(ANA, {"subject": "Away", "start_at": "2027-01-10T09:00:00Z",
                       "start_local": "2027-01-10T09:00", "timezone": ZONE}, [ALIAS], NOW)
        s.enable(BOB, {}, None, NOW)
        s.add_item(ANA, {"kind": "absence", "key": "a1", "start_local": "2027-03-01T00:00",
                         "end_local": "2027-03-08T00:00", "subject": "March"}, NOW)
        s.add_item(ANA, {"kind": "window", "key": "w1", "spec": "Sat-Sun"}, NOW)
        acct = s.find_account(ANA)
    return config, base, vacation.to_jmap(acct, True, ZONE)


def test_plan_refuses_whole_or_reads_back(tmp_path):
    config, base, start = setup_base(tmp_path)
    templates = {t[0] for t in list_templates(config)}
    work = str(tmp_path / "work.sqlite3")

    @settings(max_examples=200, deadline=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(patches(start))
    def check(drawn):
        shutil.copyfile(base, work)
        patch = {k: v for k, (v, _c) in drawn.items()}
        canonical = {k for k, (_v, c) in drawn.items() if c}
        with SqliteStore(work) as store:
            acct = store.find_account(ANA)
            cur = vacation.to_jmap(acct, True, ZONE)
            before = store.export()
            try:
                p = vacation.plan(acct, patch, True, config, templates, ANA)
                saved = store.save_vacation(ANA, p.changes, p.aliases, p.enabled, NOW + 60,
                                            None, p.items)
            except (vacation.SetError, ValueError) as e:
                event(f"refused: {type(e).__name__}")
                assert store.export() == before
                return
            event("saved" + (" with items" if p.items is not None else ""))
            after = vacation.to_jmap(saved, True, ZONE)
            assert after == vacation.to_jmap(store.find_account(ANA), True, ZONE)
            zone_moved = "timeZone" in patch and (patch["timeZone"] or ZONE) != \
                (cur["timeZone"] or ZONE)
            for k in canonical:
                if k in PAIRS:
                    utc_k, local_k = PAIRS[k]
                    utc_changed = utc_k in patch and patch[utc_k] != cur[utc_k]
                    local_changed = local_k in patch and patch[local_k] != cur[local_k]
                    if k == utc_k and not utc_changed and (local_changed or zone_moved):
                        continue  # an unchanged instant follows the wall-clock time
                    if k == local_k and not local_changed and utc_changed:
                        continue  # an unchanged wall-clock time follows the new instant
                if k in ("absences", "windows"):
                    sent = patch[k]
                    got = after[k]
                    assert len(got) == len(sent)
                    for s, g in zip(sent, got):
                        if "id" in s:  # kept as it was
                            assert s == g
                        else:  # new: a new id, what was left out is null
                            assert g["id"] not in {e["id"] for e in cur[k]}
                            assert all(g[p] == s.get(p) for p in g if p != "id"), (s, g)
                    continue
                assert after[k] == patch[k], (k, patch[k], after[k])
            # the object as read, sent back whole, changes nothing
            whole = {k: v for k, v in after.items() if k != "id"}
            p2 = vacation.plan(saved, whole, True, config, templates, ANA)
            again = store.save_vacation(ANA, p2.changes, p2.aliases, p2.enabled, NOW + 120,
                                        None, p2.items)
            assert vacation.to_jmap(again, True, ZONE) == after
            assert [(i.id, i.key) for i in again.items] == [(i.id, i.key) for i in saved.items]

    check()
