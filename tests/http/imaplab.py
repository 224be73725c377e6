"""tests/dovecot/lab.py's private Dovecot with IMAP on as well (STARTTLS on one port, implicit
TLS on another, its self-signed certificate for 127.0.0.1): the server that checks mailbox
owners' passwords for the HTTP API. Users as the lab's (``alice@lab.test`` ... password
``secret``) plus ``carol`` (a bare login name) whose password is not ASCII."""

from __future__ import annotations

import os
import socket
import subprocess
import time

from tests.dovecot.lab import NOBODY, DovecotLab, dovecot_missing, free_port

CAROL_PASSWORD = "pão-de-açúcar"
IMAP = "/usr/lib/dovecot/imap"


def imap_missing() -> "str | None":
    """Why the IMAP lab cannot run (None when it can); installs dovecot-imapd when root."""
    why = dovecot_missing()
    if why:
        return why
    if os.path.exists(IMAP):
        return None
    if os.geteuid() != 0:
        return "dovecot-imapd is not installed and we are not root to install it"
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    r = subprocess.run(["apt-get", "-o", "DPkg::Lock::Timeout=600", "install", "-y",
                        "--no-install-recommends", "dovecot-imapd"], env=env,
                       capture_output=True, text=True, timeout=600)
    if r.returncode != 0 or not os.path.exists(IMAP):
        return f"installing dovecot-imapd failed: {(r.stderr or r.stdout).strip()[-300:]}"
    return None


class ImapLab(DovecotLab):
    def __init__(self, submission_port: int):
        super().__init__(submission_port)
        self.imap_port = free_port()
        self.imaps_port = free_port()

    def write(self) -> None:
        super().write()
        home = self.home("carol")
        home.mkdir(parents=True, exist_ok=True)
        os.chown(home, NOBODY, NOBODY)
        with open(self.root / "users", "a", encoding="utf-8") as f:
            f.write(f"carol:{{PLAIN}}{CAROL_PASSWORD}:{NOBODY}:{NOBODY}::{home}::\n")
        text = self.conf.read_text().replace("protocols = lmtp sieve",
                                             "protocols = imap lmtp sieve")
        # a wrong password answers at once (Dovecot waits 2 s by default): the tests make many
        text += f"""auth_failure_delay = 0
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {self.imap_port}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {self.imaps_port}
    ssl = yes
  }}
}}
"""
        self.conf.write_text(text)

    def start(self) -> "ImapLab":
        super().start()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.imap_port), timeout=0.5):
                    return self
            except OSError:
                time.sleep(0.02)
        raise RuntimeError(f"dovecot's IMAP did not listen: {self.log_text()}")
