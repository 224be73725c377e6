"""helpdesk: mail a ticket system sent (its acknowledgement, a notification, an agent's answer).

Helpdesks are meant to mark their mail (Precedence, Auto-Submitted, X-Auto-Response-Suppress),
but Request Tracker's precedence is a setting that may be empty, older OTRS and osTicket mark
only their auto-responses, and relays drop fields. What they always keep is their own
signature: RT's ``RT-Ticket`` / ``X-RT-Loop-Prevention`` / ``Managed-BY: RT``, Zendesk's
``X-Zendesk-From-Account-Id`` / ``X-Mailer: Zendesk Mailer``, OTRS and Znuny's ``X-OTRS-Loop``
and ``X-Powered-By`` / ``X-Mailer`` naming them, osTicket's ``X-Mailer: osTicket``. Our reply
to any of them would be filed into the ticket as the customer's answer (reopening it, and
triggering a new acknowledgement), which is why Zendesk and osTicket ask every mail of theirs
not to be auto-answered; the agent sees the absence in the ticket's next reply anyway.
"""

from autoresponder.headerutil import quoted, signature
from autoresponder.rules import Rule

# Fields whose presence alone is the ticket system's signature.
SIGNATURES = (("rt-ticket", "Request Tracker"), ("x-rt-loop-prevention", "Request Tracker"),
              ("x-zendesk-from-account-id", "Zendesk"), ("x-otrs-loop", "OTRS"))
# Fields whose value opens with the product's name: (start of the value, product).
PRODUCT_FIELDS = ("x-mailer", "x-powered-by", "managed-by")
PRODUCTS = (("zendesk", "Zendesk"), ("otrs", "OTRS"), ("znuny", "Znuny"),
            ("osticket", "osTicket"), ("open-ticket-request-system", "OTRS"),
            ("rt ", "Request Tracker"))


class Helpdesk(Rule):
    name = "helpdesk"
    description = ("sent by a ticket system, known by its own fields even without Precedence "
                   "or Auto-Submitted: Request Tracker (RT-Ticket, X-RT-Loop-Prevention, "
                   "Managed-BY: RT), Zendesk (X-Zendesk-From-Account-Id, X-Mailer: Zendesk "
                   "Mailer), OTRS/Znuny (X-OTRS-Loop, X-Powered-By or X-Mailer naming them), "
                   "osTicket (X-Mailer: osTicket ...); a reply would land in the ticket and "
                   "reopen it")

    def check(self, ctx):
        m = ctx.message
        hit = signature(m, SIGNATURES)
        if hit is not None:
            return f"{hit[0]} ticket mail: {hit[1]}"
        for name in PRODUCT_FIELDS:
            for v in m.get_all(name):
                low = v.strip().lower() + " "
                for word, product in PRODUCTS:
                    if low.startswith(word):
                        return f"{product} ticket mail: {quoted(m, name, v)}"
        return None


RULE = Helpdesk
