"""The outcome -> LMTP answer mapping (outcomes.lmtp_reply) and the session's lenient address
parsing, without a server: every outcome maps to 250 or 451, never 5xx, whatever the detail."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from autoresponder import outcomes
from autoresponder.relay import xtext
from autoresponder.serve.lmtp import _address_and_params, _decode_orcpt, _never_5xx


def test_every_outcome_has_a_250_or_451_answer():
    for o in outcomes.registry():
        code, text = outcomes.lmtp_reply(o, "why")
        if o.kind in ("reply", "skip"):
            assert (code, text) == (250, f"2.0.0 {o.name}")
        else:
            assert code == 451 and text.startswith("4.3.")
    assert outcomes.lmtp_reply(outcomes.CONFIG_ERROR)[1].startswith("4.3.5")
    assert outcomes.exit_code(outcomes.TEMPFAIL) == outcomes.Exit.TEMPFAIL  # its neighbour


@given(st.sampled_from(outcomes.registry()), st.text(max_size=500))
def test_the_answer_is_one_printable_line_whatever_the_detail(outcome, detail):
    code, text = outcomes.lmtp_reply(outcome, detail)
    assert code in (250, 451)
    assert all(" " <= c <= "~" for c in text) and len(text) <= 240


@given(st.text(max_size=200))
def test_no_5xx_ever_leaves_push(status):
    out = _never_5xx("5" + status)
    assert out.startswith("451 4.")
    assert _never_5xx("250 OK") == "250 OK"
    assert _never_5xx("550 5.1.1 no such user") == "451 4.1.1 no such user"


def test_lenient_envelope_parsing():
    assert _address_and_params("FROM:<>", "FROM:") == ("", [])
    assert _address_and_params("from:<a@b> BODY=8BITMIME SIZE=12", "FROM:") == (
        "a@b", ["BODY=8BITMIME", "SIZE=12"])
    assert _address_and_params('TO:<"x y"@b>', "TO:") == ('"x y"@b', [])
    assert _address_and_params("TO:<@r1,@r2:u@d>", "TO:") == ("u@d", [])
    assert _address_and_params("TO:bare@d", "TO:") == ("bare@d", [])
    assert _address_and_params("TO:<unclosed@d", "TO:") == ("unclosed@d", [])
    assert _address_and_params("garbage", "TO:") == (None, [])
    assert _address_and_params(None, "TO:") == (None, [])


@given(st.text(max_size=60))
def test_orcpt_round_trips_through_the_relays_xtext(address):
    assert _decode_orcpt("rfc822;" + xtext(address)) == address


def test_header_skips_are_decided_inline_and_the_rest_goes_to_a_thread(agent):
    """try_inline decides bulk mail on the event loop and logs it once; a personal message
    needs the database, so it returns None having logged nothing (the thread logs it)."""
    from autoresponder import config as config_mod
    from autoresponder.message import from_bytes
    from autoresponder.serve import pipeline
    from tests.conftest import personal

    state = pipeline.State(config_mod.load(str(agent.config)))
    bulk = from_bytes(personal(extra="Precedence: bulk\nList-Id: <news.example.org>\n"))
    got = pipeline.try_inline(state, "news@example.org", "ana@example.com", "", bulk)
    assert got is not None and got.outcome.kind == "skip"
    assert len(agent.log_lines()) == 1
    mine = from_bytes(personal())
    assert pipeline.try_inline(state, "bob@example.org", "ana@example.com", "", mine) is None
    assert len(agent.log_lines()) == 1
