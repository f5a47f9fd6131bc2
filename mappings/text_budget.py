"""How much free text one hook call may make the service read.

Reading a text costs time in proportion to its length, and a call can carry thousands of texts
whose codes the service does not know (Conditions, medications, draft orders' instructions).
`MAX_TEXT_CHARS` bounds one text; this bounds them all together, so that no call costs more than
its budget of reading. The budget counts what is actually read: a text whose answer is
remembered costs nothing again. A call over it is refused (`TextBudgetExceeded`) rather than
answered from part of its text: cards that silently left text unread could miss a red flag
written only in words. Real charts read far less (docs/security.md gives the figures).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from mappings.errors import TooCostly

# Characters of free text one call may have read: about twice what the largest realistic calls
# read (docs/security.md).
MAX_SCANNED_CHARS = 1_048_576

_left: ContextVar[list[int] | None] = ContextVar("text_budget_left", default=None)


class TextBudgetExceeded(TooCostly):
    """This call's free text is more than one call may make the service read."""

    def __init__(self, budget: int) -> None:
        super().__init__(
            f"the call holds more free text to read than the {budget:,} characters one call may "
            "(texts of Conditions, medications and orders without a code the service knows); "
            "send coded data, or the chart in smaller parts"
        )
        self.budget = budget


@contextmanager
def text_budget(chars: int | None = None) -> Iterator[None]:
    """Within this block (one call's evaluation), reading text draws on a budget of `chars`
    (default `MAX_SCANNED_CHARS`). Outside any such block, reading is not counted."""
    budget = MAX_SCANNED_CHARS if chars is None else chars
    token = _left.set([budget, budget])
    try:
        yield
    finally:
        _left.reset(token)


def charge(chars: int) -> None:
    """Count `chars` characters read; raise TextBudgetExceeded once the budget is spent."""
    left = _left.get()
    if left is not None:
        left[0] -= chars
        if left[0] < 0:
            raise TextBudgetExceeded(left[1])


__all__ = ["MAX_SCANNED_CHARS", "TextBudgetExceeded", "charge", "text_budget"]
