"""A long-lived SQLite store (one per ``serve`` thread) must not remember that the database
was missing, or that opening it failed: the admin's first ``vacation enable`` after the
service started, and the end of a passing fault, are seen on the next message."""

from __future__ import annotations

import os

import pytest

from autoresponder.store.base import StoreError
from autoresponder.store.sqlite import SqliteStore

T0 = 1_800_000_000.0
ANA = "ana@example.com"


def _enable(path: str) -> None:
    admin = SqliteStore(path, create=True)
    try:
        admin.enable(ANA, {"subject": "Away"}, None, T0)
    finally:
        admin.close()


def test_a_database_made_after_the_first_lookup_is_seen(tmp_path):
    path = str(tmp_path / "db.sqlite")
    store = SqliteStore(path)
    assert store.find_account(ANA) is None
    assert store.notice() == f"no database file at {path}"
    _enable(path)
    found = store.find_account(ANA)
    assert found is not None and found.subject == "Away"
    assert store.notice() is None
    store.close()


def test_a_failed_open_is_tried_again(tmp_path):
    blocker = tmp_path / "state"
    blocker.write_text("a file where the directory should be")  # ENOTDIR, even for root
    path = str(blocker / "db.sqlite")
    store = SqliteStore(path)
    with pytest.raises(StoreError):
        store.find_account(ANA)
    with pytest.raises(StoreError):  # still failing: still an error, never "no accounts"
        store.find_account(ANA)
    os.unlink(blocker)
    blocker.mkdir()
    _enable(path)
    assert store.find_account(ANA) is not None
    store.close()
