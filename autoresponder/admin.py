"""Admin commands: vacation, history, purge, template, explain, demo (argparse side)."""

import json
import os
import sys
import time

from autoresponder.outcomes import Exit as exits


def add_commands(sub) -> None:
    from autoresponder import explain

    sub.choices["explain"].set_defaults(func=explain.run)
    sub.choices["deliver"].set_defaults(func=_deliver_via_argparse)

    v = sub.add_parser("vacation", help="set up, show and switch off vacations")
    vs = v.add_subparsers(dest="action", metavar="ACTION")
    vs.required = True
    en = vs.add_parser("enable", help="switch a vacation on (creating or updating it)")
    en.add_argument("address")
    en.add_argument("--start", metavar="WHEN", help="start (default: now); 'none' clears it")
    en.add_argument("--end", metavar="WHEN",
                    help="end; a date alone means through that day; 'none' clears it")
    en.add_argument("--subject", help="reply subject (default: the template's, else "
                                      "'Auto: <original subject>')")
    msg = en.add_mutually_exclusive_group()
    msg.add_argument("--message", help="the account's own words, given to the template")
    msg.add_argument("--message-file", metavar="FILE",
                     help="read the message from FILE (- = stdin)")
    en.add_argument("--template", help="template name (default: default)")
    en.add_argument("--language", choices=("pt", "en"), help="reply language")
    en.add_argument("--interval", metavar="DURATION",
                    help="one reply per sender per this long (e.g. 24h, 7d, 90s; 0: every "
                         "message); default: the config's interval")
    en.add_argument("--alias", action="append", metavar="ADDR",
                    help="another address of this account (repeatable; replaces the list)")
    en.add_argument("--from-name", metavar="NAME", help="display name on the reply's From")
    from autoresponder import schedadmin

    schedadmin.add_enable_options(en)
    en.set_defaults(func=vacation_enable)
    di = vs.add_parser("disable", help="switch a vacation off (settings are kept)")
    di.add_argument("address")
    di.set_defaults(func=vacation_disable)
    sh = vs.add_parser("show", help="show one account")
    sh.add_argument("address")
    sh.add_argument("--json", action="store_true")
    sh.set_defaults(func=vacation_show)
    ls = vs.add_parser("list", help="list all accounts")
    ls.add_argument("--json", action="store_true")
    ls.set_defaults(func=vacation_list)
    schedadmin.add_commands(vs)

    h = sub.add_parser("history", help="who got a reply from an account, and when")
    h.add_argument("address")
    h.add_argument("--limit", type=int, default=100)
    h.add_argument("--json", action="store_true")
    h.set_defaults(func=history)

    p = sub.add_parser("purge", help="drop ledger rows past their window (cron-safe)")
    p.add_argument("--older-than", metavar="DURATION", default="0s",
                   help="only rows whose window ended at least this long ago (default 0s)")
    p.add_argument("--keep-history", metavar="DURATION", default="90d",
                   help="keep reply history this long (default 90d; never less than the "
                        "rate-limit period)")
    p.set_defaults(func=purge)

    fg = sub.add_parser("forget", help="forget who was answered, so they get a reply again")
    fg.add_argument("address")
    fg.add_argument("--sender", help="only this sender (default: every sender)")
    fg.set_defaults(func=forget)

    t = sub.add_parser("template", help="check and preview reply templates")
    ts = t.add_subparsers(dest="action", metavar="ACTION")
    ts.required = True
    tc = ts.add_parser("check", help="render every template with sample data; fail on errors")
    tc.add_argument("name", nargs="?")
    tc.set_defaults(func=template_check)
    tp = ts.add_parser("preview", help="print the exact reply an account would send")
    tp.add_argument("address")
    tp.add_argument("--sender", help="the envelope sender to answer (default: the message's "
                                     "Return-Path, else its From, else a sample address)")
    tp.set_defaults(func=template_preview)

    d = sub.add_parser("demo", help="quick start: enable an example vacation and deliver "
                                    "the shipped example message with the file transport")
    d.add_argument("--dir", help="where the demo keeps its database and outbox "
                                 "(default: the state directory of the default database)")
    d.set_defaults(func=demo)


def _deliver_via_argparse(args, config) -> int:
    from autoresponder.deliver import main as deliver_main

    argv = []
    for flag, value in (("--sender", args.sender), ("--recipient", args.recipient),
                        ("--original-recipient", args.original_recipient)):
        if value is not None:
            argv += [flag, value]
    return deliver_main(argv, args.config)


def _fail(text: str, code: int = exits.DATAERR) -> int:
    print(f"autoresponder: {text}", file=sys.stderr)
    return code


def _store(config, readonly: bool = False):
    """The store the admin commands use: the same one, and the same queries, as delivery's;
    created (with its directory and schema) when missing, unless read-only."""
    from autoresponder.store import open_store

    return open_store(config, readonly=readonly, create=not readonly)


def _when(config, text: str, end: bool):
    from autoresponder.dates import parse_when, to_iso

    if text.strip().lower() in ("none", ""):
        return None
    return to_iso(parse_when(text, config.timezone, config.dayfirst, end=end))


def vacation_enable(args, config) -> int:
    from autoresponder import accounts, addresses, schedadmin
    from autoresponder.dates import DateError
    from autoresponder.durations import DurationError, parse_duration

    try:
        address = accounts.normalize_account(args.address, config)
        with _store(config) as store:
            old = store.find_account(address)
        if old is not None and old.address != address:  # an alias: its account's settings
            old = None
        changes: dict = schedadmin.enable_changes(args, config, old, address)
        if args.subject is not None:
            changes["subject"] = " ".join(args.subject.split()) or None
        if args.message is not None:
            changes["message"] = args.message
        if args.message_file is not None:
            if args.message_file == "-":
                changes["message"] = sys.stdin.read()
            else:
                with open(args.message_file, encoding="utf-8") as f:
                    changes["message"] = f.read()
        if args.template is not None:
            changes["template"] = args.template
        if args.language is not None:
            changes["language"] = args.language
        if args.interval is not None:
            changes["interval_seconds"] = parse_duration(args.interval)
        if args.from_name is not None:
            changes["from_name"] = " ".join(args.from_name.split()) or None
        aliases = None
        if args.alias is not None:
            aliases = []
            for a in args.alias:
                n = addresses.normalize(a)
                if not n:
                    return _fail(f"--alias {a!r} is not a mail address")
                aliases.append(n)
        if "template" in changes:
            from autoresponder.render import list_templates

            names = {t[0] for t in list_templates(config)}
            if changes["template"] not in names:
                return _fail(f"no template named {changes['template']!r} "
                             f"(have: {', '.join(sorted(names))})")
        schedadmin.check_template(config, changes.get("external_template"),
                                  "--external-template")
        with _store(config) as store:
            acct = store.enable(address, changes, aliases, time.time())
    except (DateError, DurationError, ValueError) as e:
        return _fail(str(e))
    except OSError as e:
        return _fail(f"{e.filename or config.database}: {e.strerror}", exits.CONFIG)
    print(f"vacation enabled for {acct.address}")
    _print_account(acct, config)
    warning = store.notice()  # e.g. root left the database where deliveries cannot write
    if warning:
        print(f"autoresponder: warning: {warning}", file=sys.stderr)
    return exits.OK


def _account_of(args, config) -> str:
    """The account that args.address names: itself (normalised, without +detail), or the
    account it is an alias of. ValueError if it is no address."""
    import autoresponder.accounts as accounts

    address = accounts.normalize_account(args.address, config)
    with _store(config) as store:
        acct = store.find_account(address)
    return acct.address if acct is not None else address


def vacation_disable(args, config) -> int:

    try:
        address = _account_of(args, config)
    except ValueError as e:
        return _fail(str(e))
    with _store(config) as store:
        done = store.disable(address, time.time())
    if not done:
        return _fail(f"{address} has no vacation set up", exits.DATAERR)
    print(f"vacation disabled for {address}")
    return exits.OK


def _account_view(a, config) -> dict:
    """What `vacation show --json` and `list --json` print of an account (store.Account):
    its stored row, whether it answers now, and its times in its own zone."""
    from autoresponder import schedadmin
    from autoresponder.derived import effective_interval

    now = time.time()
    a.default_zone = config.timezone
    inactive = a.active_at(now)
    extra = schedadmin.view(a, config, now)
    return {
        **a.as_dict(),
        "in_force": inactive is None,
        "status": "in force" if inactive is None else inactive,
        "interval": effective_interval(a, config),
        **extra,
    }


def _print_account(a, config) -> None:
    from autoresponder import schedadmin
    from autoresponder.durations import format_duration

    v = _account_view(a, config)
    print(f"  status:    {v['status']}")
    print(f"  start:     {v['start_local']}")
    print(f"  end:       {v['end_local']} (exclusive)")
    print(f"  interval:  {format_duration(v['interval'])}" +
          (" (every message; the hourly caps still apply)" if v["interval"] == 0 else ""))
    print(f"  subject:   {v['subject'] or '(from the template)'}")
    print(f"  template:  {v['template']}  language: {v['language'] or '(from the message)'}")
    print(f"  from name: {v['from_name'] or '-'}")
    print(f"  aliases:   {', '.join(v['aliases']) or '-'}")
    if v["message"]:
        print("  message:   " + v["message"].replace("\n", "\n             "))
    schedadmin.print_view(v, v)


def vacation_show(args, config) -> int:
    from autoresponder import accounts

    try:
        address = accounts.normalize_account(args.address, config)
    except ValueError as e:
        return _fail(str(e))
    with _store(config) as store:
        acct = store.find_account(address)
    if acct is None:
        return _fail(f"{address} has no vacation set up")
    if args.json:
        print(json.dumps(_account_view(acct, config), ensure_ascii=False))
    else:
        print(acct.address)
        _print_account(acct, config)
    return exits.OK


def vacation_list(args, config) -> int:
    from autoresponder.durations import format_duration

    with _store(config) as store:
        rows = [_account_view(a, config) for a in store.list_accounts()]
    if args.json:
        print(json.dumps(rows, ensure_ascii=False))
        return exits.OK
    head = ("ADDRESS", "ENABLED", "IN FORCE", "START", "END", "ZONE", "ANSWERING",
            "NEXT CHANGE", "INTERVAL", "ALIASES")

    def answering(r) -> str:
        a = r["answering"]
        if a is None:
            return "-"
        return f"#{a['item']}" if a["item"] else "main"

    table = [head] + [(r["address"], "yes" if r["enabled"] else "no",
                       "yes" if r["in_force"] else "no", r["start_local"], r["end_local"],
                       r["zone"], answering(r), r["next_change"] or "-",
                       format_duration(r["interval"]), ",".join(r["aliases"]) or "-")
                      for r in rows]
    widths = [max(len(str(row[i])) for row in table) for i in range(len(head))]
    for row in table:
        print("  ".join(str(c).ljust(w) for c, w in zip(row, widths)).rstrip())
    return exits.OK


def history(args, config) -> int:
    from autoresponder import accounts
    from autoresponder.dates import show

    try:
        address = _account_of(args, config)
    except ValueError as e:
        return _fail(str(e))
    with _store(config) as store:
        rows = [accounts.history_row(h) for h in store.history(address, args.limit)]
    if args.json:
        print(json.dumps(rows, ensure_ascii=False))
        return exits.OK
    if not rows:
        print(f"{address}: no replies recorded")
    for r in rows:
        print(f"{show(r['sent_at'], config.timezone)}  {r['status']:<8}  {r['sender']}")
    return exits.OK


def purge(args, config) -> int:
    from autoresponder import accounts
    from autoresponder.durations import DurationError, parse_duration

    try:
        older, keep = parse_duration(args.older_than), parse_duration(args.keep_history)
    except DurationError as e:
        return _fail(str(e), exits.USAGE)
    with _store(config) as store:
        n_ledger, n_hist = store.purge(time.time(), older, accounts.purge_keep(config, keep))
    print(f"purged {n_ledger} ledger rows and {n_hist} history rows")
    return exits.OK


def forget(args, config) -> int:
    from autoresponder import addresses

    try:
        address = _account_of(args, config)
    except ValueError as e:
        return _fail(str(e))
    sender = addresses.normalize(args.sender) if args.sender else None
    if args.sender and not sender:
        return _fail(f"--sender {args.sender!r} is not a mail address")
    with _store(config) as store:
        n = store.forget(address, sender)
    print(f"{address}: forgot {n} ledger row(s)" + (f" for {sender}" if sender else ""))
    return exits.OK


def template_check(args, config) -> int:
    from autoresponder import templatecheck

    return templatecheck.run(args, config)


def template_preview(args, config) -> int:
    from autoresponder import accounts, addresses
    from autoresponder.envelope import Envelope
    from autoresponder.line import Line
    from autoresponder.message import from_bytes, read_message
    from autoresponder.render import TemplateError
    from autoresponder.transports.capture import CaptureTransport

    try:
        address = accounts.normalize_account(args.address, config)
    except ValueError as e:
        return _fail(str(e))
    store = _store(config, readonly=True)
    line = Line(config, store, CaptureTransport(), readonly=True)
    acct = store.find_account(address)
    if acct is None:
        store.close()
        return _fail(f"{address} has no vacation set up")
    if sys.stdin is not None and not sys.stdin.isatty():
        message = read_message(sys.stdin.buffer, config.read_timeout)
    else:
        message = from_bytes(b"From: sender@example.org\nTo: " + address.encode() +
                             b"\nSubject: Hello\nMessage-ID: <preview@example.org>\n\nHi\n")
    sender, origin = _preview_sender(args.sender, message)
    if not addresses.normalize(sender):
        store.close()
        return _fail(f"--sender {sender!r} is not a mail address")
    env = Envelope(sender, address, "", config.autoreply_domain, config.recipient_delimiter)
    try:
        # the line's own render step: the reply delivery would send now (the absence or
        # window in force, the sender's audience, the From), whatever the rules say
        from autoresponder import answer

        now = time.time()
        acct.default_zone = config.timezone
        acct = answer.effective(acct, answer.plan(acct, config, env, message, now))
        r = line.build_reply(acct, env, message, now)
    except TemplateError as e:
        return _fail(f"the reply template failed: {e}")
    finally:
        store.close()
    print(f"# envelope: MAIL FROM:<{r.mail_from}> RCPT TO:<{r.rcpt}> (sender: {origin})")
    sys.stdout.write(r.data.decode("utf-8", "replace").replace("\r\n", "\n"))
    return exits.OK


def _preview_sender(given: "str | None", message) -> "tuple[str, str]":
    """(sender, where it came from) for a preview: --sender, else the message's Return-Path
    (the envelope it was delivered with), else the address in its From, else a sample."""
    from autoresponder import addresses

    if given is not None:
        return given, "--sender"
    rp = (message.get("return-path") or "").strip()
    if addresses.normalize(rp):
        return rp, "the message's Return-Path"
    from email.utils import getaddresses

    for _, addr in getaddresses(message.get_all("from")):
        if addresses.normalize(addr):
            return addr, "the message's From"
    return "sender@example.org", "a sample address"


# What `demo` makes in its directory: the marker that says the directory is the demo's, its
# config, its database (with SQLite's companions) and the outbox of the file transport.
_DEMO_MARK = ".autoresponder-demo"
_DEMO_DB = ("demo.sqlite3", "demo.sqlite3-wal", "demo.sqlite3-shm", "demo.sqlite3-journal")
_DEMO_NAMES = {_DEMO_MARK, "demo.toml", "outbox", *_DEMO_DB}


def _demo_dir(base: str) -> "str | None":
    """Make base the demo's directory, or say why not (None: ready). A new or empty directory
    becomes the demo's (the marker file says so); a non-empty one must carry the marker or
    hold nothing but what an earlier demo writes, else it is refused: the demo never removes
    anything it did not make."""
    try:
        names = os.listdir(base)
    except FileNotFoundError:
        try:
            os.makedirs(base, 0o755)
        except OSError as e:
            return f"--dir {base}: cannot create it: {e.strerror}"
        names = []
    except OSError as e:
        return f"--dir {base}: {e.strerror}"
    if names and _DEMO_MARK not in names and not _earlier_demo(base, names):
        return (f"{base} is not empty and was not made by `autoresponder demo`; name a new "
                f"or empty directory with --dir (nothing was changed)")
    for name in _DEMO_DB:
        p = os.path.join(base, name)
        try:
            st = os.lstat(p)
        except FileNotFoundError:
            continue
        except OSError as e:
            return f"{p}: {e.strerror}"
        import stat

        if not stat.S_ISREG(st.st_mode):
            return f"{p} is not a file the demo made; remove it yourself or pick another --dir"
    if _DEMO_MARK not in names:
        with open(os.path.join(base, _DEMO_MARK), "w", encoding="utf-8") as f:
            f.write("made by `autoresponder demo`, which removes only its own database here\n")
    return None


def _earlier_demo(base: str, names: "list[str]") -> bool:
    """A directory from a demo of an earlier release (no marker): only the demo's names, and
    an outbox holding only reply files."""
    if not set(names) <= _DEMO_NAMES:
        return False
    outbox = os.path.join(base, "outbox")
    if not os.path.lexists(outbox):
        return True
    if os.path.islink(outbox) or not os.path.isdir(outbox):
        return False
    return all(n.endswith(".eml") for n in os.listdir(outbox))


def demo(args, config) -> int:
    """Runs the real delivery path on the shipped example, with a file transport."""
    from autoresponder import config as config_mod
    from autoresponder.deliver import main as deliver_main
    from autoresponder.resources import data_path

    base = os.path.abspath(args.dir or os.path.join(os.path.dirname(config.database), "demo"))
    why = _demo_dir(base)
    if why:
        return _fail(why)
    for old in _DEMO_DB:  # the demo starts afresh each time, so it always replies
        try:
            os.unlink(os.path.join(base, old))  # checked above: the demo's own plain files
        except FileNotFoundError:
            pass
    cfg_path = os.path.join(base, "demo.toml")
    try:
        text = (f'database = {config_mod.toml_string(os.path.join(base, "demo.sqlite3"))}\n'
                f'[log]\ntarget = "stderr"\n[transport]\nkind = "file"\n'
                f'path = {config_mod.toml_string(os.path.join(base, "outbox"))}\n')
    except ValueError as e:
        return _fail(f"--dir: {e}")
    tmp = f"{cfg_path}.{os.getpid()}.tmp"
    try:
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, cfg_path)  # replaces a link of that name, never writes through it
    except OSError as e:
        return _fail(f"{cfg_path}: cannot write the demo's config: {e.strerror}")
    try:
        demo_cfg = config_mod.load(cfg_path)
    except config_mod.ConfigError as e:
        return _fail(f"the demo's config: {e}", exits.CONFIG)
    example = data_path("examples") if os.path.isdir(data_path("examples")) else None
    sample = os.path.join(example, "personal.eml") if example else None
    if not sample or not os.path.exists(sample):
        return _fail("the example message is missing from this installation")
    with _store(demo_cfg) as store:
        store.enable("ana@example.com", {
            "message": "For urgent matters please call the front desk: +351 210 000 000.",
            "from_name": "Ana Silva", "end_at": _when(demo_cfg, "tomorrow", end=True)}, None,
            time.time())
    print(f"# demo config: {cfg_path}")
    print("# vacation enabled for ana@example.com; delivering the example message twice "
          "(log lines go to stderr):\n", flush=True)
    outbox = os.path.join(base, "outbox")
    before = _reply_files(outbox)
    for attempt in (1, 2):
        with open(sample, "rb") as f:
            saved = sys.stdin
            sys.stdin = _BinaryStdin(f)
            try:
                code = deliver_main(["--sender", "bob@example.org", "--recipient",
                                     "ana@example.com"], cfg_path)
            finally:
                sys.stdin = saved
        print(f"# delivery {attempt}: exit {code}", flush=True)
    new = sorted(_reply_files(outbox) - before)
    print(f"\n# {len(new)} new reply file(s) in {outbox}")
    for path in new:
        print(f"# {path}:\n")
        with open(path, "rb") as f:
            print(f.read().decode("ascii", "replace").replace("\r\n", "\n"))
    return exits.OK


def _reply_files(outbox: str) -> "set[str]":
    """The .eml files in the outbox (listed, not globbed: the path may hold [ or *)."""
    try:
        return {os.path.join(outbox, n) for n in os.listdir(outbox) if n.endswith(".eml")}
    except OSError:
        return set()


class _BinaryStdin:
    def __init__(self, f):
        self.buffer = f
