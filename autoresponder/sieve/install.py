"""Install, uninstall and status, the same over a local sieve directory and over ManageSieve.

A store (``local.LocalStore`` or ``managesieve.ManageSieveStore``) offers: ``active()``,
``names()``, ``get(name)``, ``put(name, text)`` (refuses a script the server/sievec refuses,
with its message verbatim), ``activate(name | None)``, ``delete(name)``, ``seconds_ok()``, and
for plain-file active scripts ``adopt_plain()`` / ``restore_plain(name)``.

Never clobbering: when another script is active, ours includes it (``include :personal``) and
remembers its name in its marker; ``uninstall`` re-activates exactly that one (or none), and
leaves activation alone if someone activated something else since. A local active link is
put back with its exact text, even one that pointed at a script that no longer exists.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from autoresponder.sieve.script import SCRIPT_NAME, State, parse_state


class InstallError(Exception):
    """The installation was refused or failed; the message is for the admin, verbatim."""


@dataclass
class Result:
    messages: "list[str]" = field(default_factory=list)


Builder = Callable[[State, bool], "tuple[str, list[str]]"]


def install(store, flavour: str, account: str, build: Builder,
            name: str = SCRIPT_NAME) -> Result:
    """Put our script in place and make it the active one, keeping the user's filters."""
    res = Result()
    active = store.active()
    adopted = None
    if active == name:
        old = parse_state(store.get(name) or "")
        if old is None:
            raise InstallError(f"the active script {name!r} was not written by autoresponder; "
                               f"use --name to pick another name")
        previous, previous_file = old.previous, old.previous_file
        previous_link = old.previous_link
    else:
        existing = store.get(name) if name in store.names() else None
        if existing is not None and parse_state(existing) is None:
            raise InstallError(f"a script named {name!r} exists and was not written by "
                               f"autoresponder; use --name to pick another name")
        previous, previous_file = active, False
        previous_link = store.active_link()
        if active is None and previous_link is None:
            adopted = store.adopt_plain()
            if adopted is not None:
                previous, previous_file = adopted, True
    state = State(flavour=flavour, account=account, previous=previous,
                  previous_file=previous_file, previous_link=previous_link)
    text, warnings = build(state, store.seconds_ok())
    res.messages += [f"warning: {w}" for w in warnings]
    try:
        store.put(name, text)
        store.activate(name)
    except BaseException:
        if adopted is not None:
            store.restore_plain(adopted)
        raise
    if previous:
        kind = "plain file, moved into the sieve dir" if previous_file else "script"
        res.messages.append(f"installed {name!r} ({flavour}) and activated it; the previously "
                            f"active {kind} {previous!r} is included and still runs")
    else:
        res.messages.append(f"installed {name!r} ({flavour}) and activated it")
    return res


def uninstall(store, name: str = SCRIPT_NAME) -> Result:
    """Remove our script and re-activate what was active before it, exactly."""
    res = Result()
    if name not in store.names():
        res.messages.append(f"{name!r} is not installed; nothing to do")
        return res
    state = parse_state(store.get(name) or "")
    if state is None:
        raise InstallError(f"the script {name!r} was not written by autoresponder; "
                           f"leaving it alone")
    if store.active() == name:
        if state.previous and state.previous_file:
            store.restore_plain(state.previous)
            res.messages.append(f"restored the previous active file from {state.previous!r}")
        elif state.previous and state.previous in store.names():
            store.activate(state.previous, state.previous_link)
            res.messages.append(f"re-activated {state.previous!r}")
        elif state.previous:
            store.activate(None)
            res.messages.append(f"warning: the previous script {state.previous!r} is gone; "
                                f"no script is active now")
        elif state.previous_link:
            store.activate(None, state.previous_link)
            res.messages.append(f"put back the active link as it was ({state.previous_link}, "
                                f"which names no existing script)")
        else:
            store.activate(None)
            res.messages.append("no script was active before; none is active now")
    else:
        res.messages.append(f"{name!r} is not the active script; activation left as it is")
    store.delete(name)
    res.messages.append(f"removed {name!r}")
    return res


def status(store, name: str = SCRIPT_NAME,
           expected: "Callable[[State, bool], tuple[str, list[str]]] | None" = None) -> dict:
    """What is installed: ours or not, active or not, flavour, account, what it includes,
    and (given a builder) whether it still matches the account's current settings."""
    names = store.names()
    active = store.active()
    out: dict = {"where": store.where, "active": active, "scripts": sorted(names),
                 "installed": name in names, "is_active": active == name, "name": name}
    if name in names:
        text = store.get(name) or ""
        state = parse_state(text)
        out["ours"] = state is not None
        if state is not None:
            out.update(flavour=state.flavour, account=state.account, previous=state.previous,
                       previous_file=state.previous_file)
            if expected is not None:
                want, warnings = expected(state, store.seconds_ok())
                out["up_to_date"] = _same(want, text)
                if warnings:  # e.g. settings the vacation flavour cannot follow
                    out["warnings"] = warnings
    return out


def _same(a: str, b: str) -> bool:
    """Equal up to line ends and the final newline (ManageSieve clients change both)."""
    def norm(s: str) -> str:
        return s.replace("\r\n", "\n").rstrip("\n")
    return norm(a) == norm(b)
