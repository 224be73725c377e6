"""Exit codes from sysexits.h, the language MTAs speak.

Postfix's pipe(8) bounces the message on most non-zero codes (1, 2, 64, 67 ...), which for an
auto-responder means backscatter, so the delivery path only ever returns OK, TEMPFAIL or CONFIG.
"""

OK = 0
USAGE = 64  # admin commands only; never returned by `deliver`
DATAERR = 65  # admin commands only
SOFTWARE = 70  # admin commands only
TEMPFAIL = 75  # Postfix defers the message and retries later
CONFIG = 78  # Postfix defers (4.3.5); also the admin commands' code for a bad config
