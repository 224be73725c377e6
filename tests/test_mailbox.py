"""The RFC 5321 Mailbox validator (issue 9 items 2, 6, 7, 13): what may become an envelope
address, a To: or a Delivered-To:, and in which canonical form.

Properties first (valid mailboxes round-trip; decorated ones are refused; nothing that comes
out holds a control, a separator or too many octets), then the review's reproductions.
"""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st

from autoresponder import addresses
from autoresponder.addresses import InvalidMailbox, mailbox
from autoresponder.envelope import Envelope

# RFC 5322 atext less the routing characters the agent refuses ('%' and '!')
ATEXT = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789#$&'*+-/=?^_`{|}~"
atoms = st.text(st.sampled_from(ATEXT), min_size=1, max_size=8)
dot_strings = st.lists(atoms, min_size=1, max_size=4).map(".".join).filter(lambda s: len(s) <= 64)
LDH = "abcdefghijklmnopqrstuvwxyz0123456789"
labels = st.builds(lambda a, mid, b: a + mid + b, st.sampled_from(LDH),
                   st.text(st.sampled_from(LDH + "-"), max_size=10),
                   st.sampled_from(LDH)) | st.sampled_from(LDH)
domains = st.lists(labels, min_size=1, max_size=4).map(".".join)
# quoted-string content: printable ASCII (space and specials too) less the routing characters
qtext = st.text(st.characters(min_codepoint=32, max_codepoint=126, exclude_characters="@%!"),
                min_size=1, max_size=30)


def content_of(local: str) -> str:
    """The characters a canonical local part stands for (quotes and quoted pairs undone)."""
    if not local.startswith('"'):
        return local
    out, i = [], 1
    while i < len(local) - 1:
        if local[i] == "\\":
            i += 1
        out.append(local[i])
        i += 1
    return "".join(out)


@settings(max_examples=400)
@given(lp=dot_strings, d=domains, upper=st.booleans(), brackets=st.booleans(),
       quoted=st.booleans(), root_dot=st.booleans())
def test_dot_string_mailboxes_round_trip(lp, d, upper, brackets, quoted, root_dot):
    dom = d.upper() if upper else d
    text = (f'"{lp}"' if quoted else lp) + "@" + dom + ("." if root_dot else "")
    if brackets:
        text = f"<{text}>"
    m = mailbox(text)
    assert m.address == f"{lp}@{d}"  # local part's case kept, domain folded, quotes dropped
    assert m.key == f"{lp.lower()}@{d}"
    assert mailbox(m.address).address == m.address


@settings(max_examples=400)
@given(content=qtext, d=domains)
def test_quoted_local_parts_keep_their_content_and_stay_stable(content, d):
    text = '"' + content.replace("\\", "\\\\").replace('"', '\\"') + '"@' + d
    try:
        m = mailbox(text)
    except InvalidMailbox as e:
        assert len(text.encode()) > 64 or "octets" in str(e), (text, e)
        return
    assert content_of(m.local) == content
    assert mailbox(m.address).address == m.address
    if " " in content or '"' in content or "," in content or "(" in content:
        assert m.local.startswith('"')


unicode_atoms = st.text(st.characters(categories=("Ll", "Lu", "Lo", "Nd")), min_size=1,
                        max_size=6)


@settings(max_examples=300)
@given(atoms=st.lists(unicode_atoms | atoms, min_size=1, max_size=3),
       labels_=st.lists(unicode_atoms | labels, min_size=1, max_size=3))
def test_non_ascii_mailboxes_are_stable_and_clean(atoms, labels_):
    """SMTPUTF8 local parts stay as written; U-label domains become A-labels; either way
    the result parses to itself."""
    text = ".".join(atoms) + "@" + ".".join(labels_)
    try:
        m = mailbox(text)
    except InvalidMailbox as e:  # lengths, or a label IDNA 2008 does not allow
        assert "octets" in str(e) or "IDN" in str(e) or "domain" in str(e), (text, e)
        return
    assert m.local == ".".join(atoms)
    check_output(m)


decorations = st.sampled_from([
    "({x}){a}", "{a}({x})", "{a} ({x})", "{a},{x}@evil.example", "{x}@evil.example, {a}",
    "<{x}@evil.example>{a}", "@relay.example:{a}", "<@r1.example,@r2.example:{a}>",
    "{x}%evil.example@{d}", "evil.example!{x}@{d}", '"{x}@evil.example"@{d}', "{a};{x}@b.example",
    "{x} <{a}>", "{x}<{a}>", "{a}>", "<{a}", "<<{a}>>", "{x}@{d}@evil.example",
    '"{x}\\"@evil.example', '"{x}"{x}@{d}', "{x}\r\n@{d}", "{x}@{d}\r\nRCPT TO:<v@evil.example>",
])


@settings(max_examples=400)
@given(lp=dot_strings, d=domains, x=dot_strings, deco=decorations)
@example(lp="victim", d="evil.example", x="attacker", deco="{a}(@{x}.example)")
def test_specials_comments_routes_and_lists_are_refused(lp, d, x, deco):
    assume("%" not in x and "!" not in x)
    text = deco.format(a=f"{lp}@{d}", x=x, d=d)
    with pytest.raises(InvalidMailbox):
        mailbox(text)


BAD = {"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"}


def check_output(m) -> None:
    out = m.address
    assert len(out.encode("utf-8")) + 2 <= addresses.MAX_PATH
    assert len(m.local.encode("utf-8")) <= addresses.MAX_LOCAL
    assert len(m.domain) <= addresses.MAX_DOMAIN and m.domain.isascii()
    for ch in out:
        assert unicodedata.category(ch) not in BAD, (out, hex(ord(ch)))
        assert ch == " " or unicodedata.category(ch) != "Zs", (out, hex(ord(ch)))
        assert not 0x80 <= ord(ch) < 0xA0
    if " " in out:
        assert m.local.startswith('"') and " " not in m.domain
    assert mailbox(out).address == out


alphabet = st.sampled_from(list('ab.@"\\<>()[],;: %!-_+') + ["\r", "\n", "\t", "\x00", "\x7f",
                                                           "\x85", "\x9b", "\u2028", "\u2029",
                                                           "\u202e", "\u200b", "\ufeff",
                                                           "\u00a0", "\ue000", "é", "ü",
                                                           "Ж", "\udcff", "ｅ", "．", "ß"])


@settings(max_examples=1000)
@given(st.text(alphabet, max_size=30) | st.text(max_size=40))
@example('"a\u2028b"@x.example')
@example("a@b\u200b.example")
@example("a@[IPv6:::1%25eth0]")
def test_anything_is_refused_or_a_clean_stable_mailbox(text):
    try:
        m = mailbox(text)
    except InvalidMailbox as e:
        assert str(e)  # always says why
        return
    check_output(m)


@settings(max_examples=200)
@given(local_len=st.integers(1, 200), label_len=st.integers(1, 80), n_labels=st.integers(1, 6))
def test_length_limits(local_len, label_len, n_labels):
    local = "a" * local_len
    domain = ".".join(["b" * label_len] * n_labels)
    text = f"{local}@{domain}"
    ok = (local_len <= 64 and label_len <= 63 and len(domain) <= 255
          and len(text) + 2 <= 256)
    if ok:
        check_output(mailbox(text))
    else:
        with pytest.raises(InvalidMailbox, match="octets"):
            mailbox(text)


# --- the review's reproductions (finding 2), one reason each ------------------------------

@pytest.mark.parametrize("text,why", [
    ("v1@evil.example,v2@evil2.example,v3@evil3.example,x@attacker.example", "list"),
    ("(c)mailer-daemon@evil.example", "comment"),
    ("<victim@evil.example>x@attacker.example", "angle brackets"),
    ("victim@evil.example(@attacker.example)", "comment"),
    ("(c)victim@evil.example", "comment"),
    ("@a,@b:x@y", "source route"),
    ("<@relay.example:x@y.example>", "source route"),
    ("victim%evil.example@lab.test", "percent"),
    ("evil.example!victim@lab.test", "bang path"),
    ('"victim@evil.example"@lab.test', "route"),
    ('"victim%evil.example"@lab.test', "percent"),
    ("MAILER-DAEMON", "no @domain"),
    ("a b@example.org", "outside quotes"),
    ("a..b@example.org", "'.'"),
    ("a@exa_mple.org", "in the domain"),
    ("a@-x.example", "'-'"),
    ("a@[300.1.1.1]", "neither IPv4 nor IPv6"),
    ("a@[IPv6:zz::1]", "IPv6"),
    ('""@example.org', "empty local part"),
    ("a@", "no domain"),
])
def test_the_reviews_decorated_senders_are_refused_with_a_reason(text, why):
    with pytest.raises(InvalidMailbox, match=why):
        mailbox(text)


@pytest.mark.parametrize("text,canonical", [
    ("Bob.Smith@Example.ORG", "Bob.Smith@example.org"),
    ("<bob@example.org>", "bob@example.org"),
    ('"bob"@example.org', "bob@example.org"),
    ('"john doe"@example.org', '"john doe"@example.org'),
    ('"a\\"b"@example.org', '"a\\"b"@example.org'),
    ('"a\\b"@example.org', "ab@example.org"),  # a needless quoted pair is the character
    ("user@[192.0.2.010]", "user@[192.0.2.10]"),
    ("user@[ipv6:2001:DB8:0:0::1]", "user@[IPv6:2001:db8::1]"),
    ("bob@example.org.", "bob@example.org"),
    ("  bob@example.org\t", "bob@example.org"),
])
def test_canonical_forms(text, canonical):
    assert mailbox(text).address == canonical


# --- IDN domains (item 13) ----------------------------------------------------------------

@pytest.mark.parametrize("text,canonical", [
    ("joerg@bücher.example", "joerg@xn--bcher-kva.example"),
    ("Joerg@BÜCHER.Example", "Joerg@xn--bcher-kva.example"),
    ("joerg@xn--bcher-kva.example", "joerg@xn--bcher-kva.example"),
    ("ana@ｅｘａｍｐｌｅ．com", "ana@example.com"),  # UTS #46 maps full-width forms
    ("ana@faß.de", "ana@xn--fa-hia.de"),  # IDNA 2008: no transitional ß -> ss
    ("jörg@bücher.example", "jörg@xn--bcher-kva.example"),  # local part kept (SMTPUTF8)
])
def test_idn_domains_become_a_labels(text, canonical):
    assert mailbox(text).address == canonical


@pytest.mark.parametrize("text", ["a@☃.example", "a@bü-.example", "a@b\u200dü.example",
                                  "a@" + "ü" * 70 + ".example"])
def test_invalid_idn_domains_are_refused(text):
    with pytest.raises(InvalidMailbox):
        mailbox(text)


# --- in the envelope (items 6, 7) -----------------------------------------------------------

def test_the_envelope_keeps_the_canonical_form_and_folds_only_the_key():
    e = Envelope("<Bob.Smith@Example.ORG>", "ana@example.com")
    assert (e.sender, e.reply_to, e.sender_problem) == (
        "bob.smith@example.org", "Bob.Smith@example.org", "")
    assert not e.null_sender


@pytest.mark.parametrize("sender", ["", "<>", " <> "])
def test_the_null_sender_has_no_problem(sender):
    e = Envelope(sender, "ana@example.com")
    assert e.null_sender and e.sender_problem == "" and e.reply_to == ""


def test_invalid_utf8_mixed_with_valid_non_ascii_is_a_clean_refusal():
    """Item 6: argv bytes b'\\xc3\\xa9\\xff@example.org' arrive as 'é' plus a lone surrogate."""
    raw = b"\xc3\xa9\xff@example.org".decode("utf-8", "surrogateescape")
    e = Envelope(raw, "ana@example.com")
    assert e.null_sender and "not UTF-8" in e.sender_problem
    assert e.sender_raw == "é\\xff@example.org"
    e.sender_raw.encode("utf-8")  # loggable, JSON-able


@pytest.mark.parametrize("sender", ["a" * 990 + "@example.org", "a\u2028b@example.org",
                                    "a\x85b@example.org", "a\x9b2Jb@example.org",
                                    "a\u202eb@example.org", "a\u2029b@example.org",
                                    "a\ufeffb@example.org", "a@example.org\u200b"])
def test_item7_long_and_unicode_control_senders_get_no_reply_address(sender):
    e = Envelope(sender, "ana@example.com")
    assert e.null_sender and e.reply_to == "" and e.sender_problem
    assert len(e.sender_shown) <= 103
