"""Run the CLI with ``python -m wellposed``."""

import sys

from .cli import main

sys.exit(main())
