"""`python -m nst_helpers.cli`: the `nst` command from a checkout that is not installed."""

import sys

from . import main

sys.exit(main())
