"""Statistics that cannot single anyone out: the one rule for showing a count, a rate or a median.

A count from 1 to 4 reads "fewer than 5"; a rate or a median is given only over a group of 5 or more. The page,
the charts and the CSV export all write their numbers through these functions (issue 14 item 7).
"""

from __future__ import annotations

from flask_babel import format_decimal, format_percent
from flask_babel import gettext as _

MINIMUM = 5  # the smallest count shown as itself (zero aside: nobody is in it)


def suppressed(count: int) -> bool:
    """True for a count too small to show: someone in it could be told apart."""
    return 0 < count < MINIMUM


def enough(whole: int) -> bool:
    """True when a group is large enough for a rate or a median over it."""
    return whole >= MINIMUM


def count_text(count: int) -> str:
    """The count in the reader's language, or "fewer than 5"."""
    return _("fewer than %(minimum)d", minimum=MINIMUM) if suppressed(count) else format_decimal(count)


def rate(part: int, whole: int) -> float | None:
    """part / whole over a group large enough, else None."""
    return part / whole if enough(whole) else None


def rate_text(part: int, whole: int) -> str:
    """ "62% (5 of 8)" in the reader's language; "no data" for an empty group, no rate over a small one."""
    if not whole:
        return _("no data")
    if not enough(whole):
        return _("no rate: fewer than %(minimum)d", minimum=MINIMUM)
    return _("%(percent)s (%(part)s of %(whole)s)", percent=format_percent(part / whole), part=count_text(part),
             whole=count_text(whole))
