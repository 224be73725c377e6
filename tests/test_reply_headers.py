"""The reply's To (the sender's own display name) and Subject (cut near 256 characters with an
ellipsis), built by autoresponder.reply from hostile input and read back by the email package."""

from __future__ import annotations

import email
import email.policy
from email.header import Header
from email.utils import formataddr

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from autoresponder import reply
from autoresponder.envelope import Envelope
from autoresponder.message import from_bytes
from autoresponder.replytext import Rendered

SENDER = "bob@example.org"
PROPS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
# Text a mail program can write (no lone surrogates), any script, controls included.
TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=400)


class Account:
    address, from_name = "ana@example.com", "Ana Silva"

    def addresses(self):
        return {self.address}


class Config:
    envelope_sender = "null"


def built(*fields: str, subject: "str | None" = "Lunch", account_subject: str = "",
          sender: str = SENDER) -> email.message.EmailMessage:
    head = [f"Subject: {subject}"] if subject is not None else []
    raw = "\n".join(["To: Ana <ana@example.com>", *head, *fields,
                     "Message-ID: <m1@example.org>"]) + "\n\nHi\n"
    env = Envelope(sender, "ana@example.com")
    r = reply.build(Config(), Account(), env, from_bytes(raw.encode("utf-8")),
                    Rendered(account_subject, "Away.", None, "en", "default"), now=0)
    assert all(b < 128 for b in r.data), "the reply stays 7-bit"
    return email.message_from_bytes(r.data, policy=email.policy.default)


def to_mailbox(m) -> "tuple[str, str]":
    """(display name, address) of the reply's To, the name decoded by RFC 2047's rules
    (email.header), as mail readers do. (The email package's address-header parser keeps the
    folding space between two encoded-words of one name, which RFC 2047 §6.2 drops.)"""
    from email.header import decode_header, make_header
    from email.utils import getaddresses

    raw = next(v for k, v in m.raw_items() if k.lower() == "to")
    [(name, addr)] = getaddresses([raw.replace("\r\n", "").replace("\n", "")])
    return (str(make_header(decode_header(name))) if name else ""), addr


# --- To: the display name of the field whose address is the envelope sender's ----------------

@pytest.mark.parametrize("fields, name", [
    (["From: Bob Example <bob@example.org>"], "Bob Example"),
    (['From: "Example, Bob" <bob@example.org>'], "Example, Bob"),
    (["From: bob@example.org (Bob Example)"], "Bob Example"),
    (["From: =?utf-8?q?Jo=C3=A3o_Ant=C3=B3nio?= <BOB@Example.ORG>"], "João António"),
    (["Sender: Bob at the office <bob@example.org>", "From: Team <team@example.org>"],
     "Bob at the office"),
    (["Resent-From: Bob Resending <bob@example.org>", "From: Carl <carl@example.net>"],
     "Bob Resending"),
    (["From: Carl <carl@example.net>, Bob Two <bob@example.org>"], "Bob Two"),
    (["Sender: bob@example.org", "From: Bob From <bob@example.org>"], "Bob From"),
])
def test_the_to_carries_the_senders_own_name(fields, name):
    assert to_mailbox(built(*fields)) == (name, SENDER)


@pytest.mark.parametrize("fields", [
    ["From: Carl <carl@example.net>"],                        # someone else's name
    ['From: "bob@example.org" <carl@example.net>'],           # the address only in a name
    ["Sender: Mallory <mallory@example.net>", "Reply-To: Bob <bob@example.org>"],
    ["From: bob@example.org"],                                # no name at all
    [],
])
def test_no_matching_named_mailbox_means_a_bare_address(fields):
    to = built(*fields)["To"]
    assert str(to) == SENDER


@pytest.mark.parametrize("value, shown", [
    ("=?utf-8?q?Bob=0D=0ABcc=3A_evil=40x.example?= <bob@example.org>", "Bob Bcc: evil@x.example"),
    ("=?utf-8?q?Bob=E2=80=AEevil?= <bob@example.org>", "Bob evil"),      # RIGHT-TO-LEFT OVERRIDE
    ("=?utf-8?q?Bob=C2=85Two=E2=80=A8Three?= <bob@example.org>", "Bob Two Three"),  # NEL, LS
    # encoded-words inside quotes, as some clients write them: decoded, as readers do
    ('"=?utf-8?q?Jo=C3=A3o_Silva?=" <bob@example.org>', "João Silva"),
])
def test_hostile_names_are_flattened_and_cleaned(value, shown):
    m = built(f"From: {value}")
    assert [n.lower() for n in m.keys()].count("bcc") == 0
    assert to_mailbox(m) == (shown, SENDER)


def test_a_very_long_name_is_cut_with_an_ellipsis():
    m = built(f"From: {'Bartholomew ' * 40}<bob@example.org>")
    name, _ = to_mailbox(m)
    assert len(name) <= reply.MAX_NAME and name.endswith(reply.ELLIPSIS)


@given(name=TEXT)
@example(name="\u202e\u0000" * 50)
@example(name="x" * 5000)
@example(name=":\r")  # a CR inside the quoted name once ended it early: no name at all
@example(name=":\n")
@example(name="Ana\r\nSilva")
@PROPS
def test_any_encoded_name_reaches_the_to_as_one_clean_bounded_line(name):
    # formataddr leaves an ASCII name's line breaks raw: folded, as a mail program writes them
    value = formataddr((name, SENDER), charset="utf-8").replace("\n", "\n ")
    m = built(f"From: {value}")
    assert len(m["To"].addresses) == 1
    shown, addr = to_mailbox(m)
    assert addr == SENDER
    assert len(shown) <= reply.MAX_NAME
    assert not any(ord(c) in reply._DROP for c in shown)
    want = reply.clean_text(name, reply.MAX_NAME)
    if len(value) > reply.MAX_NAME_FIELD:  # the parse is bounded: past it, no name
        want = shown and want
    assert shown == want


# --- Subject: cut near 256 characters, decoded, with an ellipsis; never silently at 200 -------

def test_a_subject_of_255_characters_is_kept_whole():
    text = "x" * 249  # "Auto: " + 249 = 255
    assert str(built(subject=text)["Subject"]) == "Auto: " + text


def test_a_long_subject_is_cut_near_256_with_an_ellipsis_not_at_200():
    text = "Relatório " * 40
    got = str(built(subject=Header(text, "utf-8").encode())["Subject"])
    assert got.endswith(reply.ELLIPSIS) and 240 <= len(got) <= 256
    assert got.startswith("Auto: Relatório Relatório")
    assert got[:-1].rstrip().endswith("Relatório"), "cut at a word's end when one is near"


def test_the_accounts_own_long_subject_is_cut_the_same_way():
    got = str(built(account_subject="Fora " + "a" * 400)["Subject"])
    assert len(got) == 256 and got.endswith(reply.ELLIPSIS)


@pytest.mark.parametrize("unit", ["é", "e\u0301", "語", "👩\u200d💻", "👍🏽", "a "])
def test_the_cut_never_splits_a_character(unit):
    got = reply.cut(unit * 300, 256)
    assert len(got) <= 256 and got.endswith(reply.ELLIPSIS)
    body = got[:-1]
    assert (unit * 300).startswith(body)
    assert len(body.rstrip()) % len(unit.rstrip()) == 0 or unit == "a "


@given(text=TEXT, limit=st.integers(2, 300))
@PROPS
def test_cut_keeps_a_prefix_within_the_limit(text, limit):
    got = reply.cut(text, limit)
    assert len(got) <= limit
    if len(text) <= limit:
        assert got == text
    else:
        assert got.endswith(reply.ELLIPSIS) and text.startswith(got[:-1])
        assert len(got) >= limit - 17  # near the limit: at most a word's worth shorter


@given(text=TEXT)
@example(text="語" * 400)
@example(text="=?utf-8?q?x?= " * 60)
@PROPS
def test_any_original_subject_reads_back_as_its_cleaned_cut_text(text):
    """Encoded by the sender, decoded by us, cut, encoded by the email package and decoded
    again by the reader: the reader sees "Auto: " and the cleaned text, cut with an
    ellipsis at 256 characters, on one line."""
    raw = Header(text, "utf-8").encode().replace("\n", "") if text else None
    got = str(built(subject=raw)["Subject"])
    cleaned = reply.clean_text(text, 10_000)
    want = reply.cut("Auto: " + cleaned, reply.MAX_SUBJECT) if cleaned else "Automated reply"
    assert got == want
    assert "\n" not in got and "\r" not in got and len(got) <= reply.MAX_SUBJECT


def test_explain_shows_the_name_from_sender_for_mail_sent_on_behalf(tmp_path):
    """End to end (the corpus message, explain --json in a subprocess): the secretary who
    sent the Rector's invitation is the envelope sender, named in Sender:."""
    import json
    from pathlib import Path

    from tests.conftest import Agent
    from tests.test_corpus import CORPUS, split_envelope

    sender, message = split_envelope(
        (Path(CORPUS) / "reply" / "secretary_sends_on_behalf_sender_field.eml").read_bytes())
    agent = Agent(tmp_path)
    agent.admin("vacation", "enable", "ana@example.com")
    r = agent.run("explain", "--json", "--sender", sender, "--recipient", "ana@example.com",
                  input=message)
    assert r.returncode == 0, r.stderr
    to = json.loads(r.stdout)["reply"]["to"]
    assert to == f'"Maria Rocha (Secretaria da Reitoria)" <{sender}>'
