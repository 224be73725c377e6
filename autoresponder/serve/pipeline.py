"""The warm state of one `serve` process and the one call that runs a copy through it.

`State` holds what a forked `deliver` would load per message: the config and its log, and,
per worker thread, a store (its database connection stays open) and a transport (the SMTP
transport keeps its connection between replies). `process()` is the single place where
`serve` meets the delivery line (`line.Line.run`, the same as `deliver`'s); everything else
in the package speaks LMTP, sockets and signals. A reload builds a new State; each thread
notices the new one at its next message, closes its old store and transport, opens new ones.
"""

from __future__ import annotations

import threading
import time

_thread = threading.local()  # (state, Line) of the last message this thread decided


class State:
    """Config and log of one config generation; store and transport per thread."""

    def __init__(self, config):
        from autoresponder.logs import Log

        self.config = config
        self.log = Log(config)
        self._lines: list = []
        self._lock = threading.Lock()

    def line(self):
        """This thread's Line for this state; an older state's store/transport are closed."""
        entry = getattr(_thread, "entry", None)
        if entry is not None and entry[0] is self:
            return entry[1]
        if entry is not None:
            _close(entry[1])
        from autoresponder.line import Line
        from autoresponder.store import open_store
        from autoresponder.transports import open_transport

        line = Line(self.config, open_store(self.config), open_transport(self.config),
                    self.log)
        _thread.entry = (self, line)
        with self._lock:
            self._lines.append(line)
        return line

    def close_transports(self) -> None:
        """At shutdown, once no message is in flight: say QUIT on every kept connection
        (the stores' connections belong to their threads and end with the process)."""
        with self._lock:
            lines, self._lines = self._lines, []
        for line in lines:
            try:
                line.transport.close()
            except Exception:
                pass


def _close(line) -> None:
    for part in (line.transport, line.store):
        try:
            part.close()
        except Exception:
            pass


def close_thread() -> None:
    """Close this thread's store and transport (a worker shutting down)."""
    entry = getattr(_thread, "entry", None)
    if entry is not None:
        _thread.entry = None
        _close(entry[1])


class NeedsThread(Exception):
    """The line reached for the store or the transport: decide this copy in a thread."""


class _NoIO:
    """A stand-in store and transport whose every method raises NeedsThread, so that a line
    run on the event loop stops before its first I/O, having written and logged nothing."""

    def __getattr__(self, name):
        def refuse(*args, **kwargs):
            raise NeedsThread(name)
        return refuse


_NO_IO = _NoIO()


def try_inline(state: State, sender: str, recipient: str, original: str, message):
    """The copy's Result when the header rules alone decide it (bulk, lists, bounces, auto
    replies: most copies), computed on the event loop without a thread round trip; None when
    the line needs the database or the transport (then `process` runs it in a thread)."""
    from autoresponder.envelope import Envelope
    from autoresponder.line import Line

    config = state.config
    envelope = Envelope(sender, recipient, original, config.autoreply_domain,
                        config.recipient_delimiter)
    try:
        return Line(config, _NO_IO, _NO_IO, state.log).run(envelope, message, time.time())
    except Exception:  # NeedsThread, or anything else: the thread path decides and logs
        return None


def process(state: State, sender: str, recipient: str, original: str, message):
    """Run one copy through the delivery line: a line.Result. Never raises: an error in the
    line itself is an internal-error outcome (logged; the copy is delivered, not bounced)."""
    from autoresponder.envelope import Envelope

    config = state.config
    envelope = Envelope(sender, recipient, original, config.autoreply_domain,
                        config.recipient_delimiter)
    try:
        return state.line().run(envelope, message, time.time())
    except Exception:
        import traceback

        from autoresponder import outcomes
        from autoresponder.decision import skip
        from autoresponder.line import Result, log_fields

        why = " | ".join(traceback.format_exc().strip().splitlines()[-3:])
        decision = skip("internal-error", why)
        state.log.write(log_fields(envelope, message, decision), "error")
        close_thread()  # a store or transport in an unknown state is not reused
        return Result(outcomes.INTERNAL_ERROR, decision, detail=why)
