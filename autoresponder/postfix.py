"""``autoresponder postfix-map``: the Postfix ``recipient_bcc_maps`` table for the agent.

Postfix hands the agent a *copy* of each message for an account on vacation: the table maps
the account's address (and each of its aliases) to the internal address
``user#domain@<autoreply_domain>``, which ``transport_maps`` routes to the pipe(8) service and
which ``deliver`` decodes back to the account. Why ``recipient_bcc_maps`` and not virtual
aliases: see contrib/postfix/README.md (measured against Postfix 3.7).

Which accounts get an entry: those enabled whose vacation is in force or still to come (no
end, or an end in the future; any queued absence or weekly window still ahead:
``Account.over``, i.e. ``schedule.Schedule.over`` in the account's zone). An upcoming vacation
is listed ahead of time so that its start does not depend on when cron last rebuilt the
table; ``deliver`` skips the copy until then (and between a window's occurrences). An ended or
disabled vacation is left out, so its mail no longer costs a process per message.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time

from autoresponder.outcomes import Exit as exits


# postmap's output file per table type (the types that postmap builds from a text file).
_SUFFIX = {"hash": ".db", "btree": ".db", "lmdb": ".lmdb", "cdb": ".cdb"}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--domain", metavar="DOMAIN",
                        help="domain of the copy addresses (default: config autoreply_domain)")
    parser.add_argument("--output", "-o", metavar="FILE",
                        help="write the table to FILE (atomically; untouched when unchanged) "
                             "instead of printing it")
    parser.add_argument("--postmap", action="store_true",
                        help="with --output: build the indexed file with postmap(1) as well")
    parser.add_argument("--type", default="hash", choices=sorted(_SUFFIX),
                        help="postmap table type (default: hash; main.cf then says "
                             "hash:FILE)")
    parser.add_argument("--postfix-config", metavar="DIR",
                        help="Postfix config directory for postmap -c (default: postmap's own)")
    parser.add_argument("--postmap-command", default="postmap", metavar="PROG",
                        help="the postmap program (default: postmap from $PATH)")
    parser.add_argument("--at", metavar="EPOCH", type=float,
                        help=argparse.SUPPRESS)  # tests: evaluate as if it were this time


def entries(accounts, domain: str, now: float) -> "tuple[list[tuple[str, str]], list[str]]":
    """(key, copy address) pairs for the accounts that need a copy, and warnings.

    A key cannot hold whitespace or quotes in a Postfix table, so such an address is left out
    with a warning rather than written as a line Postfix would misread.
    """
    from autoresponder.addresses import encode_copy_address

    out: dict[str, str] = {}
    warnings: list[str] = []
    wanted = []
    for a in accounts:
        try:
            if not a.over(now):
                wanted.append(a)
        except ValueError as e:  # a stored zone or window this host cannot read: keep it
            warnings.append(f"{a.address}: {e}; listed anyway")
            wanted.append(a)
    # Accounts' own addresses first, so that an alias that is also an account keeps its own.
    pairs = [(a.address, a) for a in wanted] + [(k, a) for a in wanted for k in a.aliases]
    for key, a in pairs:
        if not _table_safe(key) or not _table_safe(a.address):
            warnings.append(f"{key}: cannot be a Postfix table key; left out")
            continue
        out.setdefault(key.lower(), encode_copy_address(a.address, domain))
    return sorted(out.items()), warnings


def _table_safe(address: str) -> bool:
    local, at, dom = address.rpartition("@")
    return bool(at and local and dom) and not any(c.isspace() or c in '"\\' for c in address)


def render(pairs: "list[tuple[str, str]]", domain: str) -> str:
    width = max([len(k) for k, _ in pairs] + [0]) + 1
    lines = ["# recipient_bcc_maps for autoresponder: written by `autoresponder postfix-map`;",
             f"# do not edit. Copies go to user#domain@{domain}.",
             *(f"{k.ljust(width)}{v}" for k, v in pairs)]
    return "\n".join(lines) + "\n"


def run(args: argparse.Namespace, config) -> int:
    from autoresponder.store import StoreError, open_store

    domain = (args.domain if args.domain is not None
              else getattr(config, "autoreply_domain", "")).strip().lower()
    if not domain or any(c.isspace() or c in "@#/\"" for c in domain):
        print("autoresponder: postfix-map: no usable domain for the copy addresses: set "
              "autoreply_domain in the config or pass --domain", file=sys.stderr)
        return exits.CONFIG
    if args.postmap and not args.output:
        print("autoresponder: postfix-map: --postmap needs --output FILE", file=sys.stderr)
        return exits.USAGE
    try:
        with open_store(config, readonly=True) as store:
            accounts = store.list_accounts()
    except StoreError as e:
        # Locked or unreadable: keep the current table; cron tries again on its next run.
        print(f"autoresponder: postfix-map: cannot read {config.database}: {e.reason}",
              file=sys.stderr)
        return exits.TEMPFAIL
    now = args.at if args.at is not None else time.time()
    for a in accounts:  # wall-clock times without a zone of their own are in the config's
        a.default_zone = config.timezone
    pairs, warnings = entries(accounts, domain, now)
    for w in warnings:
        print(f"autoresponder: postfix-map: {w}", file=sys.stderr)
    text = render(pairs, domain)
    if not args.output:
        sys.stdout.write(text)
        return exits.OK
    try:
        return write_table(args.output, text, args)
    except OSError as e:
        print(f"autoresponder: postfix-map: cannot write {args.output}: "
              f"{e.strerror or e}", file=sys.stderr)
        return exits.CANTCREAT


def write_table(path: str, text: str, args: argparse.Namespace) -> int:
    """Replace FILE (and FILE.db) by rename, so Postfix never reads a half-written table.

    Nothing is touched when the text is unchanged and the indexed file is up to date: a cron
    job every minute then costs nothing, and Postfix's daemons are not restarted for nothing
    (they restart themselves when a table they use changes).
    """
    suffix = _SUFFIX[args.type]
    try:
        with open(path, encoding="utf-8") as f:
            same = f.read() == text
    except OSError:
        same = False
    if same and (not args.postmap or _newer(path + suffix, path)):
        return exits.OK
    d = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix="." + os.path.basename(path) + ".", dir=d)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.chmod(tmp, 0o644)
        if args.postmap:
            cmd = [args.postmap_command]
            if args.postfix_config:
                cmd += ["-c", args.postfix_config]
            cmd.append(f"{args.type}:{tmp}")
            try:
                r = subprocess.run(cmd, capture_output=True, text=True)
            except OSError as e:
                print(f"autoresponder: postfix-map: cannot run {cmd[0]}: {e.strerror}",
                      file=sys.stderr)
                return exits.SOFTWARE
            if r.returncode != 0:
                print(f"autoresponder: postfix-map: {' '.join(cmd)} failed: "
                      f"{r.stderr.strip()}", file=sys.stderr)
                return exits.SOFTWARE
            os.replace(tmp + suffix, path + suffix)
        os.replace(tmp, path)
    finally:
        for p in (tmp, tmp + suffix):
            try:
                os.unlink(p)
            except FileNotFoundError:
                pass
    return exits.OK


def _newer(a: str, b: str) -> bool:
    try:
        return os.stat(a).st_mtime >= os.stat(b).st_mtime
    except OSError:
        return False
