"""The kinds of test a claim can need, each a function of the Evidence that returns a Finding."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import torch

from ..._util import mean_ci95
from ...core import CLASSES
from ..difficulty import contrast
from ._evidence import Evidence
from ._verdicts import (
    CONTRADICTED,
    INCONCLUSIVE,
    NOT_MEASURED,
    SUPPORTED,
    Finding,
    best_recognised,
    failures,
    interval,
    paired_difference,
    signed,
    within,
)

Test = Callable[[Evidence], Finding]

def digits_contrast(group: tuple[int, ...], metric: str, expected: int) -> Test:
    """`group`'s mean `metric` minus the other digits' (difficulty analysis), expected to have sign `expected`."""
    def test(ev: Evidence) -> Finding:
        r = ev.difficulty
        if metric not in r.estimates:
            return Finding(f"{metric}: digits {_list(group)} - the rest", math.nan, math.nan, math.nan, NOT_MEASURED,
                           r.clip_status)
        others = [d for d in CLASSES if d not in group]
        effect, low, high = contrast(r.estimates[metric], group, others)
        orders = {m: " ".join(map(str, np.argsort(-r.estimates[m].point, kind="stable")))
                  for m in dict.fromkeys((metric, "class_acc"))}
        return Finding(f"{metric}: mean of digits {_list(group)} - mean of the others", effect, low, high,
                       signed(effect, low, high, expected),
                       "; ".join(f"order by {m}, highest first: {o}" for m, o in orders.items()), _recognised(ev))
    return test


def recognised_within(group: tuple[int, ...], lo: float, hi: float, name: str = "recognised_xt_90",
                      beside: str = "recognised_x0_90") -> Test:
    """The mean over `group` of the fraction of the reverse process after which digits stay recognisable
    (`name`), expected inside [lo, hi]; the detail gives `beside` (on the predicted x0) for comparison."""
    def test(ev: Evidence) -> Finding:
        estimates = ev.difficulty.estimates
        e = estimates[name]
        effect = float(np.mean(e.point[list(group)]))
        low, high = interval(e.replicates[list(group)].mean(0))
        return Finding(f"{name}, mean over digits {_list(group)}", effect, low, high, within(low, high, lo, hi),
                       f"claimed {lo:.0%}-{hi:.0%}; per digit: " +
                       " ".join(f"{d}:{e.point[d]:.2f}" for d in group) +
                       f"; {beside} (on the network's predicted x0), mean: "
                       f"{float(np.mean(estimates[beside].point[list(group)])):.2f}", _recognised(ev))
    return test


def forward_chance_within(lo: float, hi: float) -> Test:
    """Report 002's schedule: the t/T at which accuracy on noised real digits falls to chance, in [lo, hi]."""
    def test(ev: Evidence) -> Finding:
        f = ev.forward_report002
        effect = float(f.at_chance.point[-1])
        low, high = interval(f.at_chance.replicates[-1])
        last = float(f.accuracy.point[-1, -1])
        detail = (f"noise std at that t: {np.interp(effect, f.t_fraction, f.noise_std):.2f}" if not math.isnan(effect)
                  else f"never at chance: accuracy at t = T-1 is {last:.0%} (the schedule leaves signal at T)")
        verdict = within(low, high, lo, hi) if not math.isnan(effect) else CONTRADICTED
        return Finding(f"t/T at which classifier accuracy on noised real digits is within {100 * f.margin:.0f} "
                       "points of chance",
                       effect, low, high, verdict, detail)
    return test


def guidance_diversity(w_high: float, w_low: float) -> Test:
    """Diversity at w_high minus at w_low (mean over digits, guidance frontier), expected negative."""
    def test(ev: Evidence) -> Finding:
        front = ev.difficulty.frontier
        if w_high not in front or w_low not in front:
            return Finding("diversity", math.nan, math.nan, math.nan, NOT_MEASURED, f"w={w_high:g} or {w_low:g} not swept")
        hi, lo_ = front[w_high]["diversity"], front[w_low]["diversity"]
        effect = float(hi.point.mean() - lo_.point.mean())
        low, high = interval(hi.replicates.mean(0) - lo_.replicates.mean(0))
        acc = front[w_high]["class_acc"].point.mean() - front[w_low]["class_acc"].point.mean()
        return Finding(f"diversity at w={w_high:g} - at w={w_low:g} (1 = as varied as real digits)", effect, low, high,
                       signed(effect, low, high, -1), f"accuracy change {acc:+.3f}", _recognised(ev))
    return test


def guidance_near_identical(w: float, bound: float) -> Test:
    """Diversity at w (mean over digits) below `bound` x real digits' diversity: samples near-identical."""
    def test(ev: Evidence) -> Finding:
        front = ev.difficulty.frontier
        if w not in front:
            return Finding("diversity", math.nan, math.nan, math.nan, NOT_MEASURED, f"w={w:g} not swept")
        e = front[w]["diversity"]
        effect = float(e.point.mean())
        low, high = interval(e.replicates.mean(0))
        return Finding(f"diversity at w={w:g} (near-identical: below {bound:g})", effect, low, high,
                       within(low, high, 0.0, bound), f"per digit min {e.point.min():.2f}", _recognised(ev))
    return test


def study_effect(study: str, factor: str, a: object, b: object, metric: str | list[str], expected: int,
                 label: str) -> Test:
    """metric(a) - metric(b) paired by seed in a shipped study, expected to have sign `expected`."""
    def test(ev: Evidence) -> Finding:
        trials = ev.study(study)
        effect, low, high, n = paired_difference(trials, factor, a, b, metric)
        return Finding(label, effect, low, high, signed(effect, low, high, expected), f"{n} seeds, Student t",
                       best_recognised(trials, factor, (a, b)))
    return test


def unstable_schedule(study: str, factor: str, unstable: str, stable: str) -> Test:
    """Any failed (NaN / diverged) run of `unstable`, or a significantly worse FID, supports an instability
    claim; no failure and a FID not worse contradicts it."""
    def test(ev: Evidence) -> Finding:
        trials = ev.study(study)
        bad, n = failures(trials, factor, unstable)
        bad_ref, _ = failures(trials, factor, stable)
        effect, low, high, seeds = paired_difference(trials, factor, unstable, stable, "fid")
        if bad and not bad_ref:
            verdict = SUPPORTED
        elif not bad and not math.isnan(low):  # nothing exploded: supported only by a significantly worse FID
            verdict = SUPPORTED if low > 0 else CONTRADICTED
        else:
            verdict = INCONCLUSIVE
        return Finding(f"FID {unstable} - {stable} (and failed runs)", effect, low, high, verdict,
                       f"{unstable}: {bad} of {n} runs failed; {stable}: {bad_ref} failed; {seeds} seeds paired",
                       best_recognised(trials, factor, (unstable, stable)))
    return test


def cheap_timesteps(quality_loss: float, min_speedup: float) -> Test:
    """T=100 against T=1000: class accuracy costs less than `quality_loss` and DDPM is >= `min_speedup` x faster."""
    def test(ev: Evidence) -> Finding:
        trials = ev.study("timesteps")
        effect, low, high, n = paired_difference(trials, "diffusion.timesteps", 100, 1000, "class_acc")
        fast, _, _ = ev.ddpm_speed(100)
        slow, _, _ = ev.ddpm_speed(1000)
        speedup = fast / slow if slow else math.nan
        if math.isnan(low):
            verdict = INCONCLUSIVE
        elif low > -quality_loss and speedup >= min_speedup:
            verdict = SUPPORTED
        elif high < -quality_loss or speedup < min_speedup:
            verdict = CONTRADICTED
        else:
            verdict = INCONCLUSIVE
        return Finding("class_acc(T=100) - class_acc(T=1000) (DDIM at equal steps)", effect, low, high, verdict,
                       f"{n} seeds; DDPM over all T steps: {speedup:.1f}x the images/s at T=100 "
                       f"({fast:.2f} vs {slow:.2f} images/s); 'little' = less than {quality_loss:.0%} lost",
                       best_recognised(trials, "diffusion.timesteps", (100, 1000)))
    return test


def clip_filtering(keep: float) -> Test:
    """Classifier accuracy of the top `keep` share by CLIP score per digit minus that of all samples."""
    def test(ev: Evidence) -> Finding:
        r = ev.difficulty
        if not all("clip_score" in m for m in r.measures):
            return Finding("accuracy gain from CLIP top-k filtering", math.nan, math.nan, math.nan, NOT_MEASURED,
                           r.clip_status)
        gains = [_filtered_gain(m, keep) for m in r.measures]
        effect, low, high = mean_ci95(gains)
        return Finding(f"class_acc of the top {keep:.0%} by CLIP score per digit - of all", effect, low, high,
                       signed(effect, low, high, +1), f"{len(gains)} seeds, Student t", _recognised(ev))
    return test


def _filtered_gain(m: dict, keep: float) -> float:
    kept = []
    for d in CLASSES:
        idx = (m["labels"] == d).nonzero()[:, 0]
        k = max(1, int(len(idx) * keep))
        kept.append(idx[m["clip_score"][idx].argsort(descending=True)[:k]])
    chosen = torch.cat(kept)
    return float(m["correct"][chosen].double().mean() - m["correct"].double().mean())


def _recognised(ev: Evidence) -> float:
    """The difficulty analysis's networks: the share of their guided samples the reference classifier recognises."""
    return float(np.mean(ev.difficulty.estimates["class_acc"].point))


def _list(group: tuple[int, ...]) -> str:
    return ", ".join(map(str, group))
