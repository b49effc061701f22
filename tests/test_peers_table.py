"""The side-by-side table of `harness peers`: which figures each row pairs, and the verdict against its target."""

from __future__ import annotations

import pandas as pd
import torch

from harness.config import RunConfig, resolve_config
from harness.perf.peers import LIMITED, Judged, Speeds, peers_markdown, peers_table, side_by_side

# each system's judged draw: (accuracy, FID, images/s) and validation MSE, shared by the tests that need no other
JUDGED = {"harness": Judged(0.9, 5.0, images_per_s=10.0), "diffusers": Judged(0.8, 6.0, images_per_s=4.0),
          "diffusers, equal wall time": Judged(0.7, 7.0, images_per_s=4.0)}
VAL_MSE = {"harness": 0.1, "diffusers": 0.2, "diffusers, equal wall time": 0.3}


def table_of(cfg: RunConfig, speeds: Speeds, judged: dict[str, Judged] = JUDGED,
             peer_train: float = 50.0) -> pd.DataFrame:
    """The table at 100 training images/s against `peer_train`, 1 against 2 parameters, 0.1 against 0.2 GFLOP per
    evaluation and the peer's snapshot after 3 steps."""
    return side_by_side(cfg, 100.0, peer_train, 1, 2, (0.1, 0.2), VAL_MSE, judged, speeds, 3)


def test_the_speed_rows_pair_each_system_with_its_own_figures() -> None:
    cfg = resolve_config("baseline_v2", "smoke")
    eager = {"harness": (12.0, 9.0), "diffusers": (20.0, 6.0)}  # (first call s, median images/s)
    compiled = {"harness": (30.0, 20.0), "diffusers": (60.0, 8.0)}
    bf16 = {"harness": (1.0, 16.0), "diffusers": (2.0, 4.0)}
    table = table_of(cfg, Speeds(128, eager, compiled, bf16))
    ratio = {m.rsplit("; ", 1)[-1]: r for m, r in table.set_index("measure")["ratio"].items() if "; " in m}
    assert ratio == {"eager, as each ships: the harness in network calls of 128, diffusers' pipelines one call per "
                     "step in a fresh process)": 2.5, "both in network calls of 128, eager: like for like)": 1.5,
                     "both in network calls of 128, eager, both under bf16 autocast (sample.precision=bf16): like for "
                     "like)": 4.0, "both in network calls of 128, under torch.compile after its first call)": 2.5}
    assert table.set_index("measure").filter(like="first sampling call", axis=0)["ratio"].item() == 0.5
    assert len(table_of(cfg, Speeds(128, eager, None))) == len(table) - 3
    unsplit = table_of(cfg, Speeds(None, None, None))  # CUDA
    assert len(unsplit) == len(table) - 4 and unsplit["measure"].str.contains("the harness in one network call").any()


def test_the_limited_guidance_rows_set_that_draw_against_the_peer_guiding_every_step() -> None:
    cfg = resolve_config("baseline_v2", "smoke", ["sample.steps=50"])
    judged = {"harness": Judged(0.9, 5.0, images_per_s=10.0), LIMITED: Judged(0.95, 4.0, images_per_s=12.5),
              "diffusers": Judged(0.8, 8.0, images_per_s=5.0),
              "diffusers, equal wall time": Judged(0.7, 7.0, images_per_s=5.0)}
    eager = {"harness": (1.0, 9.0), "diffusers": (2.0, 6.0), LIMITED: (1.0, 15.0)}
    table = table_of(cfg, Speeds(128, eager, None, None, (0.2, 0.8)), judged)
    limited = table[table["measure"].str.contains("guiding only at t/T in [0.2, 0.8]", regex=False)]
    # uniform spacing of 50 steps over T = 1000: 30 of the visited t lie in [200, 800]
    assert limited["measure"].str.contains("80 network passes per digit, not 100").all()
    assert limited["ratio"].tolist() == [2.5, 2.5, 0.95 / 0.8, 0.5]
    assert limited["target_ratio"].tolist()[:2] == [2.0, 2.0]
    assert limited["target_ratio"].isna().tolist()[2:] == [True] * 2
    plain = table_of(cfg, Speeds(128, eager, None, None, None), judged)
    assert len(plain) == len(table) - 4


def test_the_markdown_gives_each_throughput_row_its_verdict_and_says_how_many_rounds() -> None:
    cfg = resolve_config("baseline_v2", "smoke")
    eager = {"harness": (12.0, 9.0), "diffusers": (20.0, 6.0)}  # like for like: 1.5x, under the 2x target
    table = table_of(cfg, Speeds(128, eager, None), peer_train=80.0)
    rows = {line.split(" | ")[0].lstrip("| "): line for line in peers_table(table)}
    assert rows[next(m for m in rows if m.startswith("training images/s"))].endswith(
        "| 1.25x | NOT met (target >= 1.5x) |")
    assert rows[next(m for m in rows if m.endswith("eager: like for like)"))].endswith(
        "| 1.50x | NOT met (target >= 2x) |")
    assert rows[next(m for m in rows if "as each ships" in m)].endswith("| 2.50x | met (target >= 2x) |")
    assert rows["parameters"].endswith("| 0.50x |  |")  # no target, no verdict
    text = peers_markdown(table, cfg, "smoke", torch.device("cpu"), 12.0, 3, 1.5, rounds=5)
    assert "5 times each with the systems taking turns" in text and "\n".join(peers_table(table)) in text
