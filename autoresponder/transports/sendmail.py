"""Hand the reply to the local MTA: ``sendmail -i -f <envelope> -- <recipient>``, never -t."""

import subprocess

from autoresponder.transports import PermFail, TempFail


def send(t, mail_from: str, rcpt: str, data: bytes) -> str:
    argv = [t.sendmail, "-i", "-f", mail_from or "<>", "--", rcpt]
    try:
        r = subprocess.run(argv, input=data, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=t.timeout)
    except FileNotFoundError:
        raise TempFail(f"{t.sendmail} not found") from None
    except PermissionError:
        raise TempFail(f"{t.sendmail} is not executable by this user") from None
    except subprocess.TimeoutExpired:
        raise TempFail(f"{t.sendmail} took longer than {t.timeout}s") from None
    if r.returncode == 0:
        return f"handed to {t.sendmail}"
    err = (r.stderr or r.stdout).decode("utf-8", "replace").strip().splitlines()
    why = f"{t.sendmail} exited {r.returncode}" + (f": {err[-1][:200]}" if err else "")
    if r.returncode in (64, 65, 67, 68):  # usage, data, no user, no host: retrying won't help
        raise PermFail(why)
    raise TempFail(why)
