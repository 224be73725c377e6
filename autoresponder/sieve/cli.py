"""`autoresponder sieve install|uninstall|status`: put our Sieve script in place for a user.

Target: the user's sieve directory on this host (default; home from ``--home`` or Dovecot's
userdb), or a ManageSieve server (``--server``). The password for ManageSieve comes from
``--password-file`` or ``$AUTORESPONDER_SIEVE_PASSWORD`` (never from argv, which ``ps`` shows),
else it is asked for on a terminal.
"""

from __future__ import annotations

import json
import os
import sys

from autoresponder import exits
from autoresponder.sieve import script as S
from autoresponder.sieve.install import InstallError


def add_commands(subparsers) -> None:
    p = subparsers.add_parser("sieve", help="install, remove or inspect the Sieve script that "
                                            "runs the agent (or Sieve's own vacation) for a user")
    sub = p.add_subparsers(dest="sieve_command", metavar="SUBCOMMAND")
    sub.required = True

    i = sub.add_parser("install", help="install and activate the script, keeping the user's "
                                       "active script working (included)")
    _common(i)
    i.add_argument("--flavour", "--flavor", choices=S.FLAVOURS, default="execute",
                   help="execute: hand mail to the agent (needs Pigeonhole's extprograms); "
                        "vacation: Sieve's own vacation action from the account's settings "
                        "(default: execute)")
    i.add_argument("--program", default=S.PROGRAM,
                   help="program name in sieve_execute_bin_dir (default: autoresponder)")
    i.add_argument("--print", dest="print_only", action="store_true",
                   help="print the script that would be installed; change nothing")
    i.add_argument("--force", action="store_true",
                   help="vacation flavour: install even when the account has settings Sieve's "
                        "vacation action cannot follow (absences, weekly windows, audience, "
                        "group mail); the script then follows only its start and end")
    i.set_defaults(func=cmd_install)

    u = sub.add_parser("uninstall", help="remove the script and re-activate exactly what was "
                                         "active before")
    _common(u)
    u.set_defaults(func=cmd_uninstall)

    s = sub.add_parser("status", help="show what is installed and active")
    _common(s)
    s.add_argument("--json", action="store_true", help="print one JSON object")
    s.set_defaults(func=cmd_status)


def _common(p) -> None:
    p.add_argument("address", nargs="?", metavar="ADDRESS",
                   help="the account (also the Dovecot/ManageSieve user unless --user)")
    p.add_argument("--user", help="Dovecot / ManageSieve login (default: ADDRESS)")
    p.add_argument("--name", default=S.SCRIPT_NAME,
                   help="script name (default: autoresponder)")
    loc = p.add_argument_group("local sieve directory (default target)")
    loc.add_argument("--home", help="the user's home (default: asked from Dovecot: "
                                    "doveadm user -f home USER)")
    loc.add_argument("--sieve-dir", help="script directory (default: HOME/sieve)")
    loc.add_argument("--active", help="active-script link (default: HOME/.dovecot.sieve)")
    loc.add_argument("--dovecot-config", metavar="FILE",
                     help="dovecot.conf for doveadm/sievec (default: theirs)")
    loc.add_argument("--no-compile", action="store_true", help="do not run sievec")
    ms = p.add_argument_group("ManageSieve (RFC 5804)")
    ms.add_argument("--server", metavar="HOST", help="use this ManageSieve server")
    ms.add_argument("--port", type=int, default=4190, help="(default: 4190)")
    ms.add_argument("--password-file", metavar="FILE",
                    help="file holding the password (else $AUTORESPONDER_SIEVE_PASSWORD)")
    ms.add_argument("--authz", default="", help="authorize as this user (admin login)")
    ms.add_argument("--allow-plaintext", action="store_true",
                    help="log in without TLS to a non-loopback server that lacks STARTTLS")


def _say(lines) -> None:
    """Results on stdout, warnings on stderr (so `--print` output stays a clean script)."""
    for line in lines:
        print(line, file=sys.stderr if line.startswith("warning:") else sys.stdout)


def _fail(text: str, code: int = exits.DATAERR) -> int:
    print(f"autoresponder: {text}", file=sys.stderr)
    return code


# A file-system failure is reported as one: the path, the errno's name and its text, with
# sysexits' code for it. install/uninstall write the user's sieve files: EX_CANTCREAT (73);
# status only reads them: EX_IOERR (74). Refusals (InstallError) stay EX_DATAERR (65).
WRITING, READING = os.EX_CANTCREAT, os.EX_IOERR


def _file_failure(command: str, e: OSError, code: int) -> int:
    import errno

    name = errno.errorcode.get(e.errno or 0, f"errno {e.errno}")
    where = "" if e.filename is None else f"{e.filename}: " if e.filename2 is None else \
        f"{e.filename} -> {e.filename2}: "
    return _fail(f"sieve {command}: {where}{e.strerror or e} ({name})", code)


def _login(args) -> str:
    user = args.user or args.address
    if not user:
        raise InstallError("give ADDRESS or --user")
    return user


def _password(args) -> str:
    if args.password_file:
        try:
            with open(args.password_file, encoding="utf-8") as f:
                return f.read().rstrip("\r\n")
        except OSError as e:
            raise InstallError(f"password file {args.password_file}: {e.strerror}") from None
    pw = os.environ.get("AUTORESPONDER_SIEVE_PASSWORD")
    if pw is not None:
        return pw
    if sys.stdin.isatty():
        import getpass

        return getpass.getpass(f"ManageSieve password for {_login(args)}: ")
    raise InstallError("no password: use --password-file or $AUTORESPONDER_SIEVE_PASSWORD")


def open_store(args):
    """The target named by the arguments: ManageSieveStore or LocalStore."""
    user = _login(args)
    if args.server:
        from autoresponder.sieve.managesieve import ManageSieveStore

        return ManageSieveStore(args.server, args.port, user, _password(args), authz=args.authz,
                                allow_plaintext=args.allow_plaintext)
    from autoresponder.sieve.local import LocalStore, dovecot_home

    home = args.home or dovecot_home(user, args.dovecot_config)
    return LocalStore(home, sieve_dir=args.sieve_dir, active=args.active,
                      dovecot_config=args.dovecot_config, compile=not args.no_compile)


def _account(config, address: str):
    from autoresponder.addresses import normalize
    from autoresponder.store import open_store

    with open_store(config, readonly=True) as store:
        account = store.find_account(normalize(address))
    if account is not None:
        account.default_zone = config.timezone  # its dates' zone when it has none of its own
    return account


def builder(config, flavour: str, program: str = S.PROGRAM, force: bool = False):
    """build(state, seconds_ok) -> (text, warnings) for a flavour; reads the account when
    the vacation flavour needs its settings.

    An account with settings the native vacation action cannot follow (script.native_gaps)
    is refused unless `force`: such a script would answer at other times, or other senders,
    than the agent does, and a wrong auto-reply cannot be called back. With `force` (and for
    `sieve status`) the gaps come back as a warning."""
    def build(state: S.State, seconds_ok: bool):
        if flavour == "execute":
            state.program = program
            return S.execute_script(state, program), []
        from autoresponder.render import TemplateError

        acct = _account(config, state.account)
        if acct is None:
            raise InstallError(f"no account {state.account!r} in {config.database}; "
                               f"`autoresponder vacation enable` it first")
        if not acct.enabled:
            raise InstallError(f"the vacation of {acct.address} is disabled; enable it first "
                               f"(a native vacation script cannot see the switch)")
        gaps = S.native_gaps(config, acct)
        if gaps and not force:
            raise InstallError(
                f"sieve install --flavour vacation: {acct.address} has settings Sieve's "
                f"vacation action cannot follow: {'; '.join(gaps)}. Its script would answer "
                f"at other times or other senders than the agent does. Use --flavour execute "
                f"(the agent decides each message; needs Pigeonhole's extprograms), or add "
                f"--force for a script that answers every sender who names the account, "
                f"between its start and end")
        try:
            v = S.vacation_from_account(config, acct)
        except TemplateError as e:
            raise InstallError(f"template: {e}") from None
        text, warnings = S.vacation_script(state, v, seconds_ok)
        if gaps:
            warnings = warnings + [
                f"{acct.address}: the vacation flavour ignores {'; '.join(gaps)}: the script "
                f"answers every sender who names the account, between its start and end; "
                f"use --flavour execute to have them followed"]
        return text, warnings
    return build


def cmd_install(args, config) -> int:
    try:
        account = args.address or _login(args)
        from autoresponder.addresses import normalize

        account = normalize(account) or account
        build = builder(config, args.flavour, args.program, force=args.force)
        if args.flavour == "execute" and _account(config, account) is None:
            _say([f"warning: no account {account!r} yet: the agent will let this user's mail "
                  f"through without replies until `autoresponder vacation enable {account}`"])
        if args.print_only:
            text, warnings = build(S.State(flavour=args.flavour, account=account), False)
            _say(f"warning: {w}" for w in warnings)
            sys.stdout.write(text)
            return exits.OK
        from autoresponder.sieve.install import install

        store = open_store(args)
        try:
            res = install(store, args.flavour, account, build, name=args.name)
            _say(res.messages + [f"note: {n}" for n in getattr(store, "notes", [])])
        finally:
            store.close()
        return exits.OK
    except InstallError as e:
        return _fail(str(e))
    except OSError as e:
        return _file_failure("install", e, WRITING)


def cmd_uninstall(args, config) -> int:
    from autoresponder.sieve.install import uninstall

    try:
        store = open_store(args)
        try:
            _say(uninstall(store, name=args.name).messages)
        finally:
            store.close()
        return exits.OK
    except InstallError as e:
        return _fail(str(e))
    except OSError as e:
        return _file_failure("uninstall", e, WRITING)


def cmd_status(args, config) -> int:
    from autoresponder.sieve.install import status

    def expected(state: S.State, seconds_ok: bool):  # what install --force would write now
        return builder(config, state.flavour, state.program or S.PROGRAM, force=True)(
            state, seconds_ok)

    try:
        store = open_store(args)
        try:
            try:
                out = status(store, name=args.name, expected=expected)
            except InstallError as e:
                out = status(store, name=args.name)
                out["up_to_date"] = False
                out["problem"] = str(e)
        finally:
            store.close()
    except InstallError as e:
        return _fail(str(e))
    except OSError as e:
        return _file_failure("status", e, READING)
    if args.json:
        print(json.dumps(out, sort_keys=True))
        return exits.OK
    print(f"target:    {out['where']}")
    print(f"active:    {out['active'] or '(none)'}")
    print(f"scripts:   {', '.join(out['scripts']) or '(none)'}")
    if not out["installed"]:
        print(f"{out['name']!r} is not installed")
    elif not out.get("ours"):
        print(f"{out['name']!r} exists but was not written by autoresponder")
    else:
        state = "active" if out["is_active"] else "installed, NOT active"
        print(f"{out['name']!r}: {state}; flavour {out['flavour']}, account {out['account']}")
        if out.get("previous"):
            print(f"includes:  {out['previous']} (active before; restored by uninstall)")
        if "up_to_date" in out:
            print("current:   " + ("yes" if out["up_to_date"] else
                                   "NO - run `sieve install` again" +
                                   (f" ({out['problem']})" if out.get("problem") else "")))
        for w in out.get("warnings", ()):
            print(f"warning: {w}", file=sys.stderr)
    return exits.OK
