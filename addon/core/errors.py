"""The one base of user-facing errors.

A `FlowreelError` carries a one-line message that explains the user's mistake or the
environment's problem (a missing file, a bad option, an unwritable folder). Front ends (the
`trainer` command, the render script, the add-on's operators) print exactly these as one line;
anything else is a bug and is reported as one.
"""

from __future__ import annotations


class FlowreelError(Exception):
    """A failure the user can act on; str() is one line."""

    def __str__(self) -> str:
        return " ".join(super().__str__().split())
