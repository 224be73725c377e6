"""Exit codes from sysexits.h, the language MTAs speak.

Postfix's pipe(8) bounces the message on most non-zero codes (1, 2, 64, 67 ...), which for an
auto-responder means backscatter, so the delivery path only ever returns OK, TEMPFAIL or CONFIG.
"""

OK = 0
USAGE = 64  # admin commands only; never returned by `deliver`
DATAERR = 65  # admin commands only
SOFTWARE = 70  # admin commands only
TEMPFAIL = 75  # Postfix defers the message and retries later
CONFIG = 78  # the admin commands' code for a bad config


def config_error_for_mta() -> int:
    """What `deliver` returns for a bad config or bad arguments.

    EX_CONFIG (78) is the honest code, but Postfix 3.7's pipe(8) maps it to 5.3.5 and
    *bounces* the message (measured, tests/postfix), and Exim's pipe transport treats every
    code outside temp_errors (75:73 by default) as permanent. Under Postfix, recognised by the
    MAIL_CONFIG variable its pipe(8) always exports, we answer 75 instead: the copy waits in the
    queue until the admin fixes the config. Elsewhere (Dovecot ignores the code; a shell; Exim
    with temp_errors = 73:75:78 as contrib documents) the code stays 78.
    """
    import os

    return TEMPFAIL if "MAIL_CONFIG" in os.environ else CONFIG
