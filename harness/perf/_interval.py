"""The guidance-interval study (ablations/guidance_interval.yaml): accuracy and FID against network passes.

Guidance only inside an interval of t/T (Kynkäänniemi et al. 2024) runs one pass instead of two at the
other steps; the study says whether quality holds. `harness peers` times such a draw against the peer.
"""

from __future__ import annotations

import json

import pandas as pd

from .._util import markdown_table
from ..config import FULL_INTERVAL
from ._sampler import ci_text

INTERVAL_STUDY = "guidance_interval"  # its folder under results/ at its own budget
FACTOR = "sample.guidance_interval"
PASSES = "speed_network_passes_per_sample"  # images through the network per digit: two at a guided step
EVERY_STEP = list(FULL_INTERVAL)  # the reference, as summary.csv reads back: guidance at every step


def interval_rows(summary: pd.DataFrame) -> pd.DataFrame:
    """One row per interval: network passes, FID and accuracy (mean, 95% CI), images/s, and FID over guidance at
    every step's; most passes first. Raises ValueError naming what the study lacks."""
    needed = {FACTOR, "fid", "class_acc", PASSES}
    if missing := sorted(needed - set(summary.columns)):
        raise ValueError(f"the study's summary.csv lacks {', '.join(missing)}; run ablations/guidance_interval.yaml "
                         f"(its metrics include fid, class_acc and speed)")
    rows = summary.copy()  # one block: read_csv's hundreds of columns would make each assign warn
    rows = rows.assign(interval=rows[FACTOR].map(_interval), passes=rows[PASSES])
    full = rows[rows["interval"].map(lambda i: i == EVERY_STEP)]
    if full.empty:
        raise ValueError(f"the study has no point {FACTOR}={EVERY_STEP} (guidance at every step) to compare with")
    rows = rows.assign(fid_over_full=rows["fid"] / full["fid"].iloc[0])
    return rows.sort_values("passes", ascending=False, kind="stable").reset_index(drop=True)


def interval_table(rows: pd.DataFrame) -> list[str]:
    cells = [[f"[{r['interval'][0]:g}, {r['interval'][1]:g}]", f"{r['passes']:.0f}", f"{r['seeds']:.0f}",
              ci_text(r, "fid"), f"{r['fid_over_full']:.2f}x", ci_text(r, "class_acc"),
              f"{r.get('speed_sampling_images_per_s', float('nan')):.3g}"] for _, r in rows.iterrows()]
    return markdown_table(["guidance at t/T in", "network passes per digit", "seeds", "FID [95% CI]", "FID / every step",
                           "classifier accuracy [95% CI]", "sampling images/s"], cells)


def _interval(value: object) -> list[float]:
    """summary.csv holds a list factor as its text, '[0.2, 0.8]'."""
    return [float(v) for v in (json.loads(value) if isinstance(value, str) else value)]
