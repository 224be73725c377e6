"""The Dovecot lab (tests/dovecot/lab.py) with IMAP on, so that the pages' password sign-in
is checked by a real mail server: users away|alice|...@lab.test, password "secret", STARTTLS
with the lab's self-signed certificate."""

from __future__ import annotations

import os

from tests.dovecot.lab import DOMAIN, PASSWORD, DovecotLab, dovecot_missing, free_port

__all__ = ["DOMAIN", "PASSWORD", "ImapLab", "imap_missing"]


def imap_missing() -> "str | None":
    why = dovecot_missing()
    if why:
        return why
    if not os.path.exists("/usr/lib/dovecot/imap-login"):
        return "dovecot-imapd is not installed (.ci/run installs it)"
    return None


class ImapLab(DovecotLab):
    def __init__(self):
        super().__init__(submission_port=free_port())
        self.imap_port = free_port()

    def write(self) -> None:
        super().write()
        text = self.conf.read_text().replace("protocols = lmtp sieve",
                                             "protocols = lmtp sieve imap")
        text += (f"service imap-login {{\n  inet_listener imap {{\n    address = 127.0.0.1\n"
                 f"    port = {self.imap_port}\n  }}\n  inet_listener imaps {{\n"
                 f"    port = 0\n  }}\n}}\n")
        self.conf.write_text(text)

    def start(self) -> "ImapLab":
        super().start()
        import time

        deadline = time.monotonic() + 10
        while not self._listening(self.imap_port):
            if time.monotonic() > deadline:
                raise RuntimeError(f"dovecot's IMAP did not listen: {self.log_text()}")
            time.sleep(0.05)
        return self

    def http_config(self) -> str:
        """The [http] settings that make `serve --http` ask this lab for passwords."""
        return (f'imap_host = "127.0.0.1"\nimap_port = {self.imap_port}\n'
                f'imap_security = "starttls"\nimap_ca_file = "{self.ca}"\n')
