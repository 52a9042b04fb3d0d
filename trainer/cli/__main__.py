"""`python -m flowreel.trainer.cli ...` is the `trainer` command (as `python -m flowreel.trainer`)."""

import sys

from flowreel.trainer.cli import main

sys.exit(main())
