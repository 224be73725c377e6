"""A memo of rendered replies, so most replies never import Jinja2 nor build MIME anew.

Importing Jinja2 costs more than the rest of a reply together, and most templates (the shipped
ones included) depend only on the account: its settings, dates, interval and language. When a
template uses nothing that changes per message (``sender``, ``original``, ``now``) and
includes no other template, its rendering is stored in the ``render_cache`` table under a key
made of everything it depends on: the package version, the account's handle (subject, message,
template, language, display name, enable round), its dates, interval and aliases, the language, the
time zone, and the identity (inode, size, mtime) of every template file that could be chosen.
Change any of them and the key changes; `purge` empties the table. The table itself is the
store's (``Store.memo_get``/``memo_put``); this module only makes the key.
"""

import os

from autoresponder import __version__
from autoresponder.derived import effective_interval
from autoresponder.replytext import LANGUAGES
from autoresponder.resources import template_dirs


def key(config, account, language: str) -> str:
    interval = effective_interval(account, config)
    parts = [__version__, account.address, account.handle, account.start_at or "",
             account.end_at or "", str(interval), language,
             getattr(account, "timezone", None) or config.timezone, config.language,
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
