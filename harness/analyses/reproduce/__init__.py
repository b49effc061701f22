"""`harness reproduce`: a verdict, from runs, on every measurable claim of the five course reports."""

from ._claims import CLAIMS, UNMEASURABLE, Claim
from ._evidence import Evidence
from ._run import markdown, out_dir, run_reproduce, selected
from ._verdicts import (
    INVALID,
    MIN_RECOGNISED,
    NOT_MEASURED,
    Finding,
    best_recognised,
    floored,
    paired_difference,
    signed,
    within,
)

__all__ = ["CLAIMS", "INVALID", "MIN_RECOGNISED", "NOT_MEASURED", "UNMEASURABLE", "Claim", "Evidence", "Finding",
           "best_recognised", "floored", "markdown", "out_dir", "paired_difference", "run_reproduce", "selected",
           "signed", "within"]
