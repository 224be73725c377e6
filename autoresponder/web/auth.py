"""Who may sign in to the pages: the adapter between the pages and the HTTP API's checks
(the mail password, checked against the mail server; admin tokens), so the pages and the
API authorize alike."""

from __future__ import annotations


class Throttled(Exception):
    """Too many failed attempts from this client or for this account: try again later."""
