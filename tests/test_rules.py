"""Every skip rule, through the real pipeline: a message that hits it and near misses that
must still get a reply.

Messages are built as bytes and read by ``autoresponder.message.from_bytes``; the decision
comes from ``autoresponder.deliver.evaluate`` with a real config file and a real SQLite file
whose accounts were set up by ``autoresponder.accounts.enable`` (what ``vacation enable``
runs). A few cases go end to end through ``autoresponder explain --json`` in a subprocess.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import pytest

from autoresponder import accounts, config as config_mod
from autoresponder.deliver import Database, evaluate
from autoresponder.envelope import Envelope
from autoresponder.message import from_bytes
from autoresponder.rules import Context, all_rules
from autoresponder.rules import report as report_rule

ROOT = Path(__file__).resolve().parents[1]
ACCOUNT = "ana@example.com"
ALIAS = "ana.silva@example.com"
SENDER = "bob@example.org"
NOW = datetime(2026, 11, 28, 12, 0, tzinfo=timezone.utc).timestamp()


# --- building messages -------------------------------------------------------------------

def mail(*extra: str, frm: str = f"Bob Example <{SENDER}>",
         to: str | None = "Ana Silva <ana@example.com>", subject: str | None = "Lunch next week?",
         body: str = "Hi Ana,\n\nlunch on Tuesday?\n\nBob\n",
         ctype: str | None = "text/plain; charset=utf-8", message_id: str = "<m1@example.org>",
         eol: str = "\n") -> bytes:
    """A personal message; `extra` are whole header lines ("Name: value") added at the end."""
    lines = []
    if frm is not None:
        lines.append(f"From: {frm}")
    if to is not None:
        lines.append(f"To: {to}")
    if subject is not None:
        lines.append(f"Subject: {subject}")
    lines.append("Date: Sat, 28 Nov 2026 10:15:00 +0000")
    if message_id:
        lines.append(f"Message-ID: {message_id}")
    lines.append("MIME-Version: 1.0")
    if ctype is not None:
        lines.append(f"Content-Type: {ctype}")
    lines.extend(extra)
    text = eol.join(lines) + eol + eol + body.replace("\n", eol)
    return text.encode("utf-8")


# --- the world: a config file, a real SQLite file, accounts set up through the admin code --

class World:
    def __init__(self, tmp_path: Path):
        self.dir = tmp_path
        self.db = tmp_path / "state" / "autoresponder.sqlite3"
        self.path = tmp_path / "autoresponder.toml"
        self.configure()

    def configure(self, rules: str = "", top: str = "") -> None:
        self.path.write_text(
            f'database = "{self.db}"\n{top}\n[log]\ntarget = "none"\n'
            f'[transport]\nkind = "file"\npath = "{self.dir / "outbox"}"\n'
            + (f"[rules]\n{rules}\n" if rules else ""))
        # a new mtime_ns is enough, but make sure the cache cannot serve the old values
        os.utime(self.path, ns=(time.time_ns(), time.time_ns() + 1))
        self.config = config_mod.load(str(self.path))

    def enable(self, address: str = ACCOUNT, aliases: list[str] | None = None, **changes):
        return asyncio.run(accounts.enable(self.config, address, changes, aliases))

    def disable(self, address: str = ACCOUNT) -> bool:
        return asyncio.run(accounts.disable(self.config, address))

    def decide(self, message: bytes, sender: str | None = SENDER, recipient: str = ACCOUNT,
               original: str = "", now: float = NOW, trace: list | None = None):
        env = Envelope(sender, recipient, original, self.config.autoreply_domain,
                       self.config.recipient_delimiter)
        db = Database(self.config, readonly=True)
        try:
            decision, _ctx = evaluate(self.config, env, from_bytes(message), now, db, trace)
        finally:
            db.close()
        return decision

    def explain(self, message: bytes, sender: str = SENDER, recipient: str = ACCOUNT,
                *extra: str) -> dict:
        env = dict(os.environ)
        env["AUTORESPONDER_CACHE_DIR"] = str(self.dir / "cache")
        for k in ("SENDER", "RECIPIENT", "ORIG_RECIPIENT", "AUTORESPONDER_CONFIG"):
            env.pop(k, None)
        r = subprocess.run([sys.executable, "-m", "autoresponder", "--config", str(self.path),
                            "explain", "--json", "--sender", sender, "--recipient", recipient,
                            *extra], input=message, capture_output=True, env=env, timeout=60,
                           cwd=str(ROOT))
        assert r.returncode == 0, r.stderr
        out = r.stdout.decode("utf-8").strip().splitlines()
        assert len(out) == 1, r.stdout
        return json.loads(out[0])


@pytest.fixture
def world(tmp_path, monkeypatch) -> World:
    monkeypatch.setenv("AUTORESPONDER_CACHE_DIR", str(tmp_path / "cache"))
    w = World(tmp_path)
    w.enable(aliases=[ALIAS], message="Back on Monday.")
    return w


def assert_reply(decision) -> None:
    assert decision.action == "reply", decision
    assert decision.rule == "reply"
    assert ACCOUNT in decision.reason


def assert_skip(decision, rule: str, *words: str) -> None:
    assert decision.action == "skip", decision
    assert decision.rule == rule, decision
    assert decision.reason and "\n" not in decision.reason
    for w in words:
        assert w.lower() in decision.reason.lower(), (w, decision)


# --- the baseline ---------------------------------------------------------------------------

def test_a_plain_personal_message_gets_a_reply(world):
    trace: list = []
    assert_reply(world.decide(mail(), trace=trace))
    assert [c["rule"] for c in trace] == [r.name for r in all_rules()]
    assert all(c["result"] == "pass" for c in trace)


def test_crlf_line_endings_read_like_lf(world):
    assert_reply(world.decide(mail(eol="\r\n")))
    assert_skip(world.decide(mail("Precedence: bulk", eol="\r\n")), "precedence", "bulk")


# --- sender rules ---------------------------------------------------------------------------

@pytest.mark.parametrize("sender", ["", "<>", " <> ", None])
def test_null_sender(world, sender):
    assert_skip(world.decide(mail(), sender=sender), "null-sender", "null")


def test_a_sender_that_is_not_an_address_counts_as_null(world):
    assert_skip(world.decide(mail(), sender="bob"), "null-sender", "'bob'", "not a valid")


@pytest.mark.parametrize("sender, kind", [
    ("MAILER-DAEMON@mx.example.net", "mailer daemon"),
    ("Mailer-Daemon@mx.example.net", "mailer daemon"),
    ("postmaster@example.org", "postmaster"),
    ("LISTSERV@lists.example.edu", "listserv"),
    ("majordomo@example.org", "majordomo"),
    ("owner-devel@lists.example.org", "owner"),
    ("devel-owner@lists.example.org", "owner"),
    ("devel-request@lists.example.org", "request"),
    ("devel-bounces@lists.example.org", "bounce"),
    ("devel-bounces+ana=example.com@lists.example.org", "bounce"),
    ("bounce-42-ana=example.com@mail.example.net", "bounce"),
    ("noreply@shop.example", "no-reply"),
    ("no-reply@accounts.example.com", "no-reply"),
    ("No_Reply@example.net", "no-reply"),
    ("do-not-reply@bank.example", "no-reply"),
    ("donotreply@bank.example", "no-reply"),
    ("DoNotReply@bank.example", "no-reply"),
    ("billing.noreply@shop.example", "no-reply"),
])
def test_system_sender_in_the_envelope(world, sender, kind):
    assert_skip(world.decide(mail(), sender=sender), "system-sender", "envelope sender",
                sender.lower(), kind)


@pytest.mark.parametrize("sender", ["donot-reply@bank.example", "do-notreply@bank.example",
                                    "dont-reply@shop.example", "dontreply@shop.example",
                                    "do.not.reply@shop.example", "no.replies@shop.example"])
def test_other_spellings_of_do_not_reply(world, sender):
    """Hyphenation variants of "do not reply" seen in the wild (beyond the README's four)."""
    assert_skip(world.decide(mail(), sender=sender), "system-sender", "no-reply")


@pytest.mark.parametrize("frm", [
    "Shop <noreply@shop.example>",
    "no-reply@accounts.example.com",
    '"Your Bank" <do-not-reply@bank.example>',
    "donotreply@bank.example (Bank)",
    "Mail Delivery System <MAILER-DAEMON@mx.example.net>",
])
def test_system_sender_in_from_header(world, frm):
    # the envelope is a plausible bulk-mailer return path that is not itself a robot name
    assert_skip(world.decide(mail(frm=frm), sender="shop@mailer.example.net"),
                "system-sender", "From:")


def test_from_header_check_can_be_switched_off(world):
    world.configure(rules="check_from_header = false")
    assert_reply(world.decide(mail(frm="Shop <noreply@shop.example>"),
                              sender="shop@mailer.example.net"))
    # the envelope is still checked
    assert_skip(world.decide(mail(), sender="noreply@shop.example"), "system-sender")


@pytest.mark.parametrize("sender", [
    "bouncer.smith@example.org",
    "norepublic@example.org",
    "noreplyguy.fan@example.org",
    "replyall@example.org",
    "owner@example.org",
    "requester-desk@example.org",
    "mailman.fan@example.org",
    "postmasters-guild@example.org",
    "dono.treply@example.org",
])
def test_people_whose_names_contain_robot_words_get_a_reply(world, sender):
    assert_reply(world.decide(mail(frm=f"Someone <{sender}>"), sender=sender))


def test_robot_words_in_a_display_name_are_not_an_address(world):
    frm = '"Postmaster of fun (noreply-ish)" <bob@example.org>'
    assert_reply(world.decide(mail(frm=frm)))


def test_self_envelope_sender_is_the_account(world):
    assert_skip(world.decide(mail(frm="Ana <ana@example.com>"), sender=ACCOUNT), "self",
                ACCOUNT)


@pytest.mark.parametrize("sender", [ALIAS, "Ana@Example.COM", "ana+notes@example.com",
                                    "ANA.SILVA+x@example.com"])
def test_self_envelope_sender_alias_detail_or_case(world, sender):
    assert_skip(world.decide(mail(frm=f"Ana <{sender}>"), sender=sender), "self")


def test_self_from_header_is_an_alias(world):
    assert_skip(world.decide(mail(frm=f"Ana Silva <{ALIAS}>"), sender="ana@relay.example.net"),
                "self", "From:")


@pytest.mark.parametrize("sender", ["anabela@example.com", "ana@example.co",
                                    "ana@mail.example.com", "silva.ana@example.com"])
def test_self_near_misses(world, sender):
    assert_reply(world.decide(mail(frm=f"Someone <{sender}>"), sender=sender))


# --- own replies ----------------------------------------------------------------------------

@pytest.mark.parametrize("extra, message_id, words", [
    (["X-Autoresponder: auto-replied"], "<m1@example.org>", ["X-Autoresponder"]),
    ([], "<autoreply.1795000000.0011223344556677@example.com>", ["Message-ID"]),
    (["In-Reply-To: <autoreply.1795000000.0011223344556677@example.com>"], "<m9@example.org>",
     ["<autoreply.1795000000.0011223344556677@example.com>", "In-Reply-To"]),
    (["References: <a@example.org>\n <autoreply.1795000000.aa@example.com> <b@example.org>"],
     "<m9@example.org>", ["<autoreply.1795000000.aa@example.com>", "References"]),
])
def test_own_reply(world, extra, message_id, words):
    assert_skip(world.decide(mail(*extra, message_id=message_id)), "own-reply", *words)


def test_own_reply_near_misses(world):
    assert_reply(world.decide(mail(message_id="<m.autoreply.1@example.org>")))
    assert_reply(world.decide(mail("In-Reply-To: <notautoreply.1@example.org>",
                                   "References: <x.autoreply.2@example.org>")))
    assert_reply(world.decide(mail("X-Autoresponder-Fan: yes")))


def test_own_reply_thread_check_can_be_switched_off(world):
    world.configure(rules="thread = false")
    assert_reply(world.decide(mail("In-Reply-To: <autoreply.1.aa@example.com>")))
    # our marker is still recognised
    assert_skip(world.decide(mail("X-Autoresponder: auto-replied")), "own-reply")


# --- automatic, bulk and list mail ----------------------------------------------------------

@pytest.mark.parametrize("value", [
    "auto-generated",
    "auto-replied",
    "Auto-Replied",
    "auto-replied (vacation)",
    "auto-notified; owner-email=\"alerts@example.net\"",
    "auto-generated (cron job) ; foo=bar",
    "(comment first) auto-replied",
])
def test_auto_submitted(world, value):
    assert_skip(world.decide(mail(f"Auto-Submitted: {value}")), "auto-submitted",
                "Auto-Submitted")


def test_auto_submitted_any_instance_counts(world):
    assert_skip(world.decide(mail("Auto-Submitted: no", "Auto-Submitted: auto-generated")),
                "auto-submitted", "auto-generated")


@pytest.mark.parametrize("value", ["no", "No", " no ", "no (a person wrote this)"])
def test_auto_submitted_no_is_a_person(world, value):
    assert_reply(world.decide(mail(f"Auto-Submitted: {value}")))


@pytest.mark.parametrize("value", ["bulk", "list", "junk", "BULK", "Junk (spam)", "auto_reply"])
def test_precedence(world, value):
    assert_skip(world.decide(mail(f"Precedence: {value}")), "precedence", "Precedence")


@pytest.mark.parametrize("value", ["normal", "first-class", "urgent"])
def test_precedence_near_misses(world, value):
    assert_reply(world.decide(mail(f"Precedence: {value}")))


@pytest.mark.parametrize("header", [
    "List-Id: Developers <devel.lists.example.org>",
    "List-Post: <mailto:devel@lists.example.org>",
    "List-Unsubscribe: <https://news.example.net/u/abc>, <mailto:u@news.example.net>",
    "List-Unsubscribe-Post: List-Unsubscribe=One-Click",
    "List-Help: <mailto:devel-request@lists.example.org?subject=help>",
    "List-Archive: <https://lists.example.org/archive/devel>",
    "list-id: <devel.lists.example.org>",
    "Mailing-List: contact devel-help@lists.example.org; run by ezmlm",
    "X-Mailing-List: <devel@lists.example.org> archive/latest/123",
    "X-List-Name: devel",
    "X-List: devel@lists.example.org",
    "X-BeenThere: devel@lists.example.org",
])
def test_list_headers(world, header):
    name = header.split(":", 1)[0]
    assert_skip(world.decide(mail(header)), "list", name)


def test_list_near_miss_headers_that_only_look_similar(world):
    # (X-List* is matched as a prefix on purpose: the README says so)
    assert_reply(world.decide(mail("Blacklist-Info: none", "X-Playlist: fado",
                                   "X-Unlisted: yes", "Enlisted-By: carl")))


def test_shipped_newsletter_example_is_bulk(world):
    raw = (ROOT / "examples" / "newsletter.eml").read_bytes()
    d = world.decide(raw, sender="bounces+123@news.example.net")
    assert d.action == "skip"
    d = world.decide(raw, sender="news@example.net")
    assert_skip(d, "precedence")


@pytest.mark.parametrize("value", ["All", "all", "OOF", "AutoReply", "DR, OOF",
                                   "RN, NRN, AutoReply", "DR,NDR,All"])
def test_auto_response_suppress(world, value):
    assert_skip(world.decide(mail(f"X-Auto-Response-Suppress: {value}")),
                "auto-response-suppress", value)


@pytest.mark.parametrize("value", ["DR, NDR", "RN, NRN", "DR", "None"])
def test_auto_response_suppress_near_misses(world, value):
    assert_reply(world.decide(mail(f"X-Auto-Response-Suppress: {value}")))


@pytest.mark.parametrize("header", [
    "X-Autoreply: yes",
    "X-Autorespond: Out of office",
    "X-Autogenerated: Reply",
    "X-AutoReply-From: carla@example.net",
    "X-Mail-Autoreply: 1",
    "X-MS-Exchange-Generated-Message-Source: Mailbox Rules Agent",
    "X-MS-Exchange-Inbox-Rules-Loop: carla@example.net",
    "X-Cron-Env: <SHELL=/bin/sh>",
    "X-Facebook-Notify: birthday_reminder; mailid=abc",
    "X-Amazon-Mail-Relay-Type: notification",
])
def test_autoreply_markers(world, header):
    assert_skip(world.decide(mail(header)), "autoreply-marker", header.split(":", 1)[0])


def test_autoreply_marker_near_misses(world):
    assert_reply(world.decide(mail("X-Amazon-Mail-Relay-Type: personal",
                                   "X-Mailer: Autoreply-Free Mail 1.0")))


# --- spam -----------------------------------------------------------------------------------

@pytest.mark.parametrize("header", [
    "X-Spam-Flag: YES",
    "X-Spam-Flag: yes",
    "X-Spam-Status: Yes, score=9.1 required=5.0 tests=BAYES_99,URIBL_BLACK",
    "X-Spam-Status: Yes; score=9.1",
    "X-Spam: yes",
    "X-Barracuda-Spam-Status: Yes, SCORE=8.2 using global scores",
    "X-DSPAM-Result: Spam",
    "X-Spamd-Result: default: True [15.20 / 15.00]",
    "X-Virus-Status: Infected (Eicar-Test-Signature)",
    "X-Spam-Score: 7.3",
    "X-Spam-Score: 5",
    "X-Spam-Score: 5.0 (+++++)",
])
def test_spam(world, header):
    assert_skip(world.decide(mail(header)), "spam")


@pytest.mark.parametrize("header", [
    "X-Spam-Flag: NO",
    "X-Spam-Status: No, score=1.2 required=5.0 tests=ALL_TRUSTED",
    "X-Spam-Score: 4.9",
    "X-Spam-Score: -2.3",
    "X-Spam-Score: ****",
    "X-Spam-Level: *******",
    "X-DSPAM-Result: Innocent",
    "X-Virus-Status: Clean",
    "X-Spamd-Result: default: False [1.20 / 15.00]",
])
def test_spam_near_misses(world, header):
    assert_reply(world.decide(mail(header)))


def test_spam_score_reason_names_score_and_threshold(world):
    assert_skip(world.decide(mail("X-Spam-Score: 7.3")), "spam", "X-Spam-Score", "7.3", "5")


def test_spam_rule_can_be_switched_off(world):
    world.configure(rules="spam = false")
    assert_reply(world.decide(mail("X-Spam-Flag: YES", "X-Spam-Score: 99")))


def test_spam_score_header_and_threshold_are_configurable(world):
    world.configure(rules='spam_score_header = "X-Rspamd-Score"\nspam_threshold = 10.0')
    assert_reply(world.decide(mail("X-Rspamd-Score: 9.9", "X-Spam-Score: 50")))
    assert_skip(world.decide(mail("X-Rspamd-Score: 10.5")), "spam", "X-Rspamd-Score", "10")


# --- auth failure (off by default) ----------------------------------------------------------

AR = ("Authentication-Results: mx.example.com; spf=fail smtp.mailfrom=example.org;\n"
      " dmarc=fail (p=reject) header.from=example.org")


def test_auth_failure_only_with_our_authserv_id(world):
    assert_reply(world.decide(mail(AR)))
    world.configure(rules='authserv_id = "mx.example.com"')
    assert_skip(world.decide(mail(AR)), "auth-failure", "spf=fail", "mx.example.com")
    assert_reply(world.decide(mail(AR.replace("=fail", "=pass"))))


# --- reports and bounces ---------------------------------------------------------------------

POSTFIX_DSN = """\
Return-Path: <>
Received: by mx.example.com (Postfix)
\tid 4Fa1b2C3d4; Sat, 28 Nov 2026 10:16:02 +0000 (UTC)
Date: Sat, 28 Nov 2026 10:16:02 +0000 (UTC)
From: MAILER-DAEMON@mx.example.com (Mail Delivery System)
Subject: Undelivered Mail Returned to Sender
To: ana@example.com
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status;
\tboundary="4Fa1b2C3d4.1795860962/mx.example.com"
Content-Transfer-Encoding: 8bit
Message-Id: <20261128101602.4Fa1b2C3d4@mx.example.com>

This is a MIME-encapsulated message.

--4Fa1b2C3d4.1795860962/mx.example.com
Content-Description: Notification
Content-Type: text/plain; charset=us-ascii

This is the mail system at host mx.example.com.

I'm sorry to have to inform you that your message could not
be delivered to one or more recipients. It's attached below.

                   The mail system

<carl@example.net>: host mx.example.net[192.0.2.25] said: 550 5.1.1
    <carl@example.net>: Recipient address rejected: User unknown in virtual
    mailbox table (in reply to RCPT TO command)

--4Fa1b2C3d4.1795860962/mx.example.com
Content-Description: Delivery report
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.example.com
X-Postfix-Queue-ID: 4Fa1b2C3d4
X-Postfix-Sender: rfc822; ana@example.com
Arrival-Date: Sat, 28 Nov 2026 10:16:01 +0000 (UTC)

Final-Recipient: rfc822; carl@example.net
Original-Recipient: rfc822;carl@example.net
Action: failed
Status: 5.1.1
Remote-MTA: dns; mx.example.net
Diagnostic-Code: smtp; 550 5.1.1 <carl@example.net>: Recipient address rejected:
    User unknown in virtual mailbox table

--4Fa1b2C3d4.1795860962/mx.example.com
Content-Description: Undelivered Message Headers
Content-Type: text/rfc822-headers

From: Ana Silva <ana@example.com>
To: carl@example.net
Subject: Minutes
Message-ID: <min-1@example.com>

--4Fa1b2C3d4.1795860962/mx.example.com--
"""

MDN = """\
From: Bob Example <bob@example.org>
To: Ana Silva <ana@example.com>
Subject: Read: Minutes
Date: Sat, 28 Nov 2026 10:20:00 +0000
Message-ID: <mdn-1@example.org>
MIME-Version: 1.0
Content-Type: multipart/report; report-type=disposition-notification;
 boundary="mdn-b"

--mdn-b
Content-Type: text/plain; charset=utf-8

The message sent on 2026-11-28 to bob@example.org with subject "Minutes" has been displayed.

--mdn-b
Content-Type: message/disposition-notification

Reporting-UA: bob-laptop; Thunderbird
Final-Recipient: rfc822;bob@example.org
Original-Message-ID: <min-1@example.com>
Disposition: manual-action/MDN-sent-manually; displayed

--mdn-b--
"""

ARF = """\
From: Abuse Desk <abuse-reports@isp.example>
To: Ana Silva <ana@example.com>
Subject: FW: Complaint about message from 203.0.113.7
Date: Sat, 28 Nov 2026 11:00:00 +0000
Message-ID: <arf-1@isp.example>
MIME-Version: 1.0
Content-Type: multipart/report; report-type=feedback-report;
     boundary="arf-b"

--arf-b
Content-Type: text/plain; charset="US-ASCII"

This is an email abuse report for an email message received from IP 203.0.113.7.

--arf-b
Content-Type: message/feedback-report

Feedback-Type: abuse
User-Agent: SomeGenerator/1.0
Version: 1
Original-Mail-From: <ana@example.com>
Arrival-Date: Sat, 28 Nov 2026 10:50:00 +0000
Source-IP: 203.0.113.7
Reported-Domain: example.com

--arf-b
Content-Type: message/rfc822

From: Ana Silva <ana@example.com>
To: someone@isp.example
Subject: Newsletter

Hello
--arf-b--
"""

EXIM_BOUNCE = """\
Return-path: <>
Received: from Debian-exim by mx.example.net with local (Exim 4.96)
\tid 1tAbCd-000123-4X for ana@example.com; Sat, 28 Nov 2026 10:16:05 +0000
X-Failed-Recipients: carl@example.net
Auto-Submitted: auto-replied
From: Mail Delivery System <Mailer-Daemon@mx.example.net>
To: ana@example.com
Content-Type: text/plain; charset=us-ascii
Subject: Mail delivery failed: returning message to sender
Message-Id: <E1tAbCd-000123-4X@mx.example.net>
Date: Sat, 28 Nov 2026 10:16:05 +0000

This message was created automatically by mail delivery software.

A message that you sent could not be delivered to one or more of its
recipients. This is a permanent error. The following address(es) failed:

  carl@example.net
    host mx.example.net [192.0.2.25]
    SMTP error from remote mail server after RCPT TO:<carl@example.net>:
    550 5.1.1 User unknown

------ This is a copy of the message, including all the headers. ------

From: Ana Silva <ana@example.com>
To: carl@example.net
Subject: Minutes
"""


def b(text: str) -> bytes:
    return text.encode("utf-8")


def test_postfix_dsn_as_delivered_is_a_null_sender(world):
    assert_skip(world.decide(b(POSTFIX_DSN), sender=""), "null-sender")


def test_postfix_dsn_with_a_rewritten_envelope_is_still_a_report(world):
    # a forwarder that gave the bounce a return path, and From: robots not checked
    world.configure(rules="check_from_header = false")
    raw = POSTFIX_DSN.replace("Auto-Submitted: auto-replied\n", "")
    assert_skip(world.decide(b(raw), sender="fwd@relay.example.net"), "report",
                "multipart/report")


def test_report_rule_on_its_own_sees_dsn_and_exim_bounce(world):
    rule = report_rule.Report()
    for raw, words in ((POSTFIX_DSN, "delivery-status"),
                       (EXIM_BOUNCE, "X-Failed-Recipients")):
        ctx = Context(Envelope(SENDER, ACCOUNT), from_bytes(b(raw)), world.config, NOW,
                      lambda a: None)
        why = rule.check(ctx)
        assert why and words.lower() in why.lower()
    ctx = Context(Envelope(SENDER, ACCOUNT), from_bytes(mail()), world.config, NOW,
                  lambda a: None)
    assert rule.check(ctx) is None


def test_mdn_from_a_person_is_a_report(world):
    assert_skip(world.decide(b(MDN), sender=SENDER), "report", "disposition-notification")


def test_arf_feedback_report(world):
    assert_skip(world.decide(b(ARF), sender="abuse-reports@isp.example"), "report",
                "feedback-report")


def test_report_content_type_in_any_case(world):
    raw = mail(ctype='Multipart/REPORT; Report-Type="delivery-status"; boundary=b',
               body="--b\n\nx\n--b--\n")
    assert_skip(world.decide(raw), "report")


def test_single_part_delivery_status(world):
    raw = mail(ctype="message/delivery-status", body="Final-Recipient: rfc822; x@y.example\n")
    assert_skip(world.decide(raw), "report", "message/delivery-status")


def test_exim_bounce_as_delivered(world):
    assert_skip(world.decide(b(EXIM_BOUNCE), sender=""), "null-sender")


def test_exim_bounce_failed_recipients_header(world):
    world.configure(rules="check_from_header = false")
    raw = EXIM_BOUNCE.replace("Auto-Submitted: auto-replied\n", "")
    assert_skip(world.decide(b(raw), sender="fwd@relay.example.net"), "report",
                "X-Failed-Recipients", "carl@example.net")


# A qmail bounce (QSBMF, cr.yp.to/proto/qsbmf.txt) from a host whose return path and From:
# are not robot names, with no report type and no X-Failed-Recipients: only the bounce
# scanner can tell.
QMAIL_BOUNCE = """\
From: Mail System <mail@mx.oldhost.example>
To: ana@example.com
Subject: failure notice
Date: Sat, 28 Nov 2026 10:17:00 +0000
Message-ID: <qmail-1@mx.oldhost.example>

Hi. This is the qmail-send program at mx.oldhost.example.
I'm afraid I wasn't able to deliver your message to the following addresses.
This is a permanent error; I've given up. Sorry it didn't work out.

<dora@oldhost.example>:
Sorry, no mailbox here by that name. (#5.1.1)

--- Below this line is a copy of the message.

Return-Path: <ana@example.com>
From: Ana Silva <ana@example.com>
To: dora@oldhost.example
Subject: Minutes
"""

# An old Exim/sendmail style text bounce without X-Failed-Recipients, sent from a return path
# that is not a robot name.
OLD_TEXT_BOUNCE = """\
From: Postoffice <postoffice@mail.example.net>
To: Ana Silva <ana@example.com>
Subject: Warning: message could not be delivered
Date: Sat, 28 Nov 2026 10:18:00 +0000
Message-ID: <old-1@mail.example.net>

This message was created automatically by mail delivery software.

A message that you sent could not be delivered to one or more of its
recipients. The following address(es) failed:

  <erik@example.net>
    SMTP error from remote mailer after RCPT TO:<erik@example.net>:
    host mx.example.net [192.0.2.30]: 550 No such user

------ This is a copy of the message, including all the headers. ------

From: Ana Silva <ana@example.com>
To: erik@example.net
Subject: Minutes
"""


def test_qmail_bounce_is_recognised_by_the_bounce_scanner(world):
    d = world.decide(b(QMAIL_BOUNCE), sender="mail@mx.oldhost.example")
    assert_skip(d, "bounce", "dora@oldhost.example")


def test_old_text_bounce_is_recognised_by_the_bounce_scanner(world):
    d = world.decide(b(OLD_TEXT_BOUNCE), sender="postoffice@mail.example.net")
    assert_skip(d, "bounce", "erik@example.net")


def test_bounce_scan_can_be_switched_off(world):
    world.configure(rules="bounce_scan = false")
    assert_reply(world.decide(b(QMAIL_BOUNCE), sender="mail@mx.oldhost.example"))


def test_a_personal_message_about_a_bounce_gets_a_reply(world):
    body = ("Hi Ana,\n\nmy mail to Carl came back undeliverable, it said 'user unknown' and\n"
            "'recipient address rejected'. Do you have his new address?\n\nBob\n")
    assert_reply(world.decide(mail(body=body, subject="Undeliverable mail to Carl?")))


def test_a_personal_message_quoting_a_bounce_gets_a_reply(world):
    """A person asking for help with a bounce they got: From, envelope and To are people, the
    bounce text is quoted with "> ". It is not itself a bounce."""
    body = ("Hi Ana,\n\nmy mail to Carl came back with this, do you know his new address?\n\n"
            "> This message was created automatically by mail delivery software.\n>\n"
            "> A message that you sent could not be delivered to one or more of its\n"
            "> recipients. This is a permanent error. The following address(es) failed:\n>\n"
            ">   <carl@example.net>\n>     550 5.1.1 User unknown\n\n---\nBob\n")
    assert_reply(world.decide(mail(body=body, subject="Fwd: my mail to Carl bounced?")))


def test_a_personal_message_mentioning_unsubscribe_gets_a_reply(world):
    body = ("Hi Ana,\n\nhow do I unsubscribe from the club newsletter? The unsubscribe\n"
            "link does not work for me.\n\nBob\n")
    assert_reply(world.decide(mail(body=body, subject="How to unsubscribe?")))


# --- realistic messages of other systems ---------------------------------------------------

EXCHANGE_OOF = """\
From: Carla Mendes <carla@contoso.example>
To: Ana Silva <ana@example.com>
Subject: Automatic reply: Lunch next week?
Thread-Topic: Lunch next week?
Date: Sat, 28 Nov 2026 10:15:30 +0000
Message-ID: <AM0PR01MB1234.eurprd01.prod.outlook.example>
In-Reply-To: <m1@example.org>
Auto-Submitted: auto-generated
X-MS-Exchange-Inbox-Rules-Loop: carla@contoso.example
X-Auto-Response-Suppress: All
X-MS-Exchange-Generated-Message-Source: Mailbox Rules Agent
Content-Type: text/plain; charset="us-ascii"
MIME-Version: 1.0

I am out of the office until Monday.
"""

GITHUB_NOTIFICATION = """\
Date: Sat, 28 Nov 2026 09:00:00 -0800
From: Dora <notifications@github.example>
Reply-To: example/project <reply+ABCDEF@reply.github.example>
To: example/project <project@noreply.github.example>
Cc: Ana Silva <ana@example.com>, Mention <mention@noreply.github.example>
Message-ID: <example/project/issues/42/123@github.example>
Subject: Re: [example/project] Crash on start (Issue #42)
Mime-Version: 1.0
Content-Type: text/plain; charset=UTF-8
Precedence: list
X-GitHub-Reason: mention
List-ID: example/project <project.example.github.example>
List-Archive: https://github.example/example/project
List-Unsubscribe: <mailto:unsub+ABC@reply.github.example>

@ana can you look?
"""

MAILMAN3_POST = """\
From: Bob via Devel <devel@lists.example.org>
Reply-To: Bob Example <bob@example.org>
To: devel@lists.example.org
Cc: ana@example.com
Subject: [Devel] Release plan
Message-ID: <rp-1@example.org>
Date: Sat, 28 Nov 2026 10:00:00 +0000
Content-Type: text/plain; charset=utf-8
MIME-Version: 1.0
Message-ID-Hash: ABCDEFGHIJKLMNOPQRSTUVWXYZ234567
X-Message-ID-Hash: ABCDEFGHIJKLMNOPQRSTUVWXYZ234567
X-Mailman-Version: 3.3.9
Precedence: list
List-Id: Development <devel.lists.example.org>
List-Post: <mailto:devel@lists.example.org>
List-Help: <mailto:devel-request@lists.example.org?subject=help>

Plan attached.
"""

CALENDAR_INVITE = """\
From: Bob Example <bob@example.org>
To: Ana Silva <ana@example.com>
Subject: Invitation: Budget review @ Tue 1 Dec 2026 10:00 - 11:00 (WET)
Date: Sat, 28 Nov 2026 10:15:00 +0000
Message-ID: <cal-1@example.org>
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="cal"

--cal
Content-Type: text/plain; charset=utf-8

Budget review, Tuesday.
--cal
Content-Type: text/calendar; charset=utf-8; method=REQUEST

BEGIN:VCALENDAR
METHOD:REQUEST
BEGIN:VEVENT
UID:cal-1@example.org
SUMMARY:Budget review
DTSTART:20261201T100000Z
DTEND:20261201T110000Z
ORGANIZER:mailto:bob@example.org
ATTENDEE:mailto:ana@example.com
END:VEVENT
END:VCALENDAR
--cal--
"""


def test_realistic_messages_of_other_systems(world):
    assert_skip(world.decide(b(EXCHANGE_OOF), sender="carla@contoso.example"),
                "auto-submitted")
    assert_skip(world.decide(b(GITHUB_NOTIFICATION),
                             sender="noreply@github.example"), "system-sender")
    assert_skip(world.decide(b(GITHUB_NOTIFICATION),
                             sender="bounces+1234-abcd-ana=example.com@sgmail.github.example"),
                "system-sender")
    world.configure(rules="check_from_header = false")
    assert_skip(world.decide(b(GITHUB_NOTIFICATION), sender="ghmail@github.example"),
                "precedence")
    assert_skip(world.decide(b(MAILMAN3_POST.replace("Precedence: list\n", "")),
                             sender="devel-bounces+ana=example.com@lists.example.org"),
                "system-sender")
    assert_skip(world.decide(b(MAILMAN3_POST.replace("Precedence: list\n", "")),
                             sender="devel@lists.example.org"), "list", "List-Id")
    assert_reply(world.decide(b(CALENDAR_INVITE)))


# --- other near misses ----------------------------------------------------------------------

@pytest.mark.parametrize("subject", [
    "Férias de Natal — almoço?",
    "=?UTF-8?Q?F=C3=A9rias_de_Natal?=",
    "=?ISO-8859-1?B?RulyaWFz?= e almoço",
    "=?utf-8?b?5pel5pys6Kqe44Gu5Lu25ZCN?=",
    "Re: Auto: your question",
    "",
])
def test_subjects_do_not_matter(world, subject):
    assert_reply(world.decide(mail(subject=subject)))


def test_no_subject_at_all(world):
    assert_reply(world.decide(mail(subject=None)))


def test_html_only_mail(world):
    assert_reply(world.decide(mail(ctype="text/html; charset=utf-8",
                                   body="<html><body><p>Lunch?</p></body></html>\n")))


def test_multipart_alternative_mail(world):
    body = ("--alt\nContent-Type: text/plain; charset=utf-8\n\nLunch?\n"
            "--alt\nContent-Type: text/html; charset=utf-8\n\n<p>Lunch?</p>\n--alt--\n")
    assert_reply(world.decide(mail(ctype='multipart/alternative; boundary="alt"', body=body)))


def test_reply_to_differs_from_from(world):
    assert_reply(world.decide(mail("Reply-To: Bob at Work <bob@work.example.net>")))


def test_8bit_latin1_headers_are_tolerated(world):
    raw = mail(subject="placeholder").replace(b"placeholder", "Férias".encode("latin-1"))
    assert_reply(world.decide(raw))


# --- not addressed --------------------------------------------------------------------------

def test_bcc_mail_is_not_addressed(world):
    d = world.decide(mail(to="Team <team@example.org>", ))
    assert_skip(d, "not-addressed", ACCOUNT, ALIAS)


def test_no_recipient_headers_at_all_is_not_addressed(world):
    assert_skip(world.decide(mail(to=None)), "not-addressed")


@pytest.mark.parametrize("to", [
    "banana@example.com",
    "ana@example.com.evil.example",
    "ana@example.community",
    "xana@example.com",
    "Ana Silva <ana-silva@example.com>",
    '"ana@example.com" <carl@example.net>',
    "=?utf-8?q?ana=40example.com?= <carl@example.net>",
    "undisclosed-recipients:;",
])
def test_lookalike_addresses_are_not_the_account(world, to):
    assert_skip(world.decide(mail(to=to)), "not-addressed")


@pytest.mark.parametrize("extra, to", [
    (["Cc: Ana Silva <ana@example.com>"], "Team <team@example.org>"),
    ([], "Ana <ana+travel@example.com>"),
    ([], f"Ana <{ALIAS}>"),
    ([], '"Silva, Ana" <ana@example.com>'),
    ([], '"Ana \\"the boss\\" Silva" <ana@example.com>, "Bob, B." <bob@example.org>'),
    ([], "=?UTF-8?Q?Ana_Sil=C3=A9va?= <ana@example.com>"),
    ([], "ANA@EXAMPLE.COM"),
    ([], '"ana"@example.com'),
    ([], "friends: carl@example.net, ana@example.com;"),
    ([], "ana@example.com (Ana Silva)"),
    ([], "Team <team@example.org>,\n Ana Silva\n <ana@example.com>"),
    # a "(" that never closes is no comment: it must not hide the address after it
    ([], "Ana Silva (Lisboa <ana@example.com>"),
    ([], "Ana :-( <ana@example.com>"),
    (["Resent-To: ana@example.com"], "Team <team@example.org>"),
    (["Resent-Cc: ana@example.com"], "Team <team@example.org>"),
    (["Bcc: ana@example.com"], "Team <team@example.org>"),
])
def test_addressed_near_misses(world, extra, to):
    assert_reply(world.decide(mail(*extra, to=to)))


def test_envelope_recipient_detail_counts_as_addressed(world):
    assert_reply(world.decide(mail(to="Ana <ana+travel@example.com>"),
                              recipient="ana+travel@example.com"))
    assert_reply(world.decide(mail(to="Ana <ANA+Travel@Example.com>"),
                              recipient="<ANA+Travel@EXAMPLE.COM>"))


def test_check_recipient_can_be_switched_off(world):
    world.configure(rules="check_recipient = false")
    assert_reply(world.decide(mail(to="Team <team@example.org>")))


# --- account --------------------------------------------------------------------------------

def test_no_account(world):
    assert_skip(world.decide(mail(to="carla@example.com"), recipient="carla@example.com"),
                "account", "carla@example.com")


def test_no_database_at_all_is_no_account(world, tmp_path):
    world.db = tmp_path / "elsewhere" / "none.sqlite3"
    world.configure()
    assert_skip(world.decide(mail()), "account", "no vacation")
    assert not world.db.exists()


def test_no_envelope_recipient(world):
    assert_skip(world.decide(mail(), recipient=""), "account")


def test_disabled_account(world):
    world.disable()
    assert_skip(world.decide(mail()), "account", "disabled")


def test_alias_as_envelope_recipient_finds_the_account(world):
    assert_reply(world.decide(mail(to=f"Ana <{ALIAS}>"), recipient=ALIAS))


def test_original_recipient_finds_the_account(world):
    assert_reply(world.decide(mail(), recipient="vacation-box@internal.example",
                              original=ACCOUNT))


def test_before_start_and_after_end(world):
    start = datetime(2026, 12, 20, 9, 0, tzinfo=timezone.utc)
    end = datetime(2027, 1, 4, 0, 0, tzinfo=timezone.utc)
    world.enable(start_at=start.strftime("%Y-%m-%dT%H:%M:%SZ"),
                 end_at=end.strftime("%Y-%m-%dT%H:%M:%SZ"))
    msg = mail()
    assert_skip(world.decide(msg, now=start.timestamp() - 1), "account", "starts")
    assert_reply(world.decide(msg, now=start.timestamp()))
    assert_reply(world.decide(msg, now=end.timestamp() - 1))
    assert_skip(world.decide(msg, now=end.timestamp()), "account", "ended")
    assert_skip(world.decide(msg, now=end.timestamp() + 86400 * 30), "account", "ended")


def test_account_wins_over_later_rules_but_not_earlier_ones(world):
    world.disable()
    # earlier, cheap header rules still decide first
    assert_skip(world.decide(mail("Precedence: bulk")), "precedence")
    # the account rule comes before self / not-addressed
    assert_skip(world.decide(mail(to="team@example.org")), "account")


# --- every rule has a hit here --------------------------------------------------------------

def test_every_rule_of_the_engine_is_covered_by_this_module():
    source = Path(__file__).read_text()
    for rule in all_rules():
        assert f'"{rule.name}"' in source, f"no test names rule {rule.name!r}"


# --- end to end through `explain --json` ------------------------------------------------------

def test_explain_json_end_to_end(world):
    d = world.explain(mail())
    assert (d["decision"], d["rule"], d["account"]) == ("reply", "reply", ACCOUNT)
    assert "bob@example.org" in d["reply"]["to"] and d["reply"]["envelope_from"] == ""
    # the near misses get a reply preview too (the reply renders for them)
    for msg in (mail(ctype="text/html; charset=utf-8", body="<p>Almo\u00e7o?</p>\n"),
                mail(subject="=?UTF-8?Q?F=C3=A9rias_=E2=80=94_almo=C3=A7o=3F?="),
                mail(subject="Férias — almoço?"),
                mail("Reply-To: Bob at Work <bob@work.example.net>", "Auto-Submitted: no",
                     "Precedence: normal", "X-Auto-Response-Suppress: DR, NDR")):
        d = world.explain(msg)
        assert (d["decision"], d["rule"]) == ("reply", "reply"), d
        assert "bob@example.org" in d["reply"]["to"] and "work" not in d["reply"]["to"]
    d = world.explain(mail(subject="=?UTF-8?Q?F=C3=A9rias?="))
    assert d["reply"]["subject"] == "Auto: Férias"  # decoded, RFC 3834 §3.1.5
    d = world.explain(b(POSTFIX_DSN), "")
    assert (d["decision"], d["rule"]) == ("skip", "null-sender")
    assert d["sender"] == ""
    d = world.explain(mail(to="team@example.org"))
    assert (d["decision"], d["rule"]) == ("skip", "not-addressed")
    d = world.explain(b(QMAIL_BOUNCE), "mail@mx.oldhost.example")
    assert (d["decision"], d["rule"]) == ("skip", "bounce")
    names = [c["rule"] for c in d["checks"]]
    assert names == [r.name for r in all_rules()]
    assert d["checks"][-1]["result"] == "skip"


def test_explain_json_at_a_time_outside_the_vacation(world):
    world.enable(start_at="2026-12-20T00:00:00Z", end_at="2027-01-04T00:00:00Z")
    # (day 15: unambiguous; ISO dates with a day <= 12 are covered in test_dates.py)
    d = world.explain(mail(), SENDER, ACCOUNT, "--at", "2026-12-15")
    assert (d["decision"], d["rule"]) == ("skip", "account")
    assert d["evaluated_at"] == "2026-12-15T00:00:00Z"
    d = world.explain(mail(), SENDER, ACCOUNT, "--at", "2026-12-24 12:00")
    assert d["decision"] == "reply"
