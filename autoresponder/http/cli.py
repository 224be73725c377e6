"""`autoresponder token create|list|revoke` (the HTTP API's tokens) and `autoresponder
vacation-response get|set` (the API's VacationResponse from the shell, through the same
validation and the same one-transaction write: whatever the API can set, the CLI can). No
aiohttp needed."""

from __future__ import annotations

import sys
import time

from autoresponder.outcomes import Exit as exits


def add_commands(sub) -> None:
    t = sub.add_parser("token", help="HTTP API tokens: create, list, revoke")
    ts = t.add_subparsers(dest="token_command", metavar="ACTION")
    ts.required = True
    c = ts.add_parser("create", help="make a token; it is shown once, only its hash is kept")
    who = c.add_mutually_exclusive_group(required=True)
    who.add_argument("--admin", action="store_true", help="a token for every account")
    who.add_argument("--account", metavar="ADDRESS", help="a token for this account only")
    c.add_argument("--label", default="", help="a note for `token list` (who holds it)")
    c.add_argument("--json", action="store_true")
    c.set_defaults(func=create)
    ls = ts.add_parser("list", help="every token: id, scope, label, created, revoked")
    ls.add_argument("--json", action="store_true")
    ls.set_defaults(func=list_tokens)
    r = ts.add_parser("revoke", help="revoke a token (by the id `token list` shows)")
    r.add_argument("token_id", metavar="ID")
    r.set_defaults(func=revoke)

    v = sub.add_parser("vacation-response",
                       help="the JMAP VacationResponse of an account, as the HTTP API sees it")
    vs = v.add_subparsers(dest="vr_command", metavar="ACTION")
    vs.required = True
    g = vs.add_parser("get", help="print the VacationResponse (JSON, with the extra properties)")
    g.add_argument("address")
    g.set_defaults(func=vr_get)
    st = vs.add_parser("set", help="apply a JMAP patch, e.g. '{\"isEnabled\": false}' (the "
                                   "API's checks; all of it or nothing)")
    st.add_argument("address")
    st.add_argument("patch", help="a JSON object of VacationResponse properties ('-': stdin)")
    st.add_argument("--if-in-state", metavar="STATE", help="refuse unless the state is this")
    st.set_defaults(func=vr_set)


def _store(config):
    from autoresponder.store import open_store

    return open_store(config, create=True)


def create(args, config) -> int:
    from autoresponder.derived import iso_utc
    from autoresponder.http import tokens

    account = None
    with _store(config) as store:
        if args.account is not None:
            from autoresponder.accounts import normalize_account

            try:
                account = normalize_account(args.account, config)
            except ValueError as e:
                print(f"autoresponder: {e}", file=sys.stderr)
                return exits.DATAERR
            found = store.find_account(account)
            if found is not None and found.address != account:
                print(f"autoresponder: {account} is an alias of {found.address}; the token "
                      f"is for {found.address}", file=sys.stderr)
                account = found.address
        text, row = tokens.make(account, args.label, iso_utc(time.time()))
        store.token_add(row)
    if args.json:
        import json

        print(json.dumps({"token": text, **_view(row)}))
    else:
        print(text)
        print(f"(token {row.token_id} for {account or 'every account (admin)'}; shown once: "
              f"keep it now)", file=sys.stderr)
    return exits.OK


def _view(row) -> dict:
    return {"id": row.token_id, "scope": "admin" if row.account is None else "account",
            "account": row.account, "label": row.label, "created_at": row.created_at,
            "revoked_at": row.revoked_at}


def list_tokens(args, config) -> int:
    with _store(config) as store:
        rows = store.token_list()
    if args.json:
        import json

        print(json.dumps([_view(r) for r in rows], indent=2))
        return exits.OK
    from autoresponder.logs import escape_controls

    for r in rows:
        state = f"revoked {r.revoked_at}" if r.revoked_at else "live"
        print(f"{r.token_id}  {r.account or '(admin)':<32}  {r.created_at}  {state}  "
              f"{escape_controls(r.label or '')}")
    return exits.OK


def revoke(args, config) -> int:
    with _store(config) as store:
        done = store.token_revoke(args.token_id.strip(), time.time())
    if not done:
        print(f"autoresponder: no live token {args.token_id!r}", file=sys.stderr)
        return exits.DATAERR
    print(f"token {args.token_id} revoked")
    return exits.OK


def _vr_account(args, config, store) -> str:
    from autoresponder.accounts import normalize_account

    address = normalize_account(args.address, config)
    found = store.find_account(address)
    return found.address if found is not None else address


def vr_get(args, config) -> int:
    import json

    from autoresponder.http import vacation

    with _store(config) as store:
        try:
            address = _vr_account(args, config, store)
        except ValueError as e:
            print(f"autoresponder: {e}", file=sys.stderr)
            return exits.DATAERR
        acct = store.find_account(address)
    print(json.dumps({"accountId": address, "state": vacation.state(acct),
                      **vacation.to_jmap(acct, True, config.timezone)}, indent=2,
                     ensure_ascii=False))
    return exits.OK


def vr_set(args, config) -> int:
    import json

    from autoresponder.http import vacation
    from autoresponder.render import list_templates

    text = sys.stdin.read() if args.patch == "-" else args.patch
    try:
        patch = json.loads(text)
    except ValueError as e:
        print(f"autoresponder: the patch is not JSON: {e}", file=sys.stderr)
        return exits.DATAERR

    class Mismatch(Exception):
        pass

    with _store(config) as store:
        try:
            address = _vr_account(args, config, store)
            acct = store.find_account(address)
            if args.if_in_state is not None and args.if_in_state != vacation.state(acct):
                raise Mismatch()
            templates = {t[0] for t in list_templates(config)}
            p = vacation.plan(acct, patch, True, config, templates, address)
            expected = vacation.state(acct)

            def check(found):
                if vacation.state(found) != expected:
                    raise Mismatch()

            saved = store.save_vacation(address, p.changes, p.aliases, p.enabled, time.time(),
                                        check, p.items)
        except vacation.SetError as e:
            where = f" ({', '.join(e.properties)})" if e.properties else ""
            print(f"autoresponder: {e.type}{where}: {e.description}", file=sys.stderr)
            return exits.DATAERR
        except Mismatch:
            print("autoresponder: stateMismatch: the VacationResponse changed; get it again",
                  file=sys.stderr)
            return exits.DATAERR
        except ValueError as e:
            print(f"autoresponder: {e}", file=sys.stderr)
            return exits.DATAERR
    print(json.dumps({"accountId": address, "state": vacation.state(saved),
                      **vacation.to_jmap(saved, True, config.timezone)}, indent=2,
                     ensure_ascii=False))
    return exits.OK
