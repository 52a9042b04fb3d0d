"""`python -m trainer ...` is the `trainer` command."""

import sys

from flowreel.trainer.cli import main

sys.exit(main())
