"""The audience rule: an account that answers colleagues only (``--external none``) skips
outsiders; colleagues (the account's own domains, its aliases' domains, ``internal_domains``
of the config and of the account) get their reply. Hits and near misses, as corpus-shaped
personal messages."""

from __future__ import annotations

import pytest

from tests.rules.support import ACCOUNT, assert_reply, assert_skip, mail


@pytest.fixture
def colleagues_only(world):
    world.enable(external="none", internal_domains=".example.net,partner.example")
    return world


@pytest.mark.parametrize("sender", [
    "bob@example.org",                 # another organisation
    "ana@example.com.evil.example",    # the account's domain as a prefix
    "eve@notexample.com",              # as a suffix
    "eve@example.net",                 # .example.net is its subdomains only
    "carl@sub.partner.example",        # partner.example is exact only
])
def test_outsiders_get_no_reply(colleagues_only, sender):
    d = colleagues_only.decide(mail(frm=f"Someone <{sender}>"), sender=sender)
    assert_skip(d, "audience", sender, "external", "--external none")


@pytest.mark.parametrize("sender", [
    "joao@example.com",                # the account's own domain
    "Joao@EXAMPLE.COM",                # any case
    "rita@lisboa.example.net",         # a subdomain of .example.net
    "luis@partner.example",            # exact internal domain
])
def test_colleagues_get_their_reply(colleagues_only, sender):
    d = colleagues_only.decide(mail(frm=f"Colleague <{sender}>"), sender=sender)
    assert_reply(d)


def test_config_internal_domains_count(world):
    world.configure(top='internal_domains = ["example.org"]')
    world.enable(external="none")
    assert_reply(world.decide(mail()))  # bob@example.org: internal by the config
    d = world.decide(mail(frm="X <x@example.info>"), sender="x@example.info")
    assert_skip(d, "audience", "x@example.info")


def test_alias_domain_is_internal(world):
    world.enable(aliases=["ana@example.pt"], external="none")
    assert_reply(world.decide(mail(to=f"Ana <{ACCOUNT}>", frm="Rui <rui@example.pt>"),
                              sender="rui@example.pt"))


def test_answering_outsiders_is_the_default(world):
    """Without --external none nobody is skipped for being an outsider."""
    d = world.decide(mail(frm="Someone <someone@elsewhere.example>"),
                     sender="someone@elsewhere.example")
    assert_reply(d)


def test_the_skip_is_an_outcome_named_audience():
    from autoresponder import outcomes

    o = outcomes.for_rule("audience")
    assert (o.name, o.kind) == ("audience", "skip")
    assert o in outcomes.registry()


def test_explain_names_the_rule(colleagues_only):
    d = colleagues_only.explain(mail(frm="Bob <bob@elsewhere.example>"),
                                sender="bob@elsewhere.example")
    assert (d["decision"], d["rule"], d["exit_code"]) == ("skip", "audience", 0)
    assert any(c["rule"] == "audience" and c["result"] == "skip" for c in d["checks"])
