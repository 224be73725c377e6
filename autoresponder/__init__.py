"""autoresponder: a vacation / auto-responder delivery agent for mail servers.

The package is imported by every delivery, one process per message, so this file and every
module on the delivery path import only what they need, when they need it.
"""

__version__ = "0.1.0"
