"""The header helpers the rules share: unwrapping BATV/SRS senders, reading the Subject."""

from __future__ import annotations

from email.header import Header

from hypothesis import given
from hypothesis import strategies as st

from autoresponder.headerutil import REPLY_PREFIXES, is_reply_or_forward, starts_with_label, \
    strip_tags, subject_text, unwrap_sender
from autoresponder.message import from_bytes
from tests.rules.support import mail

LOCAL = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9.+\-_=]{0,20}", fullmatch=True)
DOMAIN = st.from_regex(r"[a-z0-9]{1,10}(\.[a-z0-9]{1,8}){1,2}", fullmatch=True)
TAG = st.from_regex(r"[0-9A-Za-z]{4,12}", fullmatch=True)


@given(local=LOCAL, domain=DOMAIN, tag=TAG, signer=DOMAIN)
def test_batv_unwraps_to_the_signed_address(local, domain, tag, signer):
    assert unwrap_sender(f"prvs={tag}={local}@{domain}") == f"{local}@{domain}"
    assert unwrap_sender(f"btv1=={tag}=={local}@{domain}") == f"{local}@{domain}"


@given(local=LOCAL, domain=DOMAIN, h=TAG, tt=st.from_regex(r"[A-Z0-9]{2}", fullmatch=True),
       fwd=DOMAIN, fwd1=DOMAIN)
def test_srs_unwraps_to_the_original_address(local, domain, h, tt, fwd, fwd1):
    assert unwrap_sender(f"SRS0={h}={tt}={domain}={local}@{fwd}") == f"{local}@{domain}"
    assert unwrap_sender(f"SRS1={h}={fwd1}=={h}={tt}={domain}={local}@{fwd}") == \
        f"{local}@{domain}"


@given(address=st.text(max_size=60))
def test_unwrap_never_raises_and_keeps_what_it_does_not_know(address):
    out = unwrap_sender(address)
    low = address.lower()
    if not low.startswith(("prvs=", "msprvs1=", "btv1==", "srs0=", "srs1=")):
        assert out == address


@given(text=st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=80))
def test_subject_text_reads_any_encoding_of_any_text(text):
    """Whatever the text, encoded as RFC 2047 by the email package, reads back the same
    (controls and runs of spaces aside, case-folded)."""
    raw = Header(text, "utf-8").encode().replace("\n", "")
    got = subject_text(from_bytes(mail(subject=raw)))
    want = " ".join("".join(" " if ord(c) < 32 or ord(c) == 127 or c in " \t\u00a0\u202f\u3000"
                            else c for c in text).split()).casefold()
    assert got == want


@given(prefix=st.sampled_from(REPLY_PREFIXES),
       rest=st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=30),
       tags=st.lists(st.from_regex(r"\[[A-Z?#0-9]{1,8}\]", fullmatch=True), max_size=2))
def test_every_reply_prefix_is_a_reply_after_any_tags(prefix, rest, tags):
    subject = " ".join(tags + [f"{prefix} : {rest}"]).casefold()
    assert is_reply_or_forward(subject)


def test_a_label_needs_its_colon():
    assert starts_with_label("out of office: back monday", ("out of office",))
    assert starts_with_label("réponse automatique : x", ("réponse automatique",))
    assert starts_with_label("自动回复：x", ("自动回复",))
    assert not starts_with_label("out of office next week?", ("out of office",))
    assert not starts_with_label("re", ("re",))
    assert strip_tags("[external] [spam?] re: x") == "re: x"
    assert not is_reply_or_forward("resultados: novembro")  # "res" needs its colon


# --- the small RFC 2047 decoder agrees with the email package --------------------------------

# Printable text: the email package's reader also folds Unicode white space and controls
# (NEL, NBSP ...) in ways of its own, which subject_text flattens anyway.
NO_SURROGATES = st.characters(blacklist_categories=("Cs", "Cc", "Zl", "Zp", "Zs")) | st.just(" ")
CHARSETS = st.sampled_from(["utf-8", "iso-8859-1", "iso-8859-15", "windows-1252", "gb2312",
                            "shift_jis", "koi8-r"])


def _reference(raw: str) -> str:
    from email.header import decode_header, make_header

    return str(make_header(decode_header(raw)))


@given(parts=st.lists(st.tuples(st.text(alphabet=NO_SURROGATES, min_size=1, max_size=30),
                                CHARSETS, st.sampled_from(["b", "q"]), st.booleans()),
                      min_size=1, max_size=4))
def test_decode_words_reads_what_the_email_package_writes(parts):
    """Any texts, each encoded (or left plain) in a charset that can hold it, joined as a
    mail program joins them: read back the same as email.header reads them."""
    from email.charset import BASE64, QP, Charset
    from email.header import Header

    from autoresponder.headerutil import decode_words

    h = Header()
    for text, charset, enc, plain in parts:
        try:
            text.encode(charset)
        except UnicodeEncodeError:
            charset = "utf-8"
        if plain and text.isascii() and "=?" not in text:
            h.append(text, "us-ascii")
            continue
        cs = Charset(charset)
        cs.header_encoding = BASE64 if enc == "b" else QP
        h.append(text, cs)
    raw = h.encode(maxlinelen=10_000)
    assert decode_words(raw) == _reference(raw)


@given(pieces=st.lists(st.sampled_from(list("=?QqBb_ aé3D") + ["=?utf-8?q?", "?= ",
                                                                  "=?utf-8?b?", "w6k=", "=?"]),
                       max_size=20))
def test_decode_words_never_raises_on_broken_words(pieces):
    from autoresponder.headerutil import decode_words

    assert isinstance(decode_words("".join(pieces)), str)


def test_an_encoded_subject_is_read_without_the_email_package(tmp_path):
    """The word-reading rules run before the ledger on every message: an encoded Subject
    (most Portuguese mail) must not load `email` or `re` on the way to already-replied."""
    from tests.test_lazy_imports import World, check_lean, personal

    w = World(tmp_path)
    msg = personal().replace(b"Subject: Lunch next week?",
                             b"Subject: =?utf-8?q?Almo=C3=A7o_na_ter=C3=A7a=3F?=")
    rc, _, line = w.deliver("bob@example.org", msg)
    assert rc == 0 and "decision=reply" in line
    rc, mods, line = w.deliver("bob@example.org", msg)
    assert rc == 0 and "rule=already-replied" in line
    check_lean(mods)


def test_signature_is_the_first_listed_field_present_quoted_as_written():
    """What esp and helpdesk share: the list's order decides (not the message's), the name is
    quoted as the sender spelt it, the value cut at 60 characters; no listed field, None."""
    from autoresponder.headerutil import signature

    m = from_bytes(b"X-Two: second\nx-ONE:  " + b"v" * 80 + b"\nSubject: hi\n\nbody\n")
    fields = (("x-one", "One"), ("x-two", "Two"))
    assert signature(m, fields) == ("One", "x-ONE: " + "v" * 60)
    assert signature(m, fields[::-1]) == ("Two", "X-Two: second")
    assert signature(m, (("x-three", "Three"),)) is None
