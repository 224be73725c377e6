"""The warm state of one `serve` process and the one call that runs a copy through it.

`State` holds what a forked `deliver` would load per message: the config, the log, and, per
worker thread, an open database connection. `process()` is the single place where `serve`
meets the delivery line: everything else in the package speaks LMTP, sockets and signals.
A reload builds a new State; threads notice the new generation and reopen their connection.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass


@dataclass(frozen=True)
class Verdict:
    """What became of one copy: the outcome's name and kind (reply/skip/defer/config), the
    rule that decided, and a short detail for the LMTP answer."""

    name: str
    kind: str
    rule: str = ""
    detail: str = ""


_thread = threading.local()  # (state, database) of the last message this thread decided


class State:
    """Config and log of one config generation; database connections per thread."""

    def __init__(self, config):
        from autoresponder.logs import Log

        self.config = config
        self.log = Log(config)

    def database(self):
        """This thread's database handle for this state; one of an older state is closed."""
        entry = getattr(_thread, "entry", None)
        if entry is not None and entry[0] is self:
            return entry[1]
        if entry is not None:
            try:
                entry[1].close()
            except Exception:
                pass
        from autoresponder.deliver import Database

        db = Database(self.config)
        _thread.entry = (self, db)
        return db


def process(state: State, sender: str, recipient: str, original: str, message) -> Verdict:
    """Run one copy through the delivery line; never raises."""
    from autoresponder import deliver
    from autoresponder.envelope import Envelope

    config = state.config
    envelope = Envelope(sender, recipient, original, config.autoreply_domain,
                        config.recipient_delimiter)
    now = time.time()
    try:
        code = deliver._decide_and_reply(config, state.log, envelope, message, now,
                                         state.database())
    except deliver._TempFail as e:
        if deliver._too_old(config, message, now):
            return Verdict("gave-up", "skip", "gave-up", str(e))
        state.log.write(deliver.log_fields(envelope, message,
                                           deliver.skip("tempfail", str(e)),
                                           getattr(e, "account", None)), "warning")
        return Verdict("tempfail", "defer", "tempfail", str(e))
    except Exception as e:  # the last line of defence: a bad message is a decision
        import traceback

        state.log.write({"account": recipient or "-", "sender": sender or "<>",
                         "decision": "skip", "rule": "internal-error",
                         "reason": " | ".join(traceback.format_exc().strip().splitlines()[-3:])},
                        "error")
        return Verdict("internal-error", "skip", "internal-error", f"{type(e).__name__}")
    if code == 0:
        return Verdict("decided", "skip")
    return Verdict("tempfail", "defer", "tempfail", "")


def lmtp_reply(verdict: Verdict) -> "tuple[int, str]":
    """LMTP answer for one recipient: 250 for a reply or a skip, 451 for a retry, never 5xx."""
    if verdict.kind in ("reply", "skip"):
        return 250, f"2.0.0 {verdict.name}"
    if verdict.kind == "config":
        return 451, "4.3.5 configuration error, message deferred"
    return 451, "4.3.0 " + (verdict.detail or "temporary failure")[:200]
