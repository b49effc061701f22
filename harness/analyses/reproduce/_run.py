"""`harness reproduce`: run every claim's experiment at one budget and write the verdicts table."""

from __future__ import annotations

import time
from pathlib import Path

import pandas as pd

from ..._util import REPRODUCE, RESULTS, ConfigError, interval_text, markdown_table, sweep_partial_files, write_text
from ...config import BUDGETS
from ._claims import CLAIMS, UNMEASURABLE, Claim
from ._evidence import Evidence
from ._verdicts import MIN_RECOGNISED, floored


def out_dir(results: Path, budget: str) -> Path:
    """results/reproduce/ at the quick budget, results/reproduce-<budget>/ otherwise (never mixed)."""
    return results / (REPRODUCE if budget == "quick" else f"{REPRODUCE}-{budget}")


def selected(only: tuple[str, ...]) -> list[Claim]:
    """The claims whose id or experiment starts with one of `only` (all when empty)."""
    chosen = [c for c in CLAIMS if not only or any(c.id.startswith(o) or c.experiment.startswith(o) for o in only)]
    if not chosen:
        raise ConfigError(f"--only {','.join(only)} matches no claim; claims: {', '.join(c.id for c in CLAIMS)}; "
                          f"experiments: {', '.join(sorted({c.experiment.split(' ')[0] for c in CLAIMS}))}")
    return chosen


def run_reproduce(budget: str = "quick", results: Path = RESULTS, progress: bool = True,
                  only: tuple[str, ...] = ()) -> Path:
    """Every claim (or those `only` selects) tested at `budget`; writes claims.csv and claims.md, returns
    the latter's path."""
    BUDGETS.get(budget)  # an unknown budget fails before anything runs
    claims = selected(only)
    started = time.monotonic()
    evidence = Evidence(budget, results, progress)
    rows = []
    for claim in claims:
        if progress:
            print(f"reproduce: {claim.id}: {claim.text}", flush=True)
        f = floored(claim.test(evidence))
        report = claim.id.split("-")[0]
        rows.append({"claim": claim.id, "report": report, "says": claim.text, "experiment": claim.experiment,
                     "measure": f.measure, "effect": f.effect, "ci95_low": f.low, "ci95_high": f.high,
                     "verdict": f.verdict, "recognised": f.recognised, "detail": f.detail})
    table = pd.DataFrame(rows)
    out = out_dir(results, budget)
    out.mkdir(parents=True, exist_ok=True)
    sweep_partial_files(out)
    write_text(out / "claims.csv", table.to_csv(index=False))
    path = out / "claims.md"
    write_text(path, markdown(table, budget, evidence.ran, time.monotonic() - started, len(claims) < len(CLAIMS)))
    return path


def markdown(table: pd.DataFrame, budget: str, ran: dict[str, str], seconds: float, partial: bool = False) -> str:
    counts = table["verdict"].value_counts()
    subset = (f" (a subset: {len(table)} of {len(CLAIMS)} claims, chosen with --only; `harness reproduce` without "
              f"it tests all)") if partial else ""
    lines = [f"# The reports' claims, measured at the {budget} budget", "",
             f"Produced by `harness reproduce --budget {budget}`{subset} in {seconds / 60:.1f} min (reusing every network "
             f"and measure already on disk). Verdicts: supported / contradicted when the 95% interval of the "
             f"measured effect excludes 'no effect' (or lies inside / outside the claimed range), inconclusive "
             f"otherwise; invalid at this budget when the best network compared draws digits the reference "
             f"classifier recognises less than {MIN_RECOGNISED:.0%} of the time (chance 10%: too little training to "
             f"show anything; 'recognised' gives the share, blank where no generated digit is judged). Each row is "
             f"computed from the experiment named, none is written by hand. "
             + ", ".join(f"{n} {v}" for v, n in counts.items()) + ".", ""]
    lines += markdown_table(["claim", "report says", "experiment", "measured", "effect [95% CI]", "verdict",
                             "recognised", "detail"],
                            [[r["claim"], r["says"], r["experiment"], r["measure"],
                              interval_text(r["effect"], r["ci95_low"], r["ci95_high"]), f"**{r['verdict']}**",
                              "" if pd.isna(r.get("recognised")) else f"{r['recognised']:.0%}",
                              r["detail"]] for _, r in table.iterrows()])
    lines += ["", "## Claims no experiment can test as stated", ""]
    lines += markdown_table(["claim", "report says", "why"], [[u.id, u.text, u.why] for u in UNMEASURABLE])
    lines += ["", "## Where the experiments' results are", ""] + [f"- {name}: `{where}`" for name, where in ran.items()]
    return "\n".join(lines) + "\n"
