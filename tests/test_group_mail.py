"""Group mail and the audience split on real-shaped messages: what a distribution list, a
group alias, a Bcc and a team thread look like when they reach a member on vacation, with
the envelope's original recipient as each MTA path gives it. Decided by the real rules on a
real SQLite file (tests/rules/support.World)."""

from __future__ import annotations

import pytest

from tests.rules.support import ACCOUNT, ALIAS, World, assert_reply, assert_skip, b


@pytest.fixture
def world(tmp_path, monkeypatch) -> World:
    monkeypatch.setenv("AUTORESPONDER_CACHE_DIR", str(tmp_path / "cache"))
    w = World(tmp_path)
    w.configure(top='autoreply_domain = "autoreply.example.com"')
    w.enable(aliases=[ALIAS], message="Back on Monday.")
    return w


EXCHANGE_DL = b("""From: "Costa, Marta" <marta.costa@example.org>
To: All Staff <allstaff@example.com>
Subject: Fire drill on Thursday
Date: Mon, 5 Apr 2027 09:12:44 +0000
Message-ID: <DB9PR01MB1234.eurprd01.prod.exchangelabs.com@example.org>
Thread-Topic: Fire drill on Thursday
Accept-Language: pt-PT, en-US
Content-Type: text/plain; charset="iso-8859-1"
MIME-Version: 1.0

Please leave the building by the east stairs.
""")

TEAM_THREAD_CC = b("""From: Rui Santos <rui@example.org>
To: equipa@example.com
Cc: "Ana Silva" <ana+projects@example.com>
Subject: Re: quarterly numbers
Date: Mon, 5 Apr 2027 10:00:00 +0100
Message-ID: <CAB1234xyz@mail.gmail.com>
In-Reply-To: <CAB1233xyz@mail.gmail.com>
Content-Type: text/plain; charset=UTF-8

Ana, can you check the second table?
""")

LOOKALIKE_DISPLAY_NAME = b("""From: Rui Santos <rui@example.org>
To: "ana@example.com" <equipa@example.com>
Subject: lunch
Date: Mon, 5 Apr 2027 10:00:00 +0100
Message-ID: <lookalike@example.org>

Lunch at one?
""")

UNDISCLOSED = b("""From: Rui Santos <rui@example.org>
To: undisclosed-recipients:;
Subject: invitation
Date: Mon, 5 Apr 2027 10:00:00 +0100
Message-ID: <bcc@example.org>

You are invited.
""")

RESENT = b("""Resent-From: secretaria@example.org
Resent-To: ana.silva@example.com
From: Rui Santos <rui@example.org>
To: secretaria@example.org
Subject: contract
Date: Mon, 5 Apr 2027 10:00:00 +0100
Message-ID: <resent@example.org>

The contract, as promised.
""")


@pytest.mark.parametrize("message, original, shape", [
    (EXCHANGE_DL, "allstaff@example.com", "group"),
    (EXCHANGE_DL, "", "group"),                       # the MTA did not say
    (LOOKALIKE_DISPLAY_NAME, "equipa@example.com", "group"),
    (UNDISCLOSED, ACCOUNT, "bcc"),                    # a direct Bcc
    (UNDISCLOSED, "ana#example.com@autoreply.example.com", "bcc"),  # Postfix bcc-map copy
])
def test_mail_that_does_not_name_the_account_gets_no_reply(world, message, original, shape):
    recipient = original if "#" in original else ACCOUNT  # the copy is also the recipient
    d = world.decide(message, sender="rui@example.org", recipient=recipient,
                     original=original)
    if shape == "group":
        assert_skip(d, "not-addressed", ACCOUNT, ALIAS, "group or list address")
    else:
        assert_skip(d, "not-addressed", ACCOUNT, "a Bcc copy")


@pytest.mark.parametrize("message, original", [
    (TEAM_THREAD_CC, "equipa@example.com"),           # +detail in Cc: personal
    (RESENT, "ana.silva@example.com"),                # Resent-To the alias
])
def test_mail_that_names_the_account_is_personal(world, message, original):
    assert_reply(world.decide(message, sender="rui@example.org", original=original))


def test_x_original_to_stands_in_for_a_silent_envelope(world):
    msg = b"X-Original-To: allstaff@example.com\n" + EXCHANGE_DL
    assert_skip(world.decide(msg, sender="marta.costa@example.org"), "not-addressed",
                "allstaff@example.com")


@pytest.mark.parametrize("message", [EXCHANGE_DL, UNDISCLOSED, LOOKALIKE_DISPLAY_NAME])
def test_answer_group_mail_answers_them(world, message):
    world.enable(answer_group_mail=True)
    assert_reply(world.decide(message, sender="rui@example.org",
                              original="allstaff@example.com"))


def test_config_default_and_the_account_overriding_it(world):
    world.configure(rules="answer_group_mail = true",
                    top='autoreply_domain = "autoreply.example.com"')
    assert_reply(world.decide(EXCHANGE_DL, sender="marta.costa@example.org",
                              original="allstaff@example.com"))
    world.enable(answer_group_mail=False)
    assert_skip(world.decide(EXCHANGE_DL, sender="marta.costa@example.org",
                             original="allstaff@example.com"), "not-addressed")


def test_colleagues_only_on_a_team_thread(world):
    """--external none: the outside partner on the thread gets nothing, the colleague does."""
    world.enable(external="none")
    assert_skip(world.decide(TEAM_THREAD_CC, sender="rui@example.org",
                             original="equipa@example.com"), "audience", "rui@example.org")
    assert_reply(world.decide(TEAM_THREAD_CC.replace(b"rui@example.org", b"rui@example.com"),
                              sender="rui@example.com", original="equipa@example.com"))
