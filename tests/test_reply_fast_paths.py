"""The reply's two shortcuts past the email package give exactly what the package gives.

reply.recipient_name reads plain ``Name <addr>`` fields itself and reply._encoded writes a short
ASCII Subject as it is, so a reply need not import email.utils / email.header (bench/PROFILE.md).
Each shortcut may decline (and the package then does the work), but when it answers, its
answer must be the package's: these properties hold the two side by side on hostile text."""

from __future__ import annotations

from email.header import Header
from email.utils import getaddresses

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from autoresponder import reply
from autoresponder.message import from_bytes

PROPS = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Every character that means something to an address parser, plus letters of other scripts,
# white space of several kinds and controls.
PIECES = st.sampled_from(list('abcXYZ019.@<>,;:"()[]\\ \t\r\n!#$%&\'*+-/=?^_`{|}~')
                         + ["é", "ç", "Ω", "中", "\u00a0", "\u0301", "\x00", "\x7f", "=?",
                            "?=", "ana@example.com", "Bob", " <", ">"])
HOSTILE = st.lists(PIECES, max_size=40).map("".join)

ATOM = st.text(alphabet="abcdefghijklmnopqrstuvwxyzABCXYZ0123456789!#$%&'*+-/=?^_`{|}~",
               min_size=1, max_size=8)
DOT_ATOM = st.lists(ATOM, min_size=1, max_size=3).map(".".join)
ADDR = st.builds(lambda lo, do: f"{lo}@{do}", DOT_ATOM, DOT_ATOM)
WORD = st.text(alphabet="abcXYZ09.!'-éçΩ中", min_size=1, max_size=10)
GAP = st.sampled_from([" ", "  ", "\t", "\r\n ", "\n\t"])
NAME = st.lists(st.tuples(WORD, GAP), max_size=4).map(
    lambda ws: "".join(w + g for w, g in ws).strip(" \t\r\n"))
QUOTED = st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc"),
                                        blacklist_characters='"\\'), max_size=20)
PLAIN = st.one_of(
    ADDR,
    st.builds(lambda n, a: f"{n} <{a}>", NAME, ADDR),
    st.builds(lambda q, a, g: f'"{q}"{g}<{a}>', QUOTED, ADDR, st.sampled_from(["", " ", "\t"])),
)


@PROPS
@given(HOSTILE)
@example('"Silva, Ana" <ana@example.com>')
@example("bob@example.org (Bob Example)")
@example("Bob <bob@example.org>, Carol <carol@example.org>")
@example("Bob <bob@[127.0.0.1]>")
@example('Bob "the builder" <bob@example.org>')
@example("undisclosed-recipients:;")
def test_a_shortcut_answer_is_the_parsers_answer(value):
    plain = reply._plain_mailbox(value)
    if plain is not None:
        assert [plain] == getaddresses([value])
    assert reply._mailboxes(value) == getaddresses([value])


@PROPS
@given(PLAIN, st.sampled_from(["", " ", "\t", "\r\n"]))
def test_plain_shapes_take_the_shortcut(value, pad):
    """The premise of the property above: the shapes senders write are read without the
    package (else the shortcut saves nothing and the property holds vacuously)."""
    plain = reply._plain_mailbox(pad + value + pad)
    assert plain is not None
    assert [plain] == getaddresses([pad + value + pad])


def _by_the_package(message, sender: str) -> str:
    """recipient_name as it was written before the shortcut: the same first check (the
    sender written as an address in a field, else no name: e.g. 'a@ a(a', which getaddresses
    reads as a@a named "a"), then every field through getaddresses."""
    from autoresponder import addresses

    values = [v[:reply.MAX_NAME_FIELD] for n in reply.NAME_FIELDS for v in message.get_all(n)]
    if not any(sender in addresses.find_addresses(v) for v in values):
        return ""
    for v in values:
        for display, addr in getaddresses([v]):
            if display and addresses.normalize(addr) == sender:
                return display
    return ""


@PROPS
@given(st.one_of(PLAIN, HOSTILE), st.one_of(PLAIN, HOSTILE, st.none()))
@example("a@ a(a", None)  # found by a full run: no address as written, so no name
def test_the_name_in_the_reply_is_the_one_the_package_reads(from_value, sender_value):
    head = [f"From: {from_value}".replace("\r", " ").replace("\n", " ")]
    if sender_value is not None:
        head.append(f"Sender: {sender_value}".replace("\r", " ").replace("\n", " "))
    message = from_bytes(("\n".join([*head, "To: ana@example.com", "", "hi", ""]))
                         .encode("utf-8"))
    for sender in ("bob@example.org", "ana@example.com") + tuple(
            a for _, a in getaddresses([from_value])):
        from autoresponder import addresses

        sender = addresses.normalize(sender) if sender else ""
        if sender:
            assert reply.recipient_name(message, sender) == _by_the_package(message, sender)


SUBJECT = st.text(alphabet=st.characters(min_codepoint=0, max_codepoint=0x7F), max_size=90)


@PROPS
@given(st.one_of(SUBJECT, st.text(max_size=90)),
       st.sampled_from(["Subject", "X-Some-Longer-Name"]))
@example("Re: Lunch next week?", "Subject")
@example("a" * 69, "Subject")
@example("a" * 70, "Subject")
@example("=?utf-8?q?hi?=", "Subject")
def test_a_plain_line_is_the_line_the_package_writes(raw, name):
    text = reply.clean_text(raw)  # what build() gives _encoded: no control character left
    package = f"{name}: {Header(text, 'us-ascii' if text.isascii() and '=?' not in text else 'utf-8', header_name=name).encode(linesep=chr(13) + chr(10))}\r\n"  # noqa: E501
    if reply._plain_line(name, text):
        assert f"{name}: {text}\r\n" == package
    assert reply._encoded(name, text) == package


@PROPS
@given(st.lists(st.text(alphabet="abcXYZ019!?.,:'-()", min_size=1, max_size=12), min_size=1,
                max_size=6).map(" ".join))
def test_short_ascii_subjects_take_the_shortcut(text):
    if len(text) <= 69:
        assert reply._plain_line("Subject", text)
