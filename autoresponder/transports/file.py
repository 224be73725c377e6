"""Write each reply into a directory, one ``.eml`` each: for the quick start and for tests.

The file starts with ``Return-Path:`` (the envelope sender, ``<>`` for null) and
``Delivered-To:`` (the recipient), as a delivery agent would write them, then the message.
Files appear atomically (written under a temporary name, then renamed).
"""

import os
import time

from autoresponder.transports import TempFail, Transport, envelope_addresses


class FileTransport(Transport):
    def __init__(self, t):
        self.path = t.path

    def send(self, mail_from: str, rcpt: str, data: bytes) -> str:
        mail_from, rcpt = envelope_addresses(mail_from, rcpt)
        try:
            os.makedirs(self.path, exist_ok=True)
            name = f"{time.strftime('%Y%m%dT%H%M%S')}-{os.getpid()}-{os.urandom(4).hex()}.eml"
            tmp = os.path.join(self.path, "." + name + ".tmp")
            head = f"Return-Path: <{mail_from}>\r\nDelivered-To: {rcpt}\r\n".encode()
            with open(tmp, "wb") as f:
                f.write(head + data)
                f.flush()
                os.fsync(f.fileno())
            final = os.path.join(self.path, name)
            os.replace(tmp, final)
        except OSError as e:
            raise TempFail(f"cannot write into {self.path}: {e.strerror}") from None
        return f"written to {final}"
