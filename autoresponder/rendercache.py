"""A memo of rendered replies, so most replies never import Jinja2 nor build MIME anew.

Importing Jinja2 costs more than the rest of a reply together, and most templates (the shipped
ones included) depend only on the account: its settings, dates, interval and language. When a
template uses nothing that changes per message (``sender``, ``original``, ``now``) and
includes no other template, its rendering is stored in the ``render_cache`` table under a key
made of everything it depends on: the package version, the account's handle (subject, message,
template, language, display name, enable round), its dates, interval and aliases, the language, the
time zone, and the identity (inode, size, mtime) of every template file that could be chosen.
Change any of them and the key changes; `purge` empties the table.
"""

import os

from autoresponder import __version__
from autoresponder.replytext import LANGUAGES, Rendered
from autoresponder.resources import template_dirs


def key(config, account, language: str) -> str:
    interval = account.interval_seconds if account.interval_seconds is not None else \
        config.interval
    parts = [__version__, account.address, account.handle, account.start_at or "",
             account.end_at or "", str(interval), language, config.timezone, config.language,
             ",".join(sorted(account.aliases))]
    name = account.template or "default"
    for d in template_dirs(config):
        for lang in (language, config.language, *LANGUAGES):
            for ext in ("txt", "html"):
                path = os.path.join(d, f"{name}.{lang}.{ext}")
                try:
                    st = os.stat(path)
                    parts.append(f"{path}:{st.st_ino}:{st.st_size}:{st.st_mtime_ns}")
                except OSError:
                    parts.append(f"{path}:-")
    return "\0".join(parts)


def get(conn, k: str) -> "tuple[Rendered, bytes] | None":
    """The memoised rendering and its MIME body (reply.mime_body), or None."""
    try:
        row = conn.execute("SELECT subject, text, html, language, template, mime FROM "
                           "render_cache WHERE key = ?", (k,)).fetchone()
    except Exception:
        return None
    if row is None:
        return None
    return Rendered(row[0], row[1], row[2], row[3], row[4], True), bytes(row[5])


def put(conn, k: str, r: Rendered, mime: bytes, now: float) -> None:
    try:
        conn.execute("INSERT OR REPLACE INTO render_cache (key, subject, text, html, mime, "
                     "language, template, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                     (k, r.subject, r.text, r.html, mime, r.language, r.template, now))
    except Exception:
        pass  # a memo: missing it costs time, never correctness
