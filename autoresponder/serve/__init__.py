"""`autoresponder serve`: a persistent LMTP delivery service (issue 11).

Postfix's lmtp client (or `deliver --via`) hands it copies; each recipient goes through the
same delivery line as `deliver`, with the config, templates and database connections kept
warm, and gets its own LMTP answer: 250 for a reply or a skip, 451 when a retry is wanted,
421 when shutting down, never a 5xx.

Modules: `supervisor` (listeners, prefork, signals), `worker` (one process's asyncio loop),
`lmtp` (the protocol, on aiosmtpd), `pipeline` (the warm state and the one call into the
delivery line), `listen` (sockets), `metrics` (Prometheus). aiosmtpd and prometheus_client
are imported only here.
"""

from __future__ import annotations

import os
import sys


def add_command(sub) -> None:
    p = sub.add_parser("serve", help="run the LMTP delivery service (foreground)")
    p.add_argument("--lmtp", metavar="ADDRESS", action="append",
                   help="unix:PATH or inet:HOST:PORT; repeatable (default: serve.lmtp)")
    p.add_argument("--workers", type=int, metavar="N",
                   help="processes (default: serve.workers, 0 = one per CPU core)")
    p.add_argument("--metrics", metavar="HOST:PORT",
                   help="serve Prometheus metrics there (default: serve.metrics)")
    p.add_argument("--http", metavar="ADDRESS", action="append",
                   help="also answer HTTP (the JMAP API) at unix:PATH or inet:HOST:PORT; "
                        "repeatable (default: serve.http)")
    p.add_argument("--check", action="store_true",
                   help="check the config, templates and listen addresses, then exit")
    p.set_defaults(func=run)


def _say(text: str) -> None:
    print(f"autoresponder serve: {text}", file=sys.stderr)


def run(args, config) -> int:
    from autoresponder.outcomes import Exit as exits
    from autoresponder.relay import AddressError, parse_address
    from autoresponder.serve.worker import check_config

    addresses = args.lmtp or list(config.serve.lmtp)
    problems = check_config(config)
    for a in addresses:
        try:
            parse_address(a)
        except AddressError as e:
            problems.append(f"--lmtp: {e}")
    metrics = args.metrics if args.metrics is not None else config.serve.metrics
    if metrics:
        try:
            parse_address("inet:" + metrics)
        except AddressError as e:
            problems.append(f"--metrics: {e}")
    http = args.http or list(config.serve.http)
    if http:
        from autoresponder.http.server import check as check_http

        problems += check_http(http, config)
    workers = args.workers if args.workers is not None else config.serve.workers
    if workers < 0:
        problems.append("--workers: expected 0 or more")
    if not workers:  # the cores this process may run on (a container's, not the host's)
        workers = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") \
            else (os.cpu_count() or 1)
    for p in problems:
        _say(p)
    if args.check:
        if not problems:
            print(f"autoresponder serve: {config.source}: OK ({len(addresses)} listener(s), "
                  f"{workers} worker(s))")
        return exits.CONFIG if problems else exits.OK
    if problems:
        return exits.CONFIG
    import importlib.util

    for mod in ("aiosmtpd", "prometheus_client" if metrics else None):
        # find, not import: prometheus_client must first be imported by a worker, after the
        # supervisor has set up its multiprocess directory
        if mod and importlib.util.find_spec(mod) is None:
            _say(f"{mod} is not installed (pip install aiosmtpd prometheus_client)")
            return exits.CONFIG

    from autoresponder.serve import listen
    from autoresponder.serve.supervisor import Supervisor

    socks = []
    try:
        for a in addresses:
            socks.append(listen.open_listener(a, config.serve))
        metrics_sock = None
        if metrics:
            _, host, port = parse_address("inet:" + metrics)
            metrics_sock = listen.open_inet(host, port, config.serve.allow_remote)
        http_socks = []
        if http:
            from autoresponder.http.server import open_listeners

            http_socks = open_listeners(http, config)
    except listen.ListenError as e:
        _say(str(e))
        for s in socks:
            listen.close_listener(s)
        return exits.CONFIG
    return Supervisor(getattr(args, "config", None), config, socks, workers,
                      metrics_sock, http_socks).run()
