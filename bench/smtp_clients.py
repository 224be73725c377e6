#!/usr/bin/env python3
"""How should `serve` send its replies? smtplib in worker threads vs aiosmtplib on the loop.

The delivery line is synchronous (it runs in a worker thread per message), so the candidates
are measured the way `serve` would use them, from 4 threads sending at once to an aiosmtpd
sink in another process:

- smtplib, a new connection per reply (what one `deliver` process does);
- smtplib, one connection per thread, kept open between replies (RSET between messages);
- aiosmtplib, 4 connections kept open on one event loop thread, each send handed over from
  the worker thread with ``asyncio.run_coroutine_threadsafe`` (the bridge a sync line needs).

Usage: ``python bench/smtp_clients.py [--messages 2000]`` (needs aiosmtpd and aiosmtplib).
Prints replies/s and p50/p99 per send; measure on a quiet machine.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import smtplib
import socket
import statistics
import threading
import time

MSG = (b"From: ana@example.com\r\nTo: bob@example.org\r\nSubject: Auto: hello\r\n"
       b"Auto-Submitted: auto-replied\r\n\r\n" + b"Back on Monday.\r\n" * 20)
THREADS = 4


def sink(port_q) -> None:
    from aiosmtpd.controller import Controller

    class H:
        async def handle_DATA(self, server, session, envelope):
            return "250 2.0.0 ok"

    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    c = Controller(H(), hostname="127.0.0.1", port=port)
    c.start()
    port_q.put(port)
    threading.Event().wait()


def run_threads(n: int, send_for_thread) -> "tuple[float, list[float]]":
    lat: "list[float]" = []
    lock = threading.Lock()

    def work(k: int) -> None:
        send = send_for_thread(k)
        mine = []
        for _ in range(n // THREADS):
            t0 = time.perf_counter()
            send()
            mine.append(time.perf_counter() - t0)
        with lock:
            lat.extend(mine)

    ts = [threading.Thread(target=work, args=(k,)) for k in range(THREADS)]
    t0 = time.perf_counter()
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    return time.perf_counter() - t0, lat


def smtplib_fresh(port: int):
    def for_thread(k):
        def send():
            with smtplib.SMTP("127.0.0.1", port, local_hostname="bench") as s:
                s.sendmail("", ["bob@example.org"], MSG)
        return send
    return for_thread


def smtplib_kept(port: int):
    def for_thread(k):
        s = smtplib.SMTP("127.0.0.1", port, local_hostname="bench")

        def send():
            s.sendmail("", ["bob@example.org"], MSG)  # smtplib sends RSET on errors only
        return send
    return for_thread


def aiosmtplib_bridge(port: int):
    import aiosmtplib

    loop = asyncio.new_event_loop()
    threading.Thread(target=loop.run_forever, daemon=True).start()

    async def connect():
        c = aiosmtplib.SMTP(hostname="127.0.0.1", port=port, local_hostname="bench")
        await c.connect()
        return c

    clients = [asyncio.run_coroutine_threadsafe(connect(), loop).result() for _ in
               range(THREADS)]

    def for_thread(k):
        c = clients[k]

        def send():
            asyncio.run_coroutine_threadsafe(
                c.sendmail("", ["bob@example.org"], MSG), loop).result()
        return send
    return for_thread


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--messages", type=int, default=2000)
    n = p.parse_args().messages
    q = multiprocessing.Queue()
    proc = multiprocessing.Process(target=sink, args=(q,), daemon=True)
    proc.start()
    port = q.get(timeout=10)
    print(f"{n} replies from {THREADS} threads to an aiosmtpd sink (another process)")
    print("| client | replies/s | p50 ms | p99 ms |\n| --- | ---: | ---: | ---: |")
    for name, make in (("smtplib, new connection per reply", smtplib_fresh),
                       ("smtplib, one kept connection per thread", smtplib_kept),
                       ("aiosmtplib, kept connections, bridged from threads",
                        aiosmtplib_bridge)):
        wall, lat = run_threads(n, make(port))
        lat.sort()
        print(f"| {name} | {len(lat) / wall:,.0f} | {statistics.median(lat) * 1000:.2f} | "
              f"{lat[int(0.99 * (len(lat) - 1))] * 1000:.2f} |")
    proc.terminate()


if __name__ == "__main__":
    main()
