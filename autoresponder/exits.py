"""The exit codes' old home, for modules not yet moved to ``autoresponder.outcomes.Exit``
(the one place that spells them). Delivery decides its code with ``outcomes.exit_code``."""

from autoresponder.outcomes import Exit

OK = Exit.OK
USAGE = Exit.USAGE
DATAERR = Exit.DATAERR
SOFTWARE = Exit.SOFTWARE
TEMPFAIL = Exit.TEMPFAIL
CONFIG = Exit.CONFIG
