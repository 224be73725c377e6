"""`autoresponder token create|list|revoke`: the HTTP API's tokens (no aiohttp needed)."""

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
