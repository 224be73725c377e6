"""esp: mail sent by a marketing platform, known by the platform's own header fields.

Campaign and automation platforms stamp every message with their ids, and some of them send
without List-Unsubscribe or Precedence (one-to-one "sales" sends, automation journeys,
transactional templates). The fields below exist only on mail those platforms generated:
Oracle Eloqua's ``X-elqSiteID``/``X-elqPod``, Marketo's ``X-MarketoID``/``X-MktMailDKIM``,
Salesforce Marketing Cloud's ``X-SFMC-Stack``, HubSpot's ``X-HS-Cid`` (the contact's CRM id),
Mailchimp/Mandrill's ``X-MC-User``, and ``X-CSA-Complaints``, which only senders certified by
the Certified Senders Alliance (bulk senders) add.

Amazon SES and SendGrid are relays as well as bulk platforms: people's own programs send
through them too (kernel mailing-list posts carry SendGrid's ``X-SG-EID``), so their fields
alone decide nothing. SES's ``X-SES-Outgoing`` counts when the envelope sender is SES's own
bounce address (a message-id local part, ``0102...-000000@...amazonses.com``): a reply there
reaches SES's bounce processing, never a person. SendGrid's envelope sender is always its
``bounces+...`` address, which the system-sender rule already skips.
"""

from autoresponder.headerutil import signature
from autoresponder.rules import Rule

# (field, vendor): any value.
FIELDS = (
    ("x-elqsiteid", "Oracle Eloqua"), ("x-elqpod", "Oracle Eloqua"),
    ("x-marketoid", "Marketo"), ("x-mktmaildkim", "Marketo"),
    ("x-sfmc-stack", "Salesforce Marketing Cloud"),
    ("x-hs-cid", "HubSpot"),
    ("x-mc-user", "Mailchimp/Mandrill"),
    ("x-csa-complaints", "a CSA-certified bulk sender"),
)
_HEX = set("0123456789abcdef")


def ses_return_path(address: str) -> bool:
    """Amazon SES's bounce address: ``<16 hex>-<8>-<4>-<4>-<4>-<12>-000000@<domain>`` (the
    SES message id), at amazonses.com or at the sender's custom MAIL FROM domain."""
    local, _, domain = address.lower().rpartition("@")
    parts = local.split("-")
    return (domain == "amazonses.com" or domain.endswith(".amazonses.com")
            or (len(parts) == 7 and parts[-1] == "000000"
                and [len(p) for p in parts[:-1]] == [16, 8, 4, 4, 4, 12]
                and all(set(p) <= _HEX for p in parts[:-1])))


class Esp(Rule):
    name = "esp"
    description = ("sent by a marketing platform, known by its own header fields: Eloqua "
                   "(X-elqSiteID, X-elqPod), Marketo (X-MarketoID, X-MktMailDKIM), Salesforce "
                   "Marketing Cloud (X-SFMC-Stack), HubSpot (X-HS-Cid), Mailchimp/Mandrill "
                   "(X-MC-User), X-CSA-Complaints (certified bulk senders), or Amazon SES "
                   "(X-SES-Outgoing) with SES's own bounce address as envelope sender; "
                   "SendGrid's X-SG-EID alone decides nothing (people send through it too)")

    def check(self, ctx):
        m = ctx.message
        hit = signature(m, FIELDS)
        if hit is not None:
            return f"{hit[0]} mail: {hit[1]}"
        v = m.get("x-ses-outgoing")
        if v is not None and ses_return_path(ctx.envelope.sender):
            return (f"Amazon SES mail (X-SES-Outgoing: {v.strip()[:40]}) whose envelope "
                    f"sender {ctx.envelope.sender} is SES's bounce address")
        return None


RULE = Esp
