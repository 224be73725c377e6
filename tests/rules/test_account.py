"""The account rule: its hits and its near misses."""

from __future__ import annotations

from datetime import datetime, timezone

from tests.rules.support import ACCOUNT, ALIAS, assert_reply, assert_skip, mail


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
