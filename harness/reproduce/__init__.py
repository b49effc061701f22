"""`harness reproduce`: a verdict, from runs, on every measurable claim of the five course reports."""

from ._claims import CLAIMS, UNMEASURABLE, Claim
from ._run import out_dir, run_reproduce
from ._verdicts import Finding, signed, within

__all__ = ["CLAIMS", "UNMEASURABLE", "Claim", "Finding", "out_dir", "run_reproduce", "signed", "within"]
