"""vendor-autoreply: auto-reply markers of particular products, recognised by their value.

Responders that predate RFC 3834 mark their replies their own way, and send no
Auto-Submitted or Precedence. qmail's ``autorespond`` (vpopmail/qmailadmin, still at small
hosters) writes ``Delivered-To: Autoresponder`` on every reply, as its own loop check;
Mailtraq writes ``X-POST-MessageClass: 9; Autoresponder``; FirstClass writes
``X-FC-MachineGenerated: true``; others write ``X-Autoresponse``. Each is matched on its
value, not on its name alone: ``Delivered-To`` is on nearly every message (Postfix, Dovecot
LMTP and qmail add it with the recipient's address), and a FirstClass message with
``X-FC-MachineGenerated: false`` was written by a person.
"""

from autoresponder.headerutil import keyword
from autoresponder.rules import Rule


class VendorAutoreply(Rule):
    name = "vendor-autoreply"
    description = ("auto-reply markers of particular products, by value: qmail autorespond's "
                   "Delivered-To: Autoresponder, Mailtraq's X-POST-MessageClass: 9; "
                   "Autoresponder, FirstClass's X-FC-MachineGenerated: true, and "
                   "X-Autoresponse (any value but no or false)")

    def check(self, ctx):
        m = ctx.message
        for v in m.get_all("delivered-to"):
            if v.strip().lower() == "autoresponder":
                return f"qmail autorespond's Delivered-To: {v.strip()[:80]}"
        for v in m.get_all("x-post-messageclass"):
            if "autoresponder" in (t.strip().lower() for t in v.split(";")[1:]):
                return f"Mailtraq's X-POST-MessageClass: {v.strip()[:80]}"
        for v in m.get_all("x-fc-machinegenerated"):
            if keyword(v) == "true":
                return f"FirstClass's X-FC-MachineGenerated: {v.strip()[:80]}"
        for v in m.get_all("x-autoresponse"):
            if keyword(v) not in ("no", "false"):
                return f"X-Autoresponse: {v.strip()[:80]}"
        return None


RULE = VendorAutoreply
