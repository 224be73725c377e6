"""Property-based tests (hypothesis): any bytes give a decision and never a traceback, and the
small pure parts (addresses, durations, header unfolding) keep their promises."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from email.utils import formataddr
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from autoresponder import accounts, addresses, config as config_mod
from autoresponder.deliver import Database, evaluate
from autoresponder.durations import DurationError, format_duration, parse_duration
from autoresponder.envelope import Envelope
from autoresponder.message import BODY_PREFIX, HEADER_LIMIT, from_bytes
from autoresponder.rules import all_rules

ROOT = Path(__file__).resolve().parents[1]
ANA = "ana@example.com"
ALIAS = "ana.silva@example.com"
NOW = 1_795_000_000.0  # 2026-11-18
RULE_NAMES = {r.name for r in all_rules()} | {"reply"}

FUZZ = settings(max_examples=120, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                       HealthCheck.function_scoped_fixture])


# --- a world shared by the fuzzing tests (read-only use) --------------------------------------

@pytest.fixture(scope="module")
def world(tmp_path_factory):
    d = tmp_path_factory.mktemp("props")
    saved = os.environ.get("AUTORESPONDER_CACHE_DIR")
    os.environ["AUTORESPONDER_CACHE_DIR"] = str(d / "cache")
    try:
        path = d / "autoresponder.toml"
        path.write_text(f'database = "{d / "db.sqlite3"}"\n[log]\ntarget = "none"\n'
                        f'[transport]\nkind = "file"\npath = "{d / "outbox"}"\n')
        cfg = config_mod.load(str(path))
        asyncio.run(accounts.enable(cfg, ANA, {"message": "Away."}, [ALIAS]))
    finally:
        if saved is None:
            os.environ.pop("AUTORESPONDER_CACHE_DIR", None)
        else:
            os.environ["AUTORESPONDER_CACHE_DIR"] = saved
    return {"config": cfg, "path": path, "dir": d}


def decide(world, raw: bytes, sender: str | None = "bob@example.org", recipient: str = ANA):
    cfg = world["config"]
    msg = from_bytes(raw)
    env = Envelope(sender, recipient, "", cfg.autoreply_domain, cfg.recipient_delimiter)
    db = Database(cfg, readonly=True)
    try:
        decision, _ = evaluate(cfg, env, msg, NOW, db)
    finally:
        db.close()
    return msg, decision


def check_decision(decision) -> None:
    assert decision.action in ("reply", "skip")
    assert decision.rule in RULE_NAMES
    assert isinstance(decision.reason, str) and decision.reason
    assert (decision.action == "reply") == (decision.rule == "reply")


# --- message strategies -----------------------------------------------------------------------

FIELD_NAMES = ["From", "To", "Cc", "Bcc", "Subject", "Content-Type", "Message-ID", "Precedence",
               "Auto-Submitted", "List-Id", "X-Spam-Score", "X-Spam-Flag", "In-Reply-To",
               "References", "Resent-To", "X-Auto-Response-Suppress", "Return-Path",
               "X-Failed-Recipients", "MIME-Version", "Content-Transfer-Encoding", "Received"]

names = st.one_of(st.sampled_from(FIELD_NAMES),
                  st.text(st.characters(min_codepoint=33, max_codepoint=126,
                                        blacklist_characters=":"), min_size=1, max_size=20))
values = st.one_of(
    st.binary(max_size=200),
    st.text(max_size=200).map(lambda s: s.encode("utf-8", "surrogatepass")),
    st.sampled_from([b"ana@example.com", b"<ana@example.com>", b"\"Ana\" <ana@example.com>",
                     b"multipart/report; report-type=delivery-status; boundary=",
                     b"multipart/mixed; boundary=\"x\"", b"=?utf-8?q?=C3=A9?=", b"=?x?b?!!!?=",
                     b"bulk", b"auto-replied", b"9.9", b"-", b"\x00\x00", b"\xff\xfe\xfd",
                     b"<autoreply.1.2@example.com>", b"undeliverable", b"(", b")))((("]),
)
eols = st.sampled_from([b"\n", b"\r\n", b"\r", b"\n\n"])


@st.composite
def header_lines(draw) -> bytes:
    name = draw(names).encode("ascii")
    value = draw(values)
    sep = draw(st.sampled_from([b": ", b":", b" : ", b":\t", b"\x00: "]))
    fold = draw(st.sampled_from([b"", b"\n ", b"\r\n\t", b"\n"]))
    if fold and len(value) > 2:
        cut = draw(st.integers(1, len(value) - 1))
        value = value[:cut] + fold + value[cut:]
    return name + sep + value + draw(eols)


BASE_HEADERS = [b"From: Bob <bob@example.org>\n", b"To: Ana <ana@example.com>\n",
                b"Subject: Lunch?\n", b"Message-ID: <m1@example.org>\n",
                b"Date: Sat, 28 Nov 2026 10:15:00 +0000\n"]

bodies = st.one_of(
    st.binary(max_size=2000),
    st.sampled_from([
        b"Hi Ana,\nlunch?\n",
        b"--x\nContent-Type: text/plain\n\nHi\n--x\nContent-Type: message/delivery-status\n\n"
        b"Final-Recipient: rfc822; carl@example.net\nAction: failed\n--",
        b"--x\n\n--x--\n--x--\n",
        b"This is the mail system at host mx.example.net.\n\n<carl@example.net>: user unknown\n",
        b"Hi. This is the qmail-send program at x.\n\n<c@x.example>:\nno.\n\n--- Below\n",
        b"\x00" * 100,
    ]),
)


@st.composite
def messages(draw) -> bytes:
    kind = draw(st.sampled_from(["raw", "headers", "personal+noise", "huge-line",
                                 "no-blank-line"]))
    if kind == "raw":
        return draw(st.binary(max_size=3000))
    if kind == "huge-line":
        n = draw(st.sampled_from([1000, 70_000, HEADER_LIMIT - 10, HEADER_LIMIT + 10,
                                  HEADER_LIMIT * 2]))
        line = draw(st.sampled_from([b"Subject: ", b"X-Junk: ", b"", b" "])) + \
            draw(st.sampled_from([b"a", b"\x00", b"\xff", b"a@b "])) * n
        return b"".join(BASE_HEADERS) + line + b"\n\nbody\n"
    lines = draw(st.lists(header_lines(), max_size=12))
    if kind == "personal+noise":
        base = list(BASE_HEADERS)
        for line in lines:
            base.insert(draw(st.integers(0, len(base))), line)
        lines = base
    head = b"".join(lines)
    if kind == "no-blank-line":
        return head
    if draw(st.booleans()):
        head = b"From bob@example.org Sat Nov 28 10:15:00 2026\n" + head
    return head + draw(eols) + draw(bodies)


senders = st.one_of(st.sampled_from(["bob@example.org", "", "<>", None, ANA, "MAILER-DAEMON",
                                     "x@y", "\x00@\x00", "bob@example.org\n"]),
                    st.text(max_size=40))


# --- any input yields a decision ----------------------------------------------------------------

@FUZZ
@given(raw=messages(), sender=senders)
@example(raw=b"", sender="bob@example.org")
@example(raw=b"\n\n\n", sender="bob@example.org")
@example(raw=b"\x00" * 5000, sender="bob@example.org")
@example(raw=b":\n:\n \n\t\n", sender="bob@example.org")
@example(raw=b"Content-Type: multipart/report; boundary=\"\"\nTo: ana@example.com\n\n--\n--",
         sender="bob@example.org")
@example(raw=b"To: ana@example.com\nSubject: undeliverable\nContent-Type: multipart/mixed; "
             b"boundary=b\n\n--b\nContent-Type: message/rfc822\n\n--b--\n",
         sender="bob@example.org")
def test_any_bytes_give_a_decision(world, raw, sender):
    msg, decision = decide(world, raw, sender)
    check_decision(decision)
    assert msg.size == len(raw)
    assert len(msg.body_prefix) <= BODY_PREFIX
    # the same input gives the same decision
    _, again = decide(world, raw, sender)
    assert again == decision


@FUZZ
@given(raw=messages())
def test_a_bulk_marker_on_top_always_skips(world, raw):
    assume(raw[:1] not in (b" ", b"\t"))  # a leading continuation would fold into our field
    for marker, rule in ((b"Precedence: bulk\n", "precedence"),
                         (b"Auto-Submitted: auto-generated\n", "auto-submitted")):
        _, decision = decide(world, marker + raw)
        assert decision.action == "skip"
        # an earlier rule may decide first, never a later one
        order = [r.name for r in all_rules()]
        assert order.index(decision.rule) <= order.index(rule), decision


printable_values = st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=60)
SAMPLE_FIELDS = ["Precedence: bulk", "Precedence: normal", "List-Id: <x.example.org>",
                 "Auto-Submitted: no", "Auto-Submitted: auto-replied",
                 "X-Auto-Response-Suppress: DR, NDR", "X-Auto-Response-Suppress: OOF",
                 "X-Spam-Score: 7", "X-Spam-Score: 1", "X-Spam-Flag: YES",
                 "Cc: ana@example.com", "Reply-To: bob@work.example.net",
                 "Content-Type: multipart/report; report-type=delivery-status",
                 "X-Autoreply: yes", "In-Reply-To: <autoreply.1.2@example.com>"]


@st.composite
def lf_messages(draw) -> bytes:
    """Well-formed LF-only messages with a mix of fields that matter."""
    fields = [line.decode().rstrip("\n") for line in BASE_HEADERS]
    to = draw(st.sampled_from(["To: Ana <ana@example.com>", "To: team@example.org",
                               "To: ana+x@example.com", f"To: {ALIAS}"]))
    fields[1] = to
    for f in draw(st.lists(st.sampled_from(SAMPLE_FIELDS), max_size=4)):
        fields.insert(draw(st.integers(0, len(fields))), f)
    for _ in range(draw(st.integers(0, 2))):
        fields.append("X-" + draw(st.sampled_from(["Note", "Tag", "Mailer"])) + ": " +
                      draw(printable_values))
    body = draw(st.sampled_from(["Hi Ana,\nlunch?\n", "undeliverable? no, just lunch.\n",
                                 "unsubscribe me from your heart\n"]))
    return ("\n".join(fields) + "\n\n" + body).encode()


def swap_name_case(raw: bytes, how) -> bytes:
    head, sep, body = raw.partition(b"\n\n")
    out = []
    for line in head.split(b"\n"):
        name, colon, value = line.partition(b":")
        out.append(how(name) + colon + value if colon and line[:1] not in b" \t" else line)
    return b"\n".join(out) + sep + body


@FUZZ
@given(raw=lf_messages())
def test_decision_ignores_header_name_case_and_line_endings(world, raw):
    _, d = decide(world, raw)
    for variant in (swap_name_case(raw, bytes.upper), swap_name_case(raw, bytes.lower),
                    raw.replace(b"\n", b"\r\n")):
        _, v = decide(world, variant)
        assert (v.action, v.rule) == (d.action, d.rule), (variant, v, d)


@FUZZ
@given(noise=st.lists(header_lines(), max_size=6))
def test_a_null_sender_is_never_answered(world, noise):
    raw = b"".join(BASE_HEADERS) + b"".join(noise) + b"\nHi\n"
    for sender in ("", "<>", None):
        _, decision = decide(world, raw, sender)
        assert (decision.action, decision.rule) == ("skip", "null-sender")


@settings(max_examples=6, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                 HealthCheck.function_scoped_fixture])
@given(raw=messages(), sender=st.sampled_from(["bob@example.org", "", "<>", "ü@ü", "x y"]))
@example(raw=b"\x00\xff" * 3000, sender="bob@example.org")
@example(raw=b"To: ana@example.com\nMessage-ID: \x00\xc2\x85\xe2\x80\xa8\x00\n\nHi\n",
         sender="bob@example.org")
def test_explain_json_prints_one_object_for_any_input(world, raw, sender):
    env = dict(os.environ)
    env["AUTORESPONDER_CACHE_DIR"] = str(world["dir"] / "cache")
    for k in ("SENDER", "RECIPIENT", "ORIG_RECIPIENT", "AUTORESPONDER_CONFIG"):
        env.pop(k, None)
    r = subprocess.run([sys.executable, "-m", "autoresponder", "--config", str(world["path"]),
                        "explain", "--json", "--sender", sender, "--recipient", ANA],
                       input=raw, capture_output=True, env=env, timeout=60, cwd=str(ROOT))
    assert r.returncode == 0, r.stderr
    assert b"Traceback" not in r.stderr
    # one line: split on LF only (str.splitlines would also split at U+0085 or U+2028 that
    # json.dumps(ensure_ascii=False) may legitimately leave inside a string)
    assert r.stdout.endswith(b"\n") and r.stdout.count(b"\n") == 1, r.stdout
    out = json.loads(r.stdout)
    assert isinstance(out, dict)
    assert out["decision"] in ("reply", "skip")
    assert out["rule"] in RULE_NAMES | {"already-replied", "rate-limit"}, out
    assert out["message_size"] == len(raw)


@pytest.mark.parametrize("extra", [1, 100, 60_000])
def test_the_header_block_kept_is_at_most_the_limit(world, extra):
    """README, "Bad input": at most 256 KiB of header block is kept, whatever the input."""
    line = b"X-Junk: " + b"a" * 998 + b"\n"
    head = b"".join(BASE_HEADERS)
    while len(head) < HEADER_LIMIT + extra:
        head += line
    raw = head + b"\nbody\n"
    msg, decision = decide(world, raw)
    check_decision(decision)
    assert msg.size == len(raw)
    kept = len(msg.header_block)
    assert kept <= HEADER_LIMIT, kept


# An empty From: field before the real one makes one of flufl.bounce's detectors (Yale) raise
# IndexError; flufl.bounce catches it and logs it with log.exception, which Python's logging
# prints to stderr (a traceback) unless someone configured the "flufl.bounce" logger.
DETECTOR_CRASH = (b"From: \nFrom: Bob <bob@example.org>\nTo: Ana <ana@example.com>\n"
                  b"Subject: Lunch?\nMessage-ID: <m1@example.org>\n\nFinal-Recipient\n")


def test_a_crashing_bounce_detector_leaves_no_traceback_on_stderr(world):
    env = dict(os.environ)
    env["AUTORESPONDER_CACHE_DIR"] = str(world["dir"] / "cache")
    for k in ("SENDER", "RECIPIENT", "ORIG_RECIPIENT", "AUTORESPONDER_CONFIG"):
        env.pop(k, None)
    base = [sys.executable, "-m", "autoresponder", "--config", str(world["path"])]
    r = subprocess.run(base + ["explain", "--json", "--sender", "bob@example.org",
                               "--recipient", ANA], input=DETECTOR_CRASH, capture_output=True,
                       env=env, timeout=60, cwd=str(ROOT))
    assert r.returncode == 0
    assert json.loads(r.stdout)["decision"] in ("reply", "skip")
    assert b"Traceback" not in r.stderr, r.stderr.decode()[:300]
    r = subprocess.run(base + ["deliver", "--sender", "carl@example.org", "--recipient", ANA],
                       input=DETECTOR_CRASH.replace(b"bob@", b"carl@"), capture_output=True,
                       env=env, timeout=60, cwd=str(ROOT))
    assert r.returncode == 0
    assert b"Traceback" not in r.stderr, r.stderr.decode()[:300]


# --- addresses ----------------------------------------------------------------------------------

ATEXT = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!#$%&'*+-/=?^_`{|}~"
atoms = st.text(st.sampled_from(ATEXT), min_size=1, max_size=10)
locals_ = st.lists(atoms, min_size=1, max_size=3).map(".".join)
labels = st.text(st.sampled_from("abcdefghijklmnopqrstuvwxyz0123456789-"), min_size=1,
                 max_size=12)
domains = st.lists(labels, min_size=1, max_size=4).map(".".join)
plain_addresses = st.builds(lambda lp, d: f"{lp}@{d}", locals_, domains)


@st.composite
def address_spellings(draw) -> str:
    """One address, written as mail software writes it."""
    lp, d = draw(locals_), draw(domains)
    if draw(st.booleans()):
        lp = "".join(c.upper() if draw(st.booleans()) else c for c in lp)
        d = d.upper() if draw(st.booleans()) else d
    if draw(st.booleans()) and not lp.startswith(".") and ".." not in lp:
        lp = f'"{lp}"'
    if draw(st.booleans()):
        d += "."
    a = f"{lp}@{d}"
    if draw(st.booleans()):
        a = f"<{a}>"
    if draw(st.booleans()):
        a = f"<@relay.example.net:{a.strip('<>')}>"
    return draw(st.sampled_from(["", " ", "\t"])) + a + draw(st.sampled_from(["", " "]))


@settings(max_examples=300)
@given(address_spellings())
def test_normalize_is_idempotent_and_folds_case(a):
    n = addresses.normalize(a)
    assert n and n == n.lower() and n.count("@") >= 1
    assert addresses.normalize(n) == n
    assert addresses.normalize(a.upper()) == addresses.normalize(a.lower()) == n


@settings(max_examples=300)
@given(lp=locals_, d=domains)
def test_normalize_of_plain_addresses(lp, d):
    n = addresses.normalize(f"{lp}@{d}")
    assert n == f"{lp.lower()}@{d.lower()}"
    assert addresses.normalize(f"<{lp.upper()}@{d.upper()}>") == n


@settings(max_examples=300)
@given(st.text(max_size=40))
@example("a@.")
@example("<<a@b>>")
def test_normalize_of_anything_is_empty_or_a_stable_address(text):
    n = addresses.normalize(text)
    if n:
        local, _, domain = n.rpartition("@")
        assert local and domain, (text, n)
        assert addresses.normalize(n) == n, (text, n)


PEOPLE_WORDS = ["bouncer", "bouncy", "norepublic", "noreplyer", "replyall", "ownership",
                "owners", "requests", "requestor", "mailers", "postmasters", "mailmanx",
                "listservice", "majordomos", "daemonic", "ana", "bob", "smith", "silva",
                "info", "sales", "team", "john", "mary", "o", "x1", "nor", "eply"]
ROBOT_TOKENS = ["noreply", "donotreply", "bounces", "bounce", "NoReply", "BOUNCES"]


@settings(max_examples=300)
@given(words=st.lists(st.sampled_from(PEOPLE_WORDS), min_size=1, max_size=4),
       seps=st.lists(st.sampled_from(".-_"), min_size=3, max_size=3), d=domains)
@example(words=["bouncer", "smith"], seps=[".", ".", "."], d="example.org")
@example(words=["norepublic"], seps=[".", ".", "."], d="example.org")
def test_people_are_never_robots(words, seps, d):
    local = words[0]
    for i, w in enumerate(words[1:]):
        local += seps[i % len(seps)] + w
    assert addresses.system_address_reason(f"{local}@{d}") is None
    assert addresses.system_address_reason(f"{local.upper()}@{d}") is None


@settings(max_examples=300)
@given(before=st.lists(st.sampled_from(PEOPLE_WORDS), max_size=2),
       after=st.lists(st.sampled_from(PEOPLE_WORDS), max_size=2),
       robot=st.sampled_from(ROBOT_TOKENS), sep=st.sampled_from(".-_"), d=domains)
def test_robot_tokens_are_found_anywhere(before, after, robot, sep, d):
    local = sep.join([*before, robot, *after])
    assert addresses.system_address_reason(f"{local}@{d}")


@settings(max_examples=100)
@given(name=st.sampled_from(["MAILER-DAEMON", "mailer-daemon", "Postmaster", "LISTSERV",
                             "majordomo", "owner-devel", "devel-owner", "devel-request",
                             "no-reply", "do-not-reply", "no_reply", "DO_NOT_REPLY"]),
       detail=st.sampled_from(["", "+x", "+ana=example.com"]), d=domains)
def test_system_names_in_any_case_and_with_detail(name, detail, d):
    assert addresses.system_address_reason(f"{name}{detail}@{d}")
    assert addresses.system_address_reason(f"{name.swapcase()}{detail}@{d}")


display_names = st.one_of(
    st.just(""),
    st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=25),
    st.text(max_size=15),
    st.sampled_from(["Silva, Ana", 'Ana "the boss" Silva', "(not a comment)", "a@b.example",
                     "Ana <x>", "Günther Öz", "=?utf-8?q?x?="]),
)


@settings(max_examples=300)
@given(entries=st.lists(st.tuples(display_names, plain_addresses), min_size=1, max_size=6),
       style=st.sampled_from(["formataddr", "bare", "comment", "group"]))
def test_find_addresses_finds_every_embedded_address(entries, style):
    parts = []
    for name, addr in entries:
        if style == "bare" or not name:
            parts.append(addr)
        elif style == "comment":
            safe = "".join(c for c in name if c not in "()\\")
            parts.append(f"{addr} ({safe})")
        else:
            parts.append(formataddr((name, addr)))
    value = ", ".join(parts)
    if style == "group":
        value = f"friends: {value};"
    found = addresses.find_addresses(value)
    for _, addr in entries:
        assert addresses.normalize(addr) in found, (value, found)


@settings(max_examples=200)
@given(lp=locals_, d=domains, detail=st.text(st.sampled_from(ATEXT.replace("+", "")),
                                             max_size=8))
def test_strip_detail(lp, d, detail):
    base = f"{lp.split('+')[0]}@{d}"
    assume(not base.startswith("@"))
    assert addresses.strip_detail(f"{lp.split('+')[0]}+{detail}@{d}") == base
    assert addresses.strip_detail(base) == base


# --- durations ----------------------------------------------------------------------------------

@settings(max_examples=500)
@given(st.integers(min_value=0, max_value=10**10))
def test_duration_format_parse_round_trip(n):
    s = format_duration(n)
    assert parse_duration(s) == n
    assert parse_duration(str(n)) == n
    assert parse_duration(n) == n
    assert parse_duration(s.upper()) == n


@settings(max_examples=300)
@given(st.lists(st.tuples(st.integers(0, 1000), st.sampled_from("smhdw")), min_size=1,
                max_size=5))
def test_duration_sums_its_parts(parts):
    text = " ".join(f"{n}{u}" for n, u in parts)
    size = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
    assert parse_duration(text) == sum(n * size[u] for n, u in parts)


@settings(max_examples=500)
@given(st.text(max_size=12))
@example("²")
@example("1²h")
@example("①")
def test_duration_parse_only_ever_raises_duration_error(text):
    try:
        n = parse_duration(text)
    except DurationError as e:
        assert str(e)
        return
    assert isinstance(n, int) and n >= 0


# --- header unfolding ---------------------------------------------------------------------------

field_names = st.text(st.characters(min_codepoint=33, max_codepoint=126,
                                    blacklist_characters=":"), min_size=1, max_size=20)
word = st.text(st.characters(blacklist_categories=("Cc", "Cs", "Zs", "Zl", "Zp")),
               min_size=1, max_size=12)
folds = st.sampled_from([" ", "\n ", "\n\t", "\n    ", " \n ", "\n \t "])  # "\n": the eol


@settings(max_examples=300)
@given(fields=st.lists(st.tuples(field_names, st.lists(word, min_size=1, max_size=6),
                                 st.lists(folds, min_size=6, max_size=6)),
                       min_size=1, max_size=6),
       eol=st.sampled_from(["\n", "\r\n"]))
def test_header_unfolding(fields, eol):
    assume(not fields[0][0].startswith("From "))
    text = ""
    for name, words, seps in fields:
        value = words[0]
        for w, sep in zip(words[1:], seps):
            value += sep.replace("\n", eol) + w
        text += f"{name}: {value}{eol}"
    msg = from_bytes((text + eol + "Body: not a field" + eol).encode("utf-8"))
    assert msg.defects == []
    got = [(n, v) for n, v in msg.fields]
    assert got == [(name, " ".join(words)) for name, words, _ in fields]
    for name, _words, _ in fields:
        expected = [" ".join(w) for n, w, _ in fields if n.lower() == name.lower()]
        assert msg.get_all(name.upper()) == expected
        assert msg.get(name.lower()) == expected[0]
    assert msg.get("body") is None or any(n.lower() == "body" for n, _, _ in fields)


@settings(max_examples=200)
@given(lp=locals_, d=domains, hashes=st.integers(0, 2))
def test_postfix_copy_address_round_trip(lp, d, hashes):
    local = lp + "#x" * hashes  # a '#' in the local part itself survives: the last one splits
    copy = addresses.encode_copy_address(f"{local}@{d}", "autoreply.example.com")
    assert copy.endswith("@autoreply.example.com")
    assert addresses.decode_copy_address(copy, "autoreply.example.com") == f"{local}@{d}"
    assert addresses.decode_copy_address(copy.upper(), "autoreply.example.com") == \
        f"{local}@{d}".upper()
    # other domains, or no autoreply domain configured: unchanged
    assert addresses.decode_copy_address(copy, "other.example.com") == copy
    assert addresses.decode_copy_address(copy, "") == copy


@pytest.mark.parametrize("sender", [b"\xff\xfe@example.org", b"bob\xe9@example.org",
                                    b"bob@exa\xffmple.org"])
def test_an_envelope_sender_that_is_not_utf8_gets_a_decision(world, sender):
    """Bytes in argv that are not UTF-8 (a broken client's MAIL FROM) must end in a rule's
    decision, not in an internal error (explain: rule "error"; deliver: no decision logged)."""
    env = dict(os.environ)
    env["AUTORESPONDER_CACHE_DIR"] = str(world["dir"] / "cache")
    for k in ("SENDER", "RECIPIENT", "ORIG_RECIPIENT", "AUTORESPONDER_CONFIG"):
        env.pop(k, None)
    base = [sys.executable.encode(), b"-m", b"autoresponder", b"--config",
            str(world["path"]).encode()]
    msg = b"From: Bob <bob@example.org>\nTo: ana@example.com\nSubject: hi\n\nhi\n"
    r = subprocess.run(base + [b"explain", b"--json", b"--sender", sender, b"--recipient",
                               ANA.encode()], input=msg, capture_output=True, env=env,
                       timeout=60, cwd=str(ROOT))
    assert r.returncode == 0, r.stderr
    try:
        text = r.stdout.decode("utf-8")  # JSON text is UTF-8 (RFC 8259 §8.1)
    except UnicodeDecodeError:
        pytest.fail(f"explain --json wrote bytes that are not UTF-8: {r.stdout[:200]!r}")
    out = json.loads(text)
    assert out["rule"] in RULE_NAMES | {"already-replied", "rate-limit"}, out["reason"]
    r = subprocess.run(base + [b"deliver", b"--sender", sender, b"--recipient", ANA.encode()],
                       input=msg, capture_output=True, env=env, timeout=60, cwd=str(ROOT))
    assert r.returncode == 0
    assert b"internal error" not in r.stderr, r.stderr.decode("utf-8", "replace")
