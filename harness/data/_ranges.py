"""The value ranges float images may be stated in (`--range`), beside uint8 digits, which need none.

Its own light module: the command line builds its help from VALUE_RANGES at start-up, before any command has
imported the sample readers (and, through them, torchvision).
"""

from __future__ import annotations

from .._util import DataError

VALUE_RANGES: dict[str, tuple[float, float]] = {"0,1": (0.0, 1.0), "-1,1": (-1.0, 1.0)}  # by their --range spelling


def value_range(text: str | None) -> tuple[float, float] | None:
    """The --range option: None, or one of VALUE_RANGES's spellings."""
    if text is None:
        return None
    if text.replace(" ", "") not in VALUE_RANGES:
        raise DataError(f"--range {text!r} is not a range samples are written in; valid: {', '.join(VALUE_RANGES)}")
    return VALUE_RANGES[text.replace(" ", "")]
