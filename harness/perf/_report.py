"""results/perf/report.md: every performance figure with the machine and command it came from, and the plots."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd
import seaborn as sns
import torch

from .._util import ConfigError, machine, perf_dir, write_text
from ..studies import save_figure
from ._bench import ALPHA, TOLERANCE, Comparison, baseline_for, bench_lines, compare
from ._bench_against import AGAINST_FILE, AGAINST_FOLDER, read_measured
from ._interval import interval_rows, interval_table
from ._sampler import reference, sampler_goal, sampler_plot, sampler_rows, sampler_table
from ._speedfile import SPEED_FILE, train_speed_lines
from .peers import PEERS_FILE, QUALITY_FILE, TIME_FILE, peers_table, quality_lines, run_time, time_lines

BENCH_FILE = "bench.json"  # in results/perf/, written by `make bench`
CUDA_BENCH_FILE = "bench-cuda.json"  # the same suite on the GPU: `make bench BENCH_DEVICE=cuda`


@dataclass(frozen=True)
class _Section:
    title: str
    source: Path  # the file its figures come from
    maker: str  # the command that writes `source`
    lines: Callable[[], list[str]]  # the section's markdown, read from `source`


def write_perf_report(results: Path, baseline: Path, sampler_study: Path, interval_study: Path) -> Path:
    """Gather results/perf/{bench,speed,peers,peers_quality,time_to_quality}.json, against/ (bench-against), the sampler study and
    the guidance-interval study into results/perf/report.md (plots beside it); a piece not measured yet is named with
    the command that measures it."""
    perf = perf_dir(results)
    perf.mkdir(parents=True, exist_ok=True)
    sections = [
        _Section("Benchmarks and the regression gate", perf / BENCH_FILE, "make bench",
                 lambda: _bench(perf / BENCH_FILE, baseline, "make bench")),
        _Section("The gate against a base revision on this machine", perf / AGAINST_FOLDER / AGAINST_FILE,
                 "make bench-check BASE=origin/main", lambda: _against(perf / AGAINST_FOLDER)),
        _Section("The same benchmarks on CUDA", perf / CUDA_BENCH_FILE, "make bench BENCH_DEVICE=cuda",
                 lambda: _bench(perf / CUDA_BENCH_FILE, baseline, "make bench BENCH_DEVICE=cuda")),
        _Section("A training step against this machine's fp32 matmul peak", perf / SPEED_FILE,
                 "harness speed --preset baseline --budget quick", lambda: train_speed_lines(perf / SPEED_FILE)),
        _Section("Peers side by side: diffusers' UNet2DModel and schedulers", perf / PEERS_FILE, "make bench-peers",
                 lambda: _peers(perf)),
        _Section("Quality beside the peer over training seeds", perf / QUALITY_FILE, "make bench-peers-quality",
                 lambda: _peer_quality(perf / QUALITY_FILE)),
        _Section("Time to quality: the current baseline, the first one and the peer", perf / TIME_FILE,
                 "make bench-peers", lambda: time_lines(perf / TIME_FILE)),
        _Section("Fewer network evaluations at equal quality: DDPM, DDIM, DPM-Solver++ 2M", sampler_study / "summary.csv",
                 "make ablate STUDY=sampler", lambda: _sampler(sampler_study, perf)),
        _Section("Fewer network passes at equal quality: guidance in an interval of t", interval_study / "summary.csv",
                 "make ablate STUDY=guidance_interval", lambda: _interval(interval_study)),
    ]
    cuda = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "none visible here"
    lines = ["# Performance", "",
             f"Gathered by `harness perf-report` on {machine(torch.device('cpu'))}; CUDA device: {cuda}. Each "
             f"section names the machine and the command of its own measurement; `make perf` runs them all in "
             f"one go.", ""]
    for section in sections:
        body = (_read(section) if section.source.is_file() else
                [f"Not measured yet: `{section.maker}` writes {section.source}."])
        lines += [f"## {section.title}", "", *body, ""]
    path = perf / "report.md"
    write_text(path, "\n".join(lines))
    return path


def _read(section: _Section) -> list[str]:
    """A section's lines; a file that cannot be read is one clear error naming it."""
    try:
        return section.lines()
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise ConfigError(f"{section.source} cannot be read ({type(e).__name__}: {e}); re-make it with the command that "
                          f"writes it (`make perf` remakes every one)") from None


def _bench(run: Path, baseline: Path, command: str) -> list[str]:
    """A benchmark run's table against its class's baseline, and its plot beside it (bench.png, bench-cuda.png)."""
    try:
        baseline = baseline_for(run, baseline)
    except ConfigError as e:  # no baseline for this class of machine: the report says so and how to record one
        return [str(e)]
    rows = compare(run, baseline)
    plot = _bench_plot(rows, run.with_suffix(".png"), baseline)
    return [*bench_lines(rows, run, baseline, command), "", f"![change against the baseline]({plot.name})"]


def _against(folder: Path) -> list[str]:
    """The last bench-against run: this checkout's suite against the base revision's, run in turns here."""
    m = read_measured(folder)
    return [*bench_lines(m.rows(), m.head, m.base, f"make bench-check BASE={m.rev}"), "",
            f"Both sides ran {len(m.head_runs)} times in turns on this machine. With runs on both sides, a median more "
            f"than {TOLERANCE:.0%} slower fails only where the one-sided exact Mann-Whitney test of the runs gives "
            f"p <= {ALPHA:g}; 'runs overlap' marks a slower median within the runs' noise."]


def _bench_plot(rows: list[Comparison], path: Path, baseline: Path) -> Path:
    """Each benchmark's change against the baseline in calibration units; the tolerance dotted."""
    frame = pd.DataFrame({"benchmark": [r.name.removeprefix("test_") for r in rows],
                          "change (%)": [100 * r.change for r in rows]})
    fig, ax = plt.subplots(figsize=(6, 0.4 * len(rows) + 1))
    sns.barplot(data=frame, y="benchmark", x="change (%)", color="steelblue", ax=ax)
    ax.axvline(100 * TOLERANCE, color="red", linestyle=":", linewidth=1)
    ax.axvline(0, color="black", linewidth=0.8)
    ax.set_title(f"change against {baseline.name}, calibration units (red: fails bench-check)")
    return save_figure(fig, path)


def _peers(perf: Path) -> list[str]:
    peers = json.loads((perf / PEERS_FILE).read_text())
    return [f"Measured on {peers['machine']} by `{peers['command']}` (`make bench-peers`) in {peers['minutes']:.1f} "
            f"min; the method is in `peers.md`.", "", *peers_table(pd.DataFrame(peers["rows"])), "",
            "Samples, one row per digit: harness ![harness](peers_harness.png) diffusers ![diffusers](peers_diffusers.png)"]


def _peer_quality(path: Path) -> list[str]:
    quality = json.loads(path.read_text())
    return [f"Measured on {quality['machine']} by `{quality['command']}` (`make bench-peers-quality`) "
            f"{run_time(quality['minutes'], quality['drawn'])}; the method and the per-seed figures are in "
            f"`peers_quality.md`. A difference is harness - diffusers, paired by seed; 'no difference shown' means "
            f"its 95% CI holds 0.", "", *quality_lines(pd.DataFrame(quality["rows"]), quality["records"][0]["interval"])]


def _interval(study: Path) -> list[str]:
    rows = interval_rows(pd.read_csv(study / "summary.csv"))
    return [f"The study `{study}` (`harness ablate ablations/guidance_interval.yaml`: DDIM 50 steps at w = 3 on one "
            f"trained network per seed; its own `report.md` has the per-digit figures). Outside the interval a step "
            f"runs the conditional pass alone, so a digit costs fewer network passes; the peers section times such a "
            f"draw against diffusers guiding every step.", "", *interval_table(rows)]


def _sampler(study: Path, perf: Path) -> list[str]:
    summary, trials = pd.read_csv(study / "summary.csv"), pd.read_csv(study / "trials.csv")
    rows = sampler_rows(summary)
    sampler_plot(trials, reference(rows)["fid"], perf / "sampler.png")
    return [f"The study `{study}` (`harness ablate ablations/sampler.yaml`: one trained network per seed, every "
            f"sampler on it; its own `report.md` has the per-digit figures). FID in the reference classifier's "
            f"feature space against the 10k test digits; sampling images/s timed on the machine that ran the study.",
            "", *sampler_table(rows), "", f"Goal (FID within 10% of DDPM-1000's at <= 20 evaluations): "
            f"{sampler_goal(rows)}. The verdict compares means over seeds; where the intervals overlap, more seeds "
            f"or digits would be needed to call the difference.", "", "![FID and accuracy against network evaluations](sampler.png)"]
