"""autoresponder.audience (internal/external senders) and autoresponder.groupmail (mail that came
through a group)."""

import string

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autoresponder.audience import (
    EXTERNAL,
    INTERNAL,
    Audience,
    classify,
    normalize_domain,
    normalize_pattern,
)
from autoresponder.groupmail import ENVELOPE_ONLY, GROUP, PERSONAL, addressing, group_mail_reason

LABEL = st.text(string.ascii_lowercase + string.digits, min_size=1, max_size=10).filter(
    lambda s: not s.startswith("xn"))
DOMAIN = st.lists(LABEL, min_size=2, max_size=4).map(".".join)
LOCAL = st.text(string.ascii_lowercase + string.digits + "._-", min_size=1, max_size=12).filter(
    lambda s: s[0] not in "._-" and s[-1] not in "._-" and ".." not in s)
# letters whose IDNA 2003 and 2008 encodings agree, so the stdlib codec can check our A-labels
ACCENTED = st.text("abcdeäöüçãõáéíóúñåøæ", min_size=1, max_size=10).filter(
    lambda s: not s.isascii())


def shout(draw, text: str) -> str:
    """The same text with random upper case (domains and our local parts are case-blind)."""
    flags = draw(st.lists(st.booleans(), min_size=len(text), max_size=len(text)))
    return "".join(c.upper() if f else c for c, f in zip(text, flags))


# --- audience --------------------------------------------------------------------------------

@settings(max_examples=100, deadline=None)
@given(st.data(), LOCAL, DOMAIN, LOCAL)
def test_own_domain_is_internal_in_any_case(data, local, domain, sender_local):
    aud = Audience([f"ana@{domain}"])
    sender = shout(data.draw, f"{sender_local}@{domain}")
    assert aud.classify(sender) == INTERNAL
    assert aud.classify(f"<{sender}>") == INTERNAL
    assert aud.classify(f"{sender_local}@{domain}.") == INTERNAL  # trailing dot


@settings(max_examples=100, deadline=None)
@given(LOCAL, DOMAIN, DOMAIN, LABEL)
def test_exact_entry_does_not_cover_subdomains_and_wildcard_covers_only_them(
        local, own, other, sub):
    if other == own or other.endswith("." + own):
        return
    exact = Audience(["ana@" + own], config_domains=[other])
    wild = Audience(["ana@" + own], config_domains=["." + other])
    star = Audience(["ana@" + own], account_domains=["*." + other])
    assert exact.classify(f"{local}@{other}") == INTERNAL
    assert exact.classify(f"{local}@{sub}.{other}") == EXTERNAL
    assert wild.classify(f"{local}@{other}") == EXTERNAL
    assert wild.classify(f"{local}@{sub}.{other}") == INTERNAL
    assert star.classify(f"{local}@{sub}.{other}") == INTERNAL
    assert star.why_internal(f"{local}@{sub}.{other}") == "." + other
    # a longer name that merely ends with the same letters is somebody else
    assert wild.classify(f"{local}@{sub}{other}") == EXTERNAL
    assert exact.classify(f"{local}@{sub}{other}") == EXTERNAL


@settings(max_examples=100, deadline=None)
@given(LOCAL, ACCENTED, DOMAIN)
def test_unicode_and_punycode_spellings_are_one_domain(local, label, rest):
    unicode_domain = f"{label}.{rest}"
    a_label = unicode_domain.encode("idna").decode("ascii")  # stdlib codec, independent
    assert normalize_domain(unicode_domain) == a_label
    assert normalize_domain(unicode_domain.upper()) == a_label
    aud = Audience(["ana@example.org"], config_domains=[unicode_domain.upper()])
    assert aud.classify(f"{local}@{a_label}") == INTERNAL
    assert aud.classify(f"{local}@{a_label.upper()}") == INTERNAL
    aud = Audience(["ana@example.org"], config_domains=["." + a_label])
    assert aud.classify(f"{local}@www.{unicode_domain}") == INTERNAL


def test_idna_2008_keeps_sharp_s_and_maps_wide_forms():
    assert normalize_domain("straße.de") == "xn--strae-oqa.de"  # not strasse.de (IDNA 2003)
    assert normalize_domain("ＥＸＡＭＰＬＥ。ｃｏｍ") == "example.com"
    assert classify("ana@xn--strae-oqa.de", ["bia@example.pt"], ["Straße.DE"]) == INTERNAL
    assert classify("ana@strasse.de", ["bia@example.pt"], ["Straße.DE"]) == EXTERNAL


def test_alias_domains_count_as_own():
    own = ["ana@example.pt", "ana.silva@brand.example"]
    assert classify("carlos@brand.example", own) == INTERNAL
    assert classify("carlos@example.pt", own) == INTERNAL
    assert classify("carlos@mail.example.pt", own) == EXTERNAL  # subdomains need .example.pt
    assert classify("carlos@mail.example.pt", own, [".example.pt"]) == INTERNAL


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=300))
def test_any_sender_text_is_classified_without_error(sender):
    aud = Audience(["ana@example.pt"], [".example.pt", "parceiro.pt"])
    assert aud.classify(sender) in (INTERNAL, EXTERNAL)


@pytest.mark.parametrize("sender", ["", "<>", "MAILER-DAEMON", "ana", "@example.pt",
                                    "ana@", "ana@exa mple.pt", "ana@example..pt",
                                    "ana@.example.pt", "x" * 2000 + "@example.pt"])
def test_unreadable_senders_are_external(sender):
    assert classify(sender, ["ana@example.pt"], [".example.pt"]) == EXTERNAL


@pytest.mark.parametrize("entry", ["", ".", "*", "ana@example.pt", "*.*.example.pt",
                                   "exa mple.pt", "example.pt/24", "example..pt"])
def test_bad_internal_domain_entries_are_refused_by_name(entry):
    with pytest.raises(ValueError) as err:
        normalize_pattern(entry)
    assert repr(entry) in str(err.value)


def test_pattern_forms():
    assert normalize_pattern(" Example.PT. ") == "example.pt"
    assert normalize_pattern(".example.pt") == ".example.pt"
    assert normalize_pattern("*.Example.pt") == ".example.pt"


# --- group mail ------------------------------------------------------------------------------

OWN = ["ana@example.pt", "ana.silva@example.pt", "direccao@example.pt"]
OTHERS = st.tuples(LOCAL, DOMAIN).map(lambda t: f"{t[0]}@{t[1]}").filter(
    lambda a: a not in OWN)
FIELDS = ["To", "Cc", "Bcc", "Resent-To", "Resent-Cc", "Resent-Bcc"]


@st.composite
def recipient_header(draw, addrs):
    """A header value listing `addrs`, in the shapes mail clients write."""
    parts = []
    for a in addrs:
        shape = draw(st.integers(0, 3))
        if shape == 0:
            parts.append(a)
        elif shape == 1:
            parts.append(f"<{a}>")
        elif shape == 2:
            parts.append(f"{draw(st.sampled_from(['Ana', 'Equipa Comercial', 'X']))} <{a}>")
        else:
            parts.append(f'"Silva, Ana" <{a}>')
    if draw(st.booleans()) and parts:
        return f"equipa: {', '.join(parts)};"  # group syntax
    return ", ".join(parts)


@settings(max_examples=200, deadline=None)
@given(st.data(), st.lists(OTHERS, max_size=4), st.sampled_from(FIELDS),
       st.sampled_from(OWN), st.booleans(), st.one_of(st.just(""), OTHERS, st.sampled_from(OWN)))
def test_addressing_matches_its_definition(data, others, field, mine, include_mine, original):
    listed = list(others)
    if include_mine:
        variant = shout(data.draw, mine)
        if data.draw(st.booleans()):  # ana+ferias@example.pt is ana@example.pt
            local, _, domain = variant.partition("@")
            variant = f"{local}+ferias@{domain}"
        listed.insert(data.draw(st.integers(0, len(listed))), variant)
    headers = [("From", "carlos@example.net"), ("Reply-To", OWN[0]),  # never count
               ("Delivered-To", OWN[0]),
               (data.draw(st.sampled_from([field, field.lower(), field.upper()])),
                data.draw(recipient_header(listed)))]
    got = addressing(headers, original, OWN)
    if include_mine:
        assert got == PERSONAL
    elif original in OWN:
        assert got == ENVELOPE_ONLY
    else:
        assert got == GROUP
    assert (group_mail_reason(headers, original, OWN) is None) == (got != GROUP)


def test_group_mail_examples():
    team = [("To", "Equipa <equipa@example.pt>"), ("Cc", "rui@example.pt")]
    assert addressing(team, "equipa@example.pt", OWN) == GROUP
    reason = group_mail_reason(team, "equipa@example.pt", OWN)
    assert "it was sent to equipa@example.pt" in reason and "group mail" in reason
    # Bcc'd to the account directly: the envelope says so
    assert addressing(team, "Ana@Example.PT", OWN) == ENVELOPE_ONLY
    assert addressing(team, "ana+x@example.pt", OWN) == ENVELOPE_ONLY
    # resent to the account by a colleague
    assert addressing(team + [("Resent-To", "ana.silva@example.pt")], "", OWN) == PERSONAL
    # an address in a display name or comment is not a recipient
    fake = [("To", '"ana@example.pt" <equipa@example.pt>'),
            ("Cc", "rui@example.pt (cc ana@example.pt)")]
    assert addressing(fake, "", OWN) == GROUP
    # a quoted local part the quick scan cannot read is found by the exact parse
    quoted = [("To", '"ana silva"@example.pt')]
    assert addressing(quoted, "", ['"ana silva"@example.pt']) == PERSONAL
    # no recipient headers at all and no original recipient
    assert addressing([], "", OWN) == GROUP
