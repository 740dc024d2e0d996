"""Errors about a user's data, raised before any training and listing every problem found."""

from __future__ import annotations

from collections.abc import Sequence

MAX_LISTED_PROBLEMS = 20


class CohortFormatError(ValueError):
    """A cohort does not follow its dataset format; the message lists every problem."""


class DataChangedError(CohortFormatError):
    """A run is resumed on data other than the data its saved state was computed on."""


class GroupingError(CohortFormatError):
    """Subjects' attributes cannot be turned into groups; the message lists every subject at fault."""


def listing(what: str, problems: Sequence[str], limit: int = MAX_LISTED_PROBLEMS) -> str:
    """``"N <what>:"`` and the problems, one per line, the first ``limit`` of them."""
    shown = list(problems[:limit])
    more = len(problems) - len(shown)
    return f"{len(problems)} {what}:\n  - " + "\n  - ".join(shown) + (f"\n  ... and {more} more" if more else "")
