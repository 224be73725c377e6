"""`serve --http`: the HTTP listeners and the child process that answers on them.

The supervisor opens the listeners with the LMTP ones (`open_listeners`) and forks one
"http" child (`run`), next to the LMTP workers: one process, so the in-memory login
rate limits are exact, and a slow IMAP password check never holds up a delivery. The child
reloads its config on SIGHUP and stops on SIGTERM (requests in flight get
`serve.drain_timeout` to finish). inet listeners off loopback need HTTPS (`[http] tls_cert`):
tokens and passwords never cross a network in the clear.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket


def tls_context(config):
    """The server's SSLContext from [http] tls_cert/tls_key, or None (plain HTTP)."""
    h = config.http
    if not h.tls_cert:
        return None
    import ssl

    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(h.tls_cert, h.tls_key)
    return ctx


def check(addresses: "list[str]", config) -> "list[str]":
    """Problems with these HTTP listen addresses and the TLS files (empty when fine)."""
    from autoresponder.relay import AddressError, parse_address
    from autoresponder.serve.listen import is_loopback

    problems = []
    for a in addresses:
        try:
            parsed = parse_address(a)
        except AddressError as e:
            problems.append(f"--http: {e}")
            continue
        if parsed[0] == "inet" and not is_loopback(parsed[1]) and not config.http.tls_cert:
            problems.append(f"--http {a}: not a loopback address, and [http] tls_cert is not "
                            f"set: tokens and passwords would cross the network in the clear")
    if addresses:
        try:
            import aiohttp  # noqa: F401
        except ImportError:
            problems.append("--http: aiohttp is not installed (pip install aiohttp)")
        try:
            tls_context(config)
        except (OSError, ValueError) as e:
            problems.append(f"[http] tls_cert/tls_key: {e}")
    return problems


def open_listeners(addresses: "list[str]", config) -> "list[socket.socket]":
    """The listening sockets (serve.listen's: a unix socket gets serve.socket_* owner, group
    and mode); ListenError on the first that cannot be opened."""
    from autoresponder.relay import parse_address
    from autoresponder.serve import listen

    socks = []
    try:
        for a in addresses:
            parsed = parse_address(a)
            if parsed[0] == "unix":
                socks.append(listen.open_listener(a, config.serve))
            else:  # loopback or TLS: check() made sure
                socks.append(listen.open_inet(parsed[1], parsed[2], allow_remote=True))
    except BaseException:
        for s in socks:
            listen.close_listener(s)
        raise
    return socks


def run(config_path: "str | None", config, socks: list) -> bool:
    """The body of the forked http child; True when it stopped cleanly."""
    from autoresponder.logs import Log

    try:
        asyncio.run(_main(config_path, config, socks))
    except Exception as e:  # noqa: BLE001
        Log(config).write({"service": "serve", "event": "http-crash", "pid": os.getpid(),
                           "reason": f"{type(e).__name__}: {e}"}, "error")
        return False
    return True


async def _main(config_path, config, socks) -> None:
    from aiohttp import web

    from autoresponder import config as config_mod
    from autoresponder.http.app import build_app

    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    state = {"config": config}

    async def serve_with(cfg):
        app = build_app(cfg)
        runner = web.AppRunner(app, access_log=None,
                               shutdown_timeout=float(cfg.serve.drain_timeout or 30))
        await runner.setup()
        ctx = tls_context(cfg)
        for s in socks:  # a copy per generation: stopping one closes only its copies
            tls = ctx if s.family != socket.AF_UNIX else None
            await web.SockSite(runner, s.dup(), ssl_context=tls).start()
        return runner

    runner = await serve_with(config)
    reload = asyncio.Event()

    def on_hup():
        reload.set()

    loop.add_signal_handler(signal.SIGHUP, on_hup)
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    loop.add_signal_handler(signal.SIGINT, stop.set)
    parent = os.getppid()
    log_event(config, "http-start", listeners=len(socks))
    while not stop.is_set():
        try:
            await asyncio.wait_for(asyncio.shield(_either(stop, reload)), 1.0)
        except asyncio.TimeoutError:
            if os.getppid() != parent:  # the supervisor died: nobody would restart us
                break
            continue
        if reload.is_set() and not stop.is_set():
            reload.clear()
            try:
                new = config_mod.load(config_path)
                tls_context(new)
            except (config_mod.ConfigError, OSError, ValueError) as e:
                log_event(state["config"], "http-reload", level="error", result="refused",
                          reason=str(e)[:1000])
                continue
            old = runner
            runner = await serve_with(new)  # accepts alongside the old one, which then
            await old.cleanup()             # finishes its requests in flight and stops
            state["config"] = new
            log_event(new, "http-reload", result="ok")
    await runner.cleanup()
    log_event(state["config"], "http-stopped")


async def _either(a: asyncio.Event, b: asyncio.Event) -> None:
    ta, tb = asyncio.ensure_future(a.wait()), asyncio.ensure_future(b.wait())
    done, pending = await asyncio.wait({ta, tb}, return_when=asyncio.FIRST_COMPLETED)
    for t in pending:
        t.cancel()


def log_event(config, name: str, level: str = "info", **fields) -> None:
    from autoresponder.logs import Log

    Log(config).write({"service": "serve", "event": name, "pid": os.getpid(), **fields}, level)
