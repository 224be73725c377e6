"""`python -m autoresponder` runs the same command line as the console script."""

import sys

from autoresponder.cli import main

sys.exit(main())
