"""One "host" process of the drills: many deliveries at once, each in its own thread with its
own store (its own database connection), transport and log, as concurrent `deliver`
processes on one mail host would run them; all start together at a given wall time.

    python -m tests.pg.hostworker CONFIG START_AT JOBS_JSON

JOBS_JSON is a list of [sender, recipient, message_text]; prints a JSON list of
[exit code, outcome name] in the same order.
"""

from __future__ import annotations

import json
import sys
import threading
import time


def main() -> int:
    config_path, start_at, jobs = sys.argv[1], float(sys.argv[2]), json.loads(sys.argv[3])
    from autoresponder import config as config_mod
    from autoresponder import outcomes
    from autoresponder.envelope import from_args
    from autoresponder.line import Line
    from autoresponder.logs import Log
    from autoresponder.message import from_bytes
    from autoresponder.store import open_store
    from autoresponder.transports import open_transport

    config = config_mod.load(config_path)
    log = Log(config)
    ready = threading.Barrier(len(jobs) + 1)
    results: list = [None] * len(jobs)

    def run(i: int, sender: str, recipient: str, text: str) -> None:
        store = open_store(config)
        try:
            store.find_account(recipient)  # connected (and the schema checked) before the race
        except Exception:
            pass
        transport = open_transport(config)
        ready.wait()
        try:
            envelope = from_args(sender, recipient, None, config)
            result = Line(config, store, transport, log).run(envelope, from_bytes(
                text.encode()), time.time())
            results[i] = [outcomes.exit_code(result.outcome), result.outcome.name]
        except Exception as e:  # noqa: BLE001 - reported, and the drill fails on it
            results[i] = [-1, f"{type(e).__name__}: {e}"]
        finally:
            transport.close()
            store.close()

    threads = [threading.Thread(target=run, args=(i, *job)) for i, job in enumerate(jobs)]
    for t in threads:
        t.start()
    time.sleep(max(0.0, start_at - time.time()))
    ready.wait()
    for t in threads:
        t.join()
    print(json.dumps(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
