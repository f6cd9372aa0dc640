"""``python -m rfm_core``: see :mod:`rfm_core.cli`."""

import sys

from .cli import main

sys.exit(main())
