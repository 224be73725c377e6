"""End to end through a real, private Postfix: SMTP in, maildir and the agent's copy out,
replies relayed to the sink. See conftest.py for the lab's shape (contrib/postfix's settings).

Each test works with its own account (conftest.VACATIONS), so the reply ledger of one test
never decides another's outcome. "No reply" is checked after Postfix's queue is empty: the agent
submits its reply before it exits, so by then every reply has reached the sink.
"""

from __future__ import annotations

import re
import time

import pytest

from tests.postfix.conftest import copy_address, make_message

EXTERNAL = "carol@example.com"


def only_reply(lab, rcpt: str):
    got = lab.replies_to(rcpt)
    assert len(got) == 1, [m.data[:300] for m in lab.sink.messages]
    return got[0]


def ndrs(lab) -> list:
    """Delivery status notifications that reached the sink (backscatter, if made by a copy)."""
    return [m for m in lab.sink.messages
            if m.message.get_content_type() == "multipart/report"]


def test_personal_message_is_delivered_and_answered_once(lab):
    data, mid = make_message(EXTERNAL, "Ana <ana@lab.test>")
    mark = lab.log_mark()
    qid = lab.send(EXTERNAL, "ana@lab.test", data)
    # exit 0 from the agent: Postfix counts the copy as delivered (2.0.0, sent).
    st = lab.copy_status(qid, "ana@lab.test", mark)
    assert (st["status"], st["dsn"]) == ("sent", "2.0.0"), st
    lab.wait_idle()
    assert lab.in_mailbox("ana", mid) == 1          # the original delivery is untouched
    reply = only_reply(lab, EXTERNAL)
    assert reply.mail_from == "<>"                  # null envelope sender, as the sink saw it
    msg = reply.message
    assert msg["Auto-Submitted"].startswith("auto-replied")
    assert msg["To"] == EXTERNAL
    assert msg["In-Reply-To"] == mid
    assert "ana@lab.test" in msg["From"]
    assert ndrs(lab) == []


def test_second_message_from_same_sender_is_delivered_without_second_reply(lab):
    sender = "sam@example.net"
    first, mid1 = make_message(sender, "ben@lab.test")
    lab.send(sender, "ben@lab.test", first)
    lab.wait_idle()
    assert len(lab.replies_to(sender)) == 1
    second, mid2 = make_message(sender, "ben@lab.test", subject="And another thing")
    mark = lab.log_mark()
    qid = lab.send(sender, "ben@lab.test", second)
    assert lab.copy_status(qid, "ben@lab.test", mark)["status"] == "sent"
    lab.wait_idle()
    assert lab.in_mailbox("ben", mid1) == 1 and lab.in_mailbox("ben", mid2) == 1
    assert len(lab.replies_to(sender)) == 1
    assert "decision=skip" in lab.agent_log().splitlines()[-1]


def test_mail_to_an_alias_is_copied_for_the_account(lab):
    """The bcc table lists the account's aliases: mail to olga.ext (a Postfix alias of olga)
    reaches olga's mailbox and the agent, which answers as olga once."""
    sender = "rita@example.net"
    data, mid = make_message(sender, "olga.ext@lab.test")
    mark = lab.log_mark()
    qid = lab.send(sender, "olga.ext@lab.test", data)
    assert lab.copy_status(qid, "olga@lab.test", mark)["status"] == "sent"
    lab.wait_idle()
    assert lab.in_mailbox("olga", mid) == 1
    assert only_reply(lab, sender).mail_from == "<>"


def test_address_extension_is_copied_for_the_account(lab):
    """paul+news@: Postfix's BCC lookup falls back from user+ext@ to user@, the mailbox gets
    it, and the agent answers as paul."""
    sender = "wes@example.net"
    data, mid = make_message(sender, "paul+news@lab.test")
    mark = lab.log_mark()
    qid = lab.send(sender, "paul+news@lab.test", data)
    assert lab.copy_status(qid, "paul@lab.test", mark)["status"] == "sent"
    lab.wait_idle()
    assert lab.in_mailbox("paul", mid) == 1
    reply = only_reply(lab, sender)
    assert reply.mail_from == "<>" and "paul" in reply.message["From"]


def test_list_mail_is_delivered_without_reply(lab):
    sender = "news-bounces@lists.example.org"
    data, mid = make_message(
        "News <news@lists.example.org>", "cora@lab.test", subject="Weekly digest",
        extra="List-Id: <news.lists.example.org>\r\nPrecedence: list\r\n"
              "List-Unsubscribe: <mailto:news-leave@lists.example.org>\r\n")
    mark = lab.log_mark()
    qid = lab.send(sender, "cora@lab.test", data)
    assert lab.copy_status(qid, "cora@lab.test", mark)["status"] == "sent"
    lab.wait_idle()
    assert lab.in_mailbox("cora", mid) == 1
    assert lab.sink.messages == []
    assert "decision=skip" in lab.agent_log().splitlines()[-1]


def test_bounce_made_by_this_postfix_is_delivered_without_reply(lab):
    """cora writes to a stale alias; Postfix bounces it back to her. Postfix's own mail gets
    no recipient_bcc_maps copy at all, so the agent is not even started for it."""
    data, _ = make_message("cora@lab.test", "stale@lab.test", subject="Are you there?")
    mark = lab.log_mark()
    qid = lab.send("cora@lab.test", "stale@lab.test", data)
    m = lab.wait_for_log(rf"{qid}: sender non-delivery notification: ([0-9A-F]+)", mark)
    ndr_qid = m.group(1)
    lab.wait_for_log(rf"{ndr_qid}: to=<cora@lab.test>.*status=sent", mark)
    lab.wait_idle()
    bounces = [b for b in lab.mailbox("cora") if b.get_content_type() == "multipart/report"]
    assert any(qid in b.as_string() for b in bounces)
    assert lab.pipe_lines(ndr_qid) == []
    assert lab.sink.messages == []


def test_bounce_from_another_postfix_reaches_the_agent_and_gets_no_reply(lab):
    """A real Postfix NDR arriving from outside (null sender) does get a copy; the agent
    must let it through without answering."""
    data, _ = make_message("dave@example.com", "stale@lab.test", subject="Hello?")
    lab.send("dave@example.com", "stale@lab.test", data)
    lab.wait_idle()
    [ndr] = lab.replies_to("dave@example.com")   # made by Postfix, relayed to the sink
    assert ndr.mail_from == "<>" and ndr.message.get_content_type() == "multipart/report"
    lab.sink.clear()
    raw = ndr.data.replace(b"dave@example.com", b"cora@lab.test")
    mark = lab.log_mark()
    qid = lab.send("", "cora@lab.test", raw)
    assert lab.copy_status(qid, "cora@lab.test", mark)["status"] == "sent"
    lab.wait_idle()
    assert lab.sink.messages == []
    assert "decision=skip" in lab.agent_log().splitlines()[-1]


def test_account_without_vacation_gets_no_copy_and_no_reply(lab):
    data, mid = make_message(EXTERNAL, "erin@lab.test")
    qid = lab.send(EXTERNAL, "erin@lab.test", data)
    lab.wait_idle()
    assert lab.in_mailbox("erin", mid) == 1
    assert lab.pipe_lines(qid) == []
    assert lab.sink.messages == []


def test_vacation_switched_off_before_the_table_is_rebuilt_gets_no_reply(lab):
    """Between `vacation disable` and the next cron run the copy still arrives; the agent
    reads the account and skips."""
    lab.agent("vacation", "disable", "frank@lab.test")
    try:
        assert "frank@lab.test" in lab.bcc_map.read_text()
        data, mid = make_message(EXTERNAL, "frank@lab.test")
        mark = lab.log_mark()
        qid = lab.send(EXTERNAL, "frank@lab.test", data)
        assert lab.copy_status(qid, "frank@lab.test", mark)["status"] == "sent"
        lab.wait_idle()
        assert lab.in_mailbox("frank", mid) == 1
        assert lab.sink.messages == []
        assert "decision=skip" in lab.agent_log().splitlines()[-1]
    finally:
        lab.agent("vacation", "enable", "frank@lab.test")


def test_rebuilt_table_takes_effect_without_reload(lab):
    """What cron does: enable a vacation, rebuild the hash table; the next message is copied."""
    sender = "tom@example.net"
    data, _ = make_message(sender, "nina@lab.test")
    qid = lab.send(sender, "nina@lab.test", data)
    lab.wait_idle()
    assert lab.pipe_lines(qid) == [] and lab.sink.messages == []
    lab.agent("vacation", "enable", "nina@lab.test")
    try:
        lab.refresh_map()
        data, mid = make_message(sender, "nina@lab.test", subject="Second try")
        mark = lab.log_mark()
        qid = lab.send(sender, "nina@lab.test", data)
        assert lab.copy_status(qid, "nina@lab.test", mark)["status"] == "sent"
        # the mechanism: cleanup saw the rebuilt file and made way for a fresh process
        assert "autoresponder_bcc" in lab.wait_for_log(r"table \S+ has changed -- restarting",
                                                       mark).group(0)
        lab.wait_idle()
        assert lab.in_mailbox("nina", mid) == 1
        assert only_reply(lab, sender).mail_from == "<>"
    finally:
        lab.agent("vacation", "disable", "nina@lab.test")
        lab.refresh_map()


def test_broken_reply_transport_defers_the_copy_then_one_reply(lab):
    """The agent's SMTP target answers 4xx: the agent exits 75, Postfix keeps the copy in
    its queue (the mailbox already has the message); once the target works again and the
    queue is flushed, exactly one reply goes out."""
    sender = "uma@example.net"
    lab.set_reply_gate("defer")
    try:
        data, mid = make_message(sender, "dana@lab.test")
        mark = lab.log_mark()
        qid = lab.send(sender, "dana@lab.test", data)
        st = lab.copy_status(qid, "dana@lab.test", mark)
        assert st["status"] == "deferred" and st["dsn"].startswith("4."), st
        queue = lab.queue()
        assert qid in queue and copy_address("dana@lab.test") in queue, queue
        assert lab.in_mailbox("dana", mid) == 1
        assert lab.replies_to(sender) == []
    finally:
        lab.set_reply_gate("permit")
    mark = lab.log_mark()
    lab.flush()
    lab.wait_for_log(rf"{qid}: to=<{copy_address('dana@lab.test')}>.*status=sent", mark)
    lab.wait_idle()
    assert only_reply(lab, sender).mail_from == "<>"
    assert lab.in_mailbox("dana", mid) == 1
    assert ndrs(lab) == []


def test_two_local_accounts_on_vacation_do_not_loop(lab):
    """leo writes to lia; both are away. lia's reply reaches leo (and his agent), which must
    not answer it. Count the messages for a few seconds after the queue went idle."""
    data, mid = make_message("leo@lab.test", "lia@lab.test", subject="Coffee?")
    lab.send("leo@lab.test", "lia@lab.test", data)
    lab.wait_idle()
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline:
        assert len(lab.mailbox("lia")) == 1      # leo's message only, no reply from leo
        assert len(lab.mailbox("leo")) <= 1      # lia's one reply
        time.sleep(0.2)
    [reply] = lab.mailbox("leo")
    assert reply["Auto-Submitted"].startswith("auto-replied")
    assert reply["In-Reply-To"] == mid
    assert lab.in_mailbox("lia", mid) == 1
    assert "Mail queue is empty" in lab.queue()
    assert lab.sink.messages == []
    leo = [ln for ln in lab.agent_log().splitlines() if "account=leo@lab.test" in ln]
    assert len(leo) == 1 and "decision=skip" in leo[0], leo


@pytest.mark.parametrize("name,sender,data", [
    ("no header at all", "x@example.net", b"just a body line\r\n"),
    ("null sender, garbage", "", b"\x00\xff\xfe binary\r\n\r\n\xc3\x28 broken utf-8\r\n"),
    ("8-bit headers", "y@example.net",
     "Subject: caf\u00e9 \u00e0 la cr\u00e8me\r\nFrom: Jos\u00e9 <y@example.net>\r\n"
     "To: hugo@lab.test\r\n\r\nol\u00e1\r\n".encode()),
    ("header without colon", "z@example.net", b"From z@example.net\r\nBad header line\r\n"
     b"To: hugo@lab.test\r\n\r\nbody\r\n"),
    ("quoted local part", '"john doe"@example.com',
     b'From: "john doe"@example.com\r\nTo: hugo@lab.test\r\nSubject: hi\r\n\r\nhello\r\n'),
])
def test_odd_input_never_makes_postfix_bounce(lab, name, sender, data):
    mark = lab.log_mark()
    qid = lab.send(sender, "hugo@lab.test", data)
    st = lab.copy_status(qid, "hugo@lab.test", mark)
    assert (st["status"], st["dsn"][:2]) == ("sent", "2."), (name, st)
    lab.wait_idle()
    assert ndrs(lab) == []


def test_bad_agent_config_defers_and_never_bounces(lab):
    good = lab.agent_config.read_text()
    sender = "vera@example.net"
    lab.agent_config.write_text(good.replace('interval = "24h"', 'interval = "soon"'))
    try:
        data, mid = make_message(sender, "gail@lab.test")
        mark = lab.log_mark()
        qid = lab.send(sender, "gail@lab.test", data)
        st = lab.copy_status(qid, "gail@lab.test", mark)
        assert lab.in_mailbox("gail", mid) == 1
    finally:
        lab.agent_config.write_text(good)
        lab.flush()
        lab.wait_idle()
    assert st["status"] == "deferred", st
    assert ndrs(lab) == []


@pytest.mark.parametrize("rcpt,status,dsn", [
    ("0", "sent", "2.0.0"),
    ("75", "deferred", "4.3.0"),       # EX_TEMPFAIL: stays queued, retried
    ("78", "bounced", "5.3.5"),        # EX_CONFIG: a bounce, not a deferral
    ("1", "bounced", "5.3.0"),         # a crash (e.g. a traceback)
    ("64", "bounced", "5.3.0"),        # EX_USAGE (argparse-style errors are 2: bounced too)
    ("75+5.7.1", "bounced", "5.7.1"),  # output starting with a status code beats exit 75
    ("0+kill", "deferred", "4.3.0"),   # killed by a signal: retried
    ("0+sleep", "bounced", "5.3.0"),   # over the service's time limit: a bounce
])
def test_what_postfix_does_with_each_exit_status(lab, rcpt, status, dsn):
    """The table in contrib/postfix/README.md, measured on the installed Postfix."""
    mark = lab.log_mark()
    qid = lab.send(EXTERNAL, f"{rcpt}@exitcode.lab.test", b"Subject: exit\r\n\r\nx\r\n")
    m = lab.wait_for_log(rf"{qid}: to=<{re.escape(rcpt)}@exitcode\.lab\.test>.*relay=exitcode.* "
                         rf"dsn=([0-9.]+), status=(\w+)", mark)
    if m.group(2) == "deferred":
        lab.postfix_cmd("postsuper", "-d", qid)
    lab.wait_idle()
    assert (m.group(2), m.group(1)) == (status, dsn)
    assert len(ndrs(lab)) == (1 if status == "bounced" else 0)


def test_a_command_that_cannot_start_is_deferred(lab):
    """A wrong path in argv= (or a venv the pipe user cannot enter): deferred, no bounce."""
    mark = lab.log_mark()
    qid = lab.send(EXTERNAL, "x@nocommand.lab.test", b"Subject: x\r\n\r\nx\r\n")
    m = lab.wait_for_log(rf"{qid}: to=<x@nocommand\.lab\.test>.*relay=nocommand.* "
                         rf"dsn=([0-9.]+), status=(\w+) \((.*)\)", mark)
    if m.group(2) == "deferred":
        lab.postfix_cmd("postsuper", "-d", qid)
    lab.wait_idle()
    assert (m.group(2), m.group(1)) == ("deferred", "4.3.0"), m.group(0)
    assert "execvp" in m.group(3)
    assert ndrs(lab) == []
