"""JMAP (RFC 8620) for the VacationResponse of RFC 8621: the Session resource and the API.

    GET  /.well-known/jmap   the Session (capabilities, accounts, apiUrl, ...)
    POST /jmap/api           Core/echo, VacationResponse/get, VacationResponse/set

Accounts are the stored vacation accounts, by address (the account id is the address). An
admin token sees every account and may also name an address that has no account yet (its
singleton is disabled until set); an account token or a mailbox owner's login sees its own
account only: any other account id is accountNotFound, whether it exists or not.

Request-level errors are RFC 7807 problem details (400, application/problem+json): notJSON,
notRequest, unknownCapability, limit. Method-level errors are ["error", {...}, id]. Every
failure inside a method becomes a method error (serverFail, serverUnavailable), never an
HTTP 500, and a /set writes all of its update in one store transaction or nothing.
"""

from __future__ import annotations

import hashlib
import json
import time

from aiohttp import web

from autoresponder.http import vacation
from autoresponder.http.auth import AuthFailed
from autoresponder.schedadmin import MAX_ITEMS

CORE = "urn:ietf:params:jmap:core"
VACATION = "urn:ietf:params:jmap:vacationresponse"
KNOWN = (CORE, VACATION, vacation.CAPABILITY)
ERR = "urn:ietf:params:jmap:error:"
MAX_OBJECTS = 16
MAX_CONCURRENT = 4
API_PATH = "/jmap/api"


def install(app: web.Application) -> None:
    app.middlewares.append(last_resort)
    app.router.add_get("/.well-known/jmap", session_handler)
    app.router.add_post(API_PATH, api_handler)
    for path in ("/jmap/download/{rest:.*}", "/jmap/upload/{rest:.*}",
                 "/jmap/eventsource/{rest:.*}"):
        app.router.add_route("*", path, not_offered)
    app[_BUSY] = {}


_BUSY = web.AppKey("jmap-busy", dict)  # principal name -> requests being answered


@web.middleware
async def last_resort(request: web.Request, handler):
    """A bug in a JMAP handler is logged and answered as a problem document (the handlers
    turn every expected failure into its RFC 8620 error themselves)."""
    try:
        return await handler(request)
    except web.HTTPException:
        raise
    except Exception as e:  # noqa: BLE001
        if not request.path.startswith(("/jmap/", "/.well-known/jmap")):
            raise
        from autoresponder.http.app import LOG

        request.app[LOG].write({"service": "http", "event": "internal-error",
                                "path": request.path[:200],
                                "reason": f"{type(e).__name__}: {e}"[:500]}, "error")
        return problem(500, ERR + "serverFail", "internal error (logged)")


# --- responses ---------------------------------------------------------------------------------

def problem(status: int, type_: str, detail: str, headers: "dict | None" = None,
            **extra) -> web.Response:
    """An RFC 7807 problem details response."""
    body = {"type": type_, "status": status, "detail": detail, **extra}
    return web.Response(status=status, text=json.dumps(body), headers=headers,
                        content_type="application/problem+json")


def auth_problem(e: AuthFailed) -> web.Response:
    kinds = {401: "about:blank#unauthorized", 403: "about:blank#forbidden",
             429: "about:blank#too-many-requests", 503: "about:blank#unavailable"}
    return problem(e.status, kinds.get(e.status, "about:blank"), e.reason, e.headers())


async def not_offered(request: web.Request) -> web.Response:
    return problem(404, "about:blank#not-found", "blobs and push are not offered by this "
                   "server (VacationResponse only)")


def _json(data) -> web.Response:
    return web.Response(text=json.dumps(data, ensure_ascii=False),
                        content_type="application/json")


# --- who and what ------------------------------------------------------------------------------

async def _principal(request: web.Request):
    from autoresponder.http.app import AUTH

    return await request.app[AUTH].principal(request)


def _accounts(store, principal) -> "list[str]":
    if principal.admin:
        return [a.address for a in store.list_accounts()]
    return [principal.account]


def _session_state(accounts: "list[str]") -> str:
    return hashlib.sha256("\0".join(accounts).encode()).hexdigest()[:16]


def _base_url(request: web.Request) -> str:
    from autoresponder.http.app import AUTH, CONFIG

    config = request.app[CONFIG]
    if config.http.public_url:
        return config.http.public_url.rstrip("/")
    auth = request.app[AUTH]
    scheme = "https" if request.secure else "http"
    if config.http.trust_forwarded and "X-Forwarded-Proto" in request.headers \
            and auth.secure(request):
        scheme = "https"
    host = request.host or "localhost"
    if any(c in host for c in "/\\@ \t\r\n") or len(host) > 255:
        host = "localhost"
    return f"{scheme}://{host}"


def _templates(config) -> "set[str]":
    from autoresponder.render import list_templates

    return {t[0] for t in list_templates(config)}


async def session_handler(request: web.Request) -> web.Response:
    from autoresponder.http.app import CONFIG, STORE

    try:
        principal = await _principal(request)
    except AuthFailed as e:
        return auth_problem(e)
    config = request.app[CONFIG]
    try:
        accounts = await request.app[STORE].call(lambda s: _accounts(s, principal))
    except Exception as e:  # noqa: BLE001 - the store is down: say so, never a 500
        return problem(503, "about:blank#unavailable", f"the database is unavailable: {e}")
    base = _base_url(request)
    caps = {
        CORE: {"maxSizeUpload": 0, "maxConcurrentUpload": 1,
               "maxSizeRequest": config.http.max_request_size,
               "maxConcurrentRequests": MAX_CONCURRENT,
               "maxCallsInRequest": config.http.max_calls,
               "maxObjectsInGet": MAX_OBJECTS, "maxObjectsInSet": MAX_OBJECTS,
               "collationAlgorithms": ["i;ascii-casemap"]},
        VACATION: {},
        vacation.CAPABILITY: {"languages": list(vacation.LANGUAGES),
                              "templates": sorted(_templates(config)),
                              "properties": list(vacation.EXTRA),
                              "defaultTimeZone": config.timezone,
                              "maxAbsences": MAX_ITEMS, "maxWindows": MAX_ITEMS,
                              "maxInternalDomains": vacation.MAX_DOMAINS,
                              "maxAliases": vacation.MAX_ALIASES},
    }
    acct_caps = {VACATION: {}, vacation.CAPABILITY: {}}
    primary = {} if principal.admin else {CORE: principal.account,
                                          VACATION: principal.account}
    body = {
        "capabilities": caps,
        "accounts": {a: {"name": a, "isPersonal": not principal.admin, "isReadOnly": False,
                         "accountCapabilities": acct_caps} for a in accounts},
        "primaryAccounts": primary,
        "username": principal.name,
        "apiUrl": base + API_PATH,
        "downloadUrl": base + "/jmap/download/{accountId}/{blobId}/{name}?accept={type}",
        "uploadUrl": base + "/jmap/upload/{accountId}/",
        "eventSourceUrl": base + "/jmap/eventsource/?types={types}&closeafter={closeafter}"
                                 "&ping={ping}",
        "state": _session_state(accounts),
    }
    return _json(body)


# --- the API endpoint --------------------------------------------------------------------------

class MethodError(Exception):
    def __init__(self, type_: str, description: str = "", **extra):
        super().__init__(description)
        self.body = {"type": type_, **({"description": description} if description else {}),
                     **extra}


async def _read_body(request: web.Request, limit: int) -> "bytes | web.Response":
    too_big = problem(400, ERR + "limit", f"the request is larger than maxSizeRequest "
                      f"({limit} bytes)", limit="maxSizeRequest")
    if request.content_length is not None and request.content_length > limit:
        return too_big
    chunks, size = [], 0
    while True:
        chunk = await request.content.read(65536)
        if not chunk:
            break
        size += len(chunk)
        if size > limit:
            return too_big
        chunks.append(chunk)
    return b"".join(chunks)


def _check_request(req) -> "str | None":
    """Why a parsed body is not a JMAP Request object (None when it is one)."""
    if not isinstance(req, dict):
        return "the request is not a JSON object"
    using, calls = req.get("using"), req.get("methodCalls")
    if not isinstance(using, list) or not all(isinstance(u, str) for u in using):
        return "using: expected a list of capability URIs"
    if not isinstance(calls, list):
        return "methodCalls: expected a list of invocations"
    for c in calls:
        if not (isinstance(c, list) and len(c) == 3 and isinstance(c[0], str)
                and isinstance(c[1], dict) and isinstance(c[2], str)):
            return "methodCalls: each invocation is [name, arguments object, call id]"
    created = req.get("createdIds")
    if created is not None and not isinstance(created, dict):
        return "createdIds: expected an object"
    unknown = set(req) - {"using", "methodCalls", "createdIds"}
    if unknown:
        return f"unknown request properties: {', '.join(sorted(unknown))}"
    return None


def _no_duplicate_keys(pairs):
    d = {}
    for k, v in pairs:
        if k in d:
            raise ValueError(f"duplicate key {k!r}")  # I-JSON (RFC 7493): names are unique
        d[k] = v
    return d


async def api_handler(request: web.Request) -> web.Response:
    from autoresponder.http.app import CONFIG, LOG, STORE

    try:
        principal = await _principal(request)
    except AuthFailed as e:
        return auth_problem(e)
    config = request.app[CONFIG]
    busy = request.app[_BUSY]
    if busy.get(principal.name, 0) >= MAX_CONCURRENT:
        return problem(400, ERR + "limit", f"more than maxConcurrentRequests "
                       f"({MAX_CONCURRENT}) at once", limit="maxConcurrentRequests")
    busy[principal.name] = busy.get(principal.name, 0) + 1
    try:
        body = await _read_body(request, config.http.max_request_size)
        if isinstance(body, web.Response):
            return body
        try:
            req = json.loads(body.decode("utf-8"), object_pairs_hook=_no_duplicate_keys)
        except (UnicodeDecodeError, ValueError, RecursionError) as e:
            return problem(400, ERR + "notJSON", f"the request is not I-JSON: "
                           f"{str(e)[:200]}")
        why = _check_request(req)
        if why:
            return problem(400, ERR + "notRequest", why)
        unknown = [u for u in req["using"] if u not in KNOWN]
        if unknown:
            return problem(400, ERR + "unknownCapability", f"unknown capabilities: "
                           f"{', '.join(sorted(unknown))[:500]}")
        if len(req["methodCalls"]) > config.http.max_calls:
            return problem(400, ERR + "limit", f"more than maxCallsInRequest "
                           f"({config.http.max_calls}) method calls", limit="maxCallsInRequest")
        call = Calls(request, principal, set(req["using"]))
        responses = []
        for name, args, call_id in req["methodCalls"]:
            try:
                args = _resolve_refs(args, responses)
                result = await call.run(name, args)
                responses.append([name, result, call_id])
            except MethodError as e:
                responses.append(["error", e.body, call_id])
            except Exception as e:  # noqa: BLE001 - a method never takes the request down
                from autoresponder.store.base import StoreError

                if isinstance(e, StoreError):
                    responses.append(["error", {"type": "serverUnavailable",
                                                "description": "the database is unavailable"},
                                      call_id])
                else:
                    request.app[LOG].write({"service": "http", "event": "method-failed",
                                            "method": name[:100],
                                            "reason": f"{type(e).__name__}: {e}"[:500]},
                                           "error")
                    responses.append(["error", {"type": "serverFail",
                                                "description": type(e).__name__}, call_id])
        try:
            accounts = await request.app[STORE].call(lambda s: _accounts(s, principal))
            state = _session_state(accounts)
        except Exception:  # noqa: BLE001
            state = "0"
        out = {"methodResponses": responses, "sessionState": state}
        if req.get("createdIds") is not None:
            out["createdIds"] = req["createdIds"]
        return _json(out)
    finally:
        busy[principal.name] -= 1
        if not busy[principal.name]:
            del busy[principal.name]


# --- result references (RFC 8620 section 3.7) ----------------------------------------------------

def _resolve_refs(args: dict, responses: list) -> dict:
    out = {}
    for key, value in args.items():
        if not key.startswith("#"):
            continue
        plain = key[1:]
        if plain in args:
            raise MethodError("invalidArguments", f"both {plain} and #{plain} given",
                              arguments=[plain])
        if not (isinstance(value, dict) and isinstance(value.get("resultOf"), str)
                and isinstance(value.get("name"), str) and isinstance(value.get("path"), str)):
            raise MethodError("invalidResultReference", f"#{plain}: expected a ResultReference")
        for name, result, call_id in responses:
            if call_id == value["resultOf"]:
                if name != value["name"]:
                    raise MethodError("invalidResultReference",
                                      f"#{plain}: {call_id} answered {name}, not "
                                      f"{value['name']}")
                out[plain] = _pointer(result, value["path"], plain)
                break
        else:
            raise MethodError("invalidResultReference", f"#{plain}: no earlier response "
                              f"{value['resultOf']!r}")
    if not out:
        return args
    return {**{k: v for k, v in args.items() if not k.startswith("#")}, **out}


def _pointer(doc, path: str, arg: str):
    if path == "":
        return doc
    if not path.startswith("/"):
        raise MethodError("invalidResultReference", f"#{arg}: a path starts with /")
    parts = [p.replace("~1", "/").replace("~0", "~") for p in path[1:].split("/")]
    return _walk(doc, parts, arg)


def _walk(doc, parts, arg):
    if not parts:
        return doc
    head, rest = parts[0], parts[1:]
    if isinstance(doc, list) and head == "*":
        out = []
        for item in doc:
            got = _walk(item, rest, arg)
            out.extend(got if isinstance(got, list) else [got])
        return out
    if isinstance(doc, dict) and head in doc:
        return _walk(doc[head], rest, arg)
    if isinstance(doc, list) and head.isdigit() and int(head) < len(doc):
        return _walk(doc[int(head)], rest, arg)
    raise MethodError("invalidResultReference", f"#{arg}: the path does not resolve")


# --- methods -------------------------------------------------------------------------------------

class Calls:
    """The methods of one request: the principal, the capabilities the client uses."""

    def __init__(self, request: web.Request, principal, using: set):
        from autoresponder.http.app import CONFIG, LOG, STORE

        self.request = request
        self.principal = principal
        self.using = using
        self.config = request.app[CONFIG]
        self.store = request.app[STORE]
        self.log = request.app[LOG]
        self.extra = vacation.CAPABILITY in using

    async def run(self, name: str, args: dict) -> dict:
        if name == "Core/echo" and CORE in self.using:
            return args
        if name == "VacationResponse/get" and VACATION in self.using:
            return await self.vacation_get(args)
        if name == "VacationResponse/set" and VACATION in self.using:
            return await self.vacation_set(args)
        raise MethodError("unknownMethod", f"{name[:100]} is not offered (or its capability "
                          f"is not in using)")

    @staticmethod
    def _allowed_args(args: dict, allowed: "tuple[str, ...]") -> None:
        unknown = [k for k in args if k not in allowed]
        if unknown:
            raise MethodError("invalidArguments", f"unknown arguments: "
                              f"{', '.join(sorted(unknown))[:300]}", arguments=sorted(unknown))

    async def _account(self, args: dict):
        """(address, Account or None) of args' accountId, when this principal may use it."""
        from autoresponder import addresses

        account_id = args.get("accountId")
        if not isinstance(account_id, str):
            raise MethodError("invalidArguments", "accountId: expected a string",
                              arguments=["accountId"])
        p = self.principal
        if not p.admin and account_id != p.account:
            raise MethodError("accountNotFound")
        if p.admin and (len(account_id) > 320 or addresses.normalize(account_id) != account_id):
            raise MethodError("accountNotFound")
        acct = await self.store.call(lambda s: s.find_account(account_id))
        if acct is not None and acct.address != account_id:  # an alias is no account id
            raise MethodError("accountNotFound")
        return account_id, acct

    async def vacation_get(self, args: dict) -> dict:
        self._allowed_args(args, ("accountId", "ids", "properties"))
        address, acct = await self._account(args)
        ids, props = args.get("ids"), args.get("properties")
        if ids is not None and not (isinstance(ids, list) and all(isinstance(i, str)
                                                                 for i in ids)):
            raise MethodError("invalidArguments", "ids: expected a list of ids or null",
                              arguments=["ids"])
        if ids is not None and len(ids) > MAX_OBJECTS:
            raise MethodError("requestTooLarge", f"more than maxObjectsInGet ({MAX_OBJECTS})")
        allowed = vacation.properties(self.extra)
        if props is not None:
            if not (isinstance(props, list) and all(isinstance(p, str) for p in props)):
                raise MethodError("invalidArguments", "properties: expected a list of names "
                                  "or null", arguments=["properties"])
            unknown = [p for p in props if p not in allowed]
            if unknown:
                raise MethodError("invalidArguments", f"unknown properties: "
                                  f"{', '.join(sorted(unknown))[:300]}",
                                  arguments=["properties"])
        obj = vacation.to_jmap(acct, self.extra, self.config.timezone)
        if props is not None:
            obj = {k: v for k, v in obj.items() if k in props or k == "id"}
        wanted = ids is None or vacation.SINGLETON in ids
        return {"accountId": address, "state": vacation.state(acct),
                "list": [obj] if wanted else [],
                "notFound": [i for i in dict.fromkeys(ids) if i != vacation.SINGLETON]
                if ids is not None else []}

    async def vacation_set(self, args: dict) -> dict:
        self._allowed_args(args, ("accountId", "ifInState", "create", "update", "destroy"))
        address, acct = await self._account(args)
        if_in = args.get("ifInState")
        create, update, destroy = args.get("create"), args.get("update"), args.get("destroy")
        if if_in is not None and not isinstance(if_in, str):
            raise MethodError("invalidArguments", "ifInState: expected a string or null",
                              arguments=["ifInState"])
        for key, value, kind in (("create", create, dict), ("update", update, dict),
                                 ("destroy", destroy, list)):
            if value is not None and not isinstance(value, kind):
                raise MethodError("invalidArguments", f"{key}: expected "
                                  f"{'an object' if kind is dict else 'a list'} or null",
                                  arguments=[key])
        if destroy is not None and not all(isinstance(i, str) for i in destroy):
            raise MethodError("invalidArguments", "destroy: expected a list of ids",
                              arguments=["destroy"])
        count = len(create or ()) + len(update or ()) + len(destroy or ())
        if count > MAX_OBJECTS:
            raise MethodError("requestTooLarge", f"more than maxObjectsInSet ({MAX_OBJECTS})")
        old_state = vacation.state(acct)
        if if_in is not None and if_in != old_state:
            raise MethodError("stateMismatch", "ifInState does not match the current state")
        out = {"accountId": address, "oldState": old_state, "newState": old_state,
               "created": None, "updated": None, "destroyed": None,
               "notCreated": None, "notUpdated": None, "notDestroyed": None}
        if create:
            out["notCreated"] = {cid: {"type": "singleton", "description":
                                       "there is one VacationResponse per account: update it"}
                                 for cid in create}
        if destroy:
            out["notDestroyed"] = {i: {"type": "singleton", "description":
                                       "the VacationResponse cannot be destroyed: set "
                                       "isEnabled to false"} for i in destroy}
        not_updated = {}
        for oid, patch in (update or {}).items():
            if oid != vacation.SINGLETON:
                not_updated[oid] = {"type": "notFound",
                                    "description": "the only id is \"singleton\""}
                continue
            try:
                acct, changed = await self._update(address, acct, patch, if_in)
            except vacation.SetError as e:
                not_updated[oid] = e.as_json()
                continue
            out["updated"] = {oid: changed}
            out["newState"] = vacation.state(acct)
        if not_updated:
            out["notUpdated"] = not_updated
        return out

    async def _update(self, address: str, acct, patch, if_in: "str | None"):
        """Apply `patch` to the singleton in one store transaction: (the saved Account, the
        /set `updated` value). Without ifInState, a patch that met a concurrent change is
        planned again on the new state (a patch names whole properties, so it means the same
        on either); with it, stateMismatch."""
        templates = _templates(self.config) if isinstance(patch, dict) and \
            any(k in patch for k in ("template", "externalTemplate", "absences", "windows")) \
            else set()
        extra, config = self.extra, self.config

        def work(store):
            """Read, plan and write on the store's thread: this app's writes queue there one
            after another; a writer elsewhere (the CLI, another host) makes check() raise."""
            current = acct
            for _attempt in range(5):
                p = vacation.plan(current, patch, extra, config, templates, address)
                expected = vacation.state(current)

                def check(found, expected=expected):  # inside the store's transaction
                    if vacation.state(found) != expected:
                        raise _Changed()

                try:
                    saved = store.save_vacation(address, p.changes, p.aliases, p.enabled,
                                                time.time(), check, p.items)
                    return saved, p.enabled, current
                except _Changed:
                    if if_in is not None:
                        raise
                    current = store.find_account(address)
            raise vacation.SetError("invalidPatch", "the VacationResponse kept changing; get "
                                    "it and retry")

        try:
            saved, enabled, before = await self.store.call(work)
        except _Changed:
            raise MethodError("stateMismatch", "changed by someone else meanwhile") from None
        except ValueError as e:  # aliases taken, an alias given as the account, ...
            prop = ["aliases"] if "alias" in str(e) and "absence" not in str(e) else \
                ["absences", "windows"] if "absence or window" in str(e) else None
            raise vacation.SetError("invalidProperties", str(e), prop) from None
        self.log.write({"service": "http", "event": "vacation-set", "account": address,
                        "by": self.principal.name, "via": self.principal.via,
                        "enabled": int(enabled)})
        zone = config.timezone
        return saved, vacation.server_set(patch, vacation.to_jmap(before, extra, zone),
                                          vacation.to_jmap(saved, extra, zone))


class _Changed(Exception):
    pass
