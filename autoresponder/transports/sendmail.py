"""Hand the reply to the local MTA: ``sendmail -i -f <envelope> -- <recipient>``, never -t.

Both addresses are the canonical, validated mailboxes: Postfix's sendmail parses each word
as an address list, so nothing that could read as a second address ever reaches it.
"""

from autoresponder.transports import PermFail, TempFail, Transport, envelope_addresses


class SendmailTransport(Transport):
    def __init__(self, t):
        self.program, self.timeout = t.sendmail, t.timeout

    def send(self, mail_from: str, rcpt: str, data: bytes) -> str:
        import subprocess

        mail_from, rcpt = envelope_addresses(mail_from, rcpt)
        argv = [self.program, "-i", "-f", mail_from or "<>", "--", rcpt]
        try:
            r = subprocess.run(argv, input=data, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, timeout=self.timeout)
        except FileNotFoundError:
            raise TempFail(f"{self.program} not found") from None
        except PermissionError:
            raise TempFail(f"{self.program} is not executable by this user") from None
        except subprocess.TimeoutExpired:
            raise TempFail(f"{self.program} took longer than {self.timeout}s") from None
        if r.returncode == 0:
            return f"handed to {self.program}"
        err = (r.stderr or r.stdout).decode("utf-8", "replace").strip().splitlines()
        why = f"{self.program} exited {r.returncode}" + (f": {err[-1][:200]}" if err else "")
        if r.returncode in (64, 65, 67, 68):  # usage, data, no user, no host: retrying won't help
            raise PermFail(why)
        raise TempFail(why)
