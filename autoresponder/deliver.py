"""``autoresponder deliver``: the MTA's entry point, one process per message.

Read the arguments, the config and the message, then run the delivery line
(``autoresponder.line``: rules -> claim -> render -> send -> record) with the configured
store and transport, and exit with the code of its outcome (``outcomes.exit_code``): 0
replied or skipped, whatever the input; 75 only when a retry is safe and useful (transport
down or 4xx, database locked or unreachable, another delivery holding the claim), after
releasing the claim; 78 for a bad config or bad arguments, except under Postfix, which
bounces 78: there 75. Nothing else, ever: Postfix bounces the message on other codes, and a
bounce of a copy made for the auto-responder is backscatter.

This module is on the per-message path: it imports nothing heavy at module level. Jinja2, the
email package, smtplib and flufl.bounce load only on the paths that need them.
"""

import time

from autoresponder import outcomes
from autoresponder.line import Line

_OPTS = {"--sender": "sender", "-f": "sender", "--recipient": "recipient", "-r": "recipient",
         "--original-recipient": "original", "-o": "original"}
_HELP = ("-h", "--help")  # help is `deliver --help` alone (cli.py); in an MTA's argv, an error


class UsageError(Exception):
    pass


def parse_args(argv: "list[str]") -> dict:
    """The envelope flags, parsed without argparse (which costs more than a skip may)."""
    out: "dict[str, str | None]" = {"sender": None, "recipient": None, "original": None}
    positional = []
    i = 0
    while i < len(argv):
        a = argv[i]
        if a == "--":
            positional.extend(argv[i + 1:])
            break
        name, eq, value = a.partition("=")
        if name in _OPTS and name.startswith("--") and eq:
            out[_OPTS[name]] = value
        elif a in _OPTS:
            if i + 1 >= len(argv) or argv[i + 1] in _HELP:
                raise UsageError(f"option {a} needs a value" +
                                 (f", not {argv[i + 1]}" if i + 1 < len(argv) else ""))
            out[_OPTS[a]] = argv[i + 1]
            i += 1
        elif a.startswith("-") and a != "-":
            raise UsageError(f"unknown option {a!r}")
        else:
            positional.append(a)
        i += 1
    if positional:
        if len(positional) > 1 or out["recipient"] is not None:
            raise UsageError(f"unexpected arguments {positional!r}")
        out["recipient"] = positional[0]
    return out


# The old names of the line's pieces, for callers that still use them (tests/test_rules.py):
# the rules run over a store opened like delivery's.
def Database(config, readonly: bool = False):  # noqa: N802 - kept name
    from autoresponder.store import open_store

    return open_store(config, readonly=readonly)


def evaluate(config, envelope, message, now: float, store, trace=None):
    from autoresponder.line import evaluate as line_evaluate

    return line_evaluate(config, envelope, message, now, store, trace)


def main(argv: "list[str]", config_path: "str | None") -> int:
    """Never raises, never returns a code that would make the MTA bounce the message."""
    from autoresponder.logs import stderr_line
    from autoresponder.outcomes import Exit

    try:
        return _deliver(argv, config_path)
    except BaseException as e:  # noqa: BLE001 - the last line of defence against backscatter
        if isinstance(e, SystemExit) and e.code in (Exit.OK, Exit.TEMPFAIL):
            return int(e.code)
        import traceback

        stderr_line("internal error, message skipped without a reply: " +
                    " | ".join(traceback.format_exc().strip().splitlines()[-3:]))
        return outcomes.exit_code(outcomes.INTERNAL_ERROR)


def _deliver(argv: "list[str]", config_path: "str | None") -> int:
    from autoresponder import config as config_mod
    from autoresponder.logs import Log, stderr_line
    from autoresponder.message import ReadTimeout, read_message

    try:
        args = parse_args(argv)
    except UsageError as e:
        _drain()
        stderr_line(f"deliver: bad arguments: {e} (message deferred; fix the MTA's command line)")
        return outcomes.exit_code(outcomes.CONFIG_ERROR)
    try:
        config = config_mod.load(config_path)
    except config_mod.ConfigError as e:
        _drain()
        stderr_line(f"config error: {e}")
        return outcomes.exit_code(outcomes.CONFIG_ERROR)
    if config.deliver.via:  # [deliver] via: hand the message to a running `serve`
        from autoresponder.relay import from_config

        relayed = from_config(config, argv, config_path)
        if relayed is not None:
            return relayed
    log = Log(config)
    from autoresponder.envelope import from_args

    try:
        message = read_message(timeout=config.read_timeout)
    except ReadTimeout as e:  # a writer that never ends the message: let the MTA retry
        from autoresponder.decision import skip
        from autoresponder.line import log_fields

        envelope = from_args(args["sender"], args["recipient"], args["original"], config)
        log.write(log_fields(envelope, None, skip("tempfail", str(e))), "warning")
        return outcomes.exit_code(outcomes.TEMPFAIL)

    envelope = from_args(args["sender"], args["recipient"], args["original"], config)
    store, transport = _OnFirstUse(_store, config), _OnFirstUse(_transport, config)
    try:
        result = _KillSafeLine(config, store, transport, log).run(envelope, message,
                                                                  time.time())
    finally:
        transport.close()
        store.close()
    return outcomes.exit_code(result.outcome)


class _KillSafeLine(Line):
    """The line as ``deliver`` runs it: once the claim is ours, the rest (render, send,
    record, log) runs in a forked child, and this process waits for it with SIGTERM held.

    A kill of this process (the MTA's time limit, an admin, the OOM killer) then cannot
    split "sent" from "recorded": the child carries on, waits for sendmail and records the
    reply, so the retry finds it recorded (or the claim still pending: 75). A kill before
    the fork leaves a pending claim and nothing sent: the retry after the lease replies.
    SIGTERM is honoured once the child is done. (Issue 9 item 4; tests/test_kill_trials.py
    re-runs the security review's kill trials.)"""

    def after_claim(self, envelope, message, now, decision, account, key, limits, token):
        import os

        args = (envelope, message, now, decision, account, key, limits, token)
        with _HeldSigterm():
            # A database connection must not cross fork(): the child opens its own.
            self.store.close()
            try:
                rfd, wfd = os.pipe()
                pid = os.fork()
            except OSError:  # no fork today: the same work, in this process
                return Line.after_claim(self, *args)
            if pid == 0:
                _run_child(self, args, rfd, wfd)  # never returns
            os.close(wfd)
            with os.fdopen(rfd, "rb") as f:
                data = f.read()
            _, status = os.waitpid(pid, 0)
        if data:
            return _decoded(data, account)
        why = (f"signal {os.WTERMSIG(status)}" if os.WIFSIGNALED(status)
               else f"status {os.waitstatus_to_exitcode(status)}")
        return self._deferred(envelope, message, now, account,
                              f"the process sending the reply ended ({why}) before it "
                              f"reported; the claim is left to its lease")


def _run_child(line, args, rfd: int, wfd: int) -> None:
    """The forked child: render, send, record and log, report the result, exit."""
    import os

    os.close(rfd)
    try:
        payload = b""
        try:
            payload = _encoded(Line.after_claim(line, *args))
        except BaseException:  # noqa: BLE001 - after_claim released the claim; report nothing
            pass
        try:
            while payload:
                payload = payload[os.write(wfd, payload):]
        except OSError:
            pass
        for part in (line.transport, line.store):
            try:
                part.close()
            except BaseException:  # noqa: BLE001
                pass
    finally:
        os._exit(outcomes.Exit.OK)  # the parent reports the outcome


_SEP = "\0"


def _encoded(result) -> bytes:
    fields = (result.outcome.name, result.decision.action, result.decision.rule,
              result.decision.reason, result.detail or "")
    return _SEP.join(f.replace(_SEP, "\ufffd") for f in fields).encode("utf-8",
                                                                       "surrogateescape")


def _decoded(data: bytes, account):
    from autoresponder.decision import Decision
    from autoresponder.line import Result

    name, action, rule, reason, detail = data.decode("utf-8", "surrogateescape").split(_SEP)
    return Result(outcomes.by_name(name), Decision(action, rule, reason), account,
                  detail=detail)


class _HeldSigterm:
    """SIGTERM waits while the claimed part of a delivery runs, then ends the process as it
    would have (outside the main thread, where signals cannot be handled, nothing is held)."""

    def __enter__(self):
        import signal

        self.got = False
        try:
            self.old = signal.signal(signal.SIGTERM, self._hold)
        except ValueError:
            self.old = None
        return self

    def _hold(self, signum, frame) -> None:
        self.got = True

    def __exit__(self, *exc) -> None:
        if self.old is None:
            return
        import os
        import signal

        signal.signal(signal.SIGTERM, self.old)
        if self.got:
            os.kill(os.getpid(), signal.SIGTERM)


def _store(config):
    from autoresponder.store import open_store

    return open_store(config)


def _transport(config):
    from autoresponder.transports import open_transport

    return open_transport(config)


class _OnFirstUse:
    """A store or transport made when the line first uses it: a message the header rules
    skip never imports the store's modules nor the transports (one process per message
    pays for every import). close() closes only what was made."""

    def __init__(self, make, config):
        self._make, self._config, self._it = make, config, None

    def __getattr__(self, name):
        if self._it is None:
            self._it = self._make(self._config)
        return getattr(self._it, name)

    def close(self) -> None:
        if self._it is not None:
            self._it.close()


def _drain() -> None:
    from autoresponder.message import drain

    drain()
