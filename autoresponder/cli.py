"""The command line. `deliver` (the MTA's entry point) takes a fast path without argparse;
every admin command is parsed by argparse and imports what it needs when it runs."""

import sys

from autoresponder.outcomes import Exit as exits


def _split_global(argv: "list[str]") -> "tuple[str | None, list[str]]":
    """Take the global ``--config FILE`` (before the subcommand) off argv."""
    config = None
    rest = list(argv)
    while rest and rest[0].startswith("--config"):
        head = rest.pop(0)
        if head == "--config":
            config = rest.pop(0) if rest else ""
        else:
            config = head.split("=", 1)[1]
    return config, rest


def main(argv: "list[str] | None" = None) -> int:
    if argv is None:
        argv = sys.argv[1:]
    config_path, rest = _split_global(argv)
    # `deliver` goes to argparse only for `deliver --help` alone: any other argv, with a -h
    # or --help anywhere in it, is the MTA's and gets deliver's bad-arguments path (stdin
    # drained, 75 under Postfix, else 78), never argparse's exit 2.
    if rest and rest[0] == "deliver" and rest[1:] not in (["-h"], ["--help"]):
        from autoresponder.relay import maybe_relay  # `--via`: hand over to `serve`

        code, argv_rest = maybe_relay(rest[1:], config_path)
        if code is not None:
            return code
        from autoresponder.deliver import main as deliver_main

        return deliver_main(argv_rest, config_path)
    return _admin(argv)


def _build_parser():
    import argparse

    p = argparse.ArgumentParser(
        prog="autoresponder",
        description="Vacation / auto-responder delivery agent for Postfix, Exim, Sendmail and "
                    "Dovecot.")
    p.add_argument("--config", metavar="FILE",
                   help="config file (default: $AUTORESPONDER_CONFIG, else "
                        "/etc/autoresponder/autoresponder.toml if present, else built-in)")
    p.add_argument("--version", action="version",
                   version=f"autoresponder {__import__('autoresponder').__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    d = sub.add_parser("deliver", help="the MTA entry point: decide, reply, exit 0/75")
    _envelope_args(d)
    d.add_argument("--via", metavar="unix:PATH|inet:HOST:PORT",
                   help="relay the message to a running `serve` over LMTP (exit 0 or 75)")

    e = sub.add_parser("explain", help="what delivery would do with a message; writes nothing")
    _envelope_args(e)
    e.add_argument("--json", action="store_true", help="print one JSON object")
    e.add_argument("--at", metavar="WHEN", help="evaluate as if it were this time (read in the "
                   "account's own zone when it has one, else the config's timezone)")

    from autoresponder import admin

    admin.add_commands(sub)

    from autoresponder import integrations

    integrations.add_commands(sub)

    from autoresponder import db

    db.add_commands(sub)

    from autoresponder.http import cli as http_cli  # `token` (imports no aiohttp)

    http_cli.add_commands(sub)
    return p


def _envelope_args(p) -> None:
    p.add_argument("--sender", "-f", metavar="ADDR",
                   help="envelope sender ('' or '<>' for the null sender; default $SENDER)")
    p.add_argument("--recipient", "-r", metavar="ADDR",
                   help="envelope recipient (default $RECIPIENT)")
    p.add_argument("--original-recipient", "-o", metavar="ADDR",
                   help="recipient before aliasing (default $ORIG_RECIPIENT)")
    p.add_argument("recipient_arg", nargs="?", metavar="RECIPIENT", help="same as --recipient")


def _admin(argv: "list[str]") -> int:
    parser = _build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "recipient_arg", None) and not args.recipient:
        args.recipient = args.recipient_arg
    from autoresponder import config as config_mod

    try:
        cfg = config_mod.load(args.config)
    except config_mod.ConfigError as e:
        print(f"autoresponder: config error: {e}", file=sys.stderr)
        return exits.CONFIG
    try:
        return args.func(args, cfg)
    except KeyboardInterrupt:
        return exits.INTERRUPTED
    except BrokenPipeError:
        return exits.OK
    except Exception as e:  # an unusable database file: one line, not a traceback
        from autoresponder.message import ReadTimeout
        from autoresponder.store.base import StoreError

        if isinstance(e, ReadTimeout):  # explain / template preview on a stalled stdin
            print(f"autoresponder: {e}", file=sys.stderr)
            return exits.TEMPFAIL

        if isinstance(e, StoreError):
            print(f"autoresponder: database {cfg.database}: {e.reason}", file=sys.stderr)
            return exits.CONFIG
        if isinstance(e, OSError):
            print(f"autoresponder: database {cfg.database}: {e}", file=sys.stderr)
            return exits.CONFIG
        raise
