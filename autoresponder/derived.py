"""Values derived from an account and the config, each computed in exactly one place.

The effective reply interval, the default subject of a reply and the stored UTC time format
used to be recomputed wherever they were needed; a change to one of them now has one home.
This module imports only ``time``: it is on the per-message path.
"""

import time

ISO_FMT = "%Y-%m-%dT%H:%M:%SZ"  # how times are stored (they sort as text) and shown in JSON


def iso_utc(t: float) -> str:
    """A Unix time as the stored UTC text, ``2026-12-24T18:00:00Z``."""
    return time.strftime(ISO_FMT, time.gmtime(t))


def effective_interval(account, config) -> int:
    """One reply per sender per this many seconds: the account's own interval, else the
    config's."""
    own = getattr(account, "interval_seconds", None)
    return int(own) if own is not None else int(config.interval)


_NO_SUBJECT = {"pt": "Resposta automática", "en": "Automated reply"}


def default_subject(original_subject: str, language: str) -> str:
    """The subject of a reply when neither the account nor its template sets one:
    ``Auto: <original subject>`` (RFC 3834 §3.1.5), or a plain phrase in the reply's language
    when the original had none."""
    if original_subject:
        return "Auto: " + original_subject
    return _NO_SUBJECT.get(language, _NO_SUBJECT["en"])
