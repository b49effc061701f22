from pathlib import Path

import pandas as pd
import pytest
from PIL import Image
from studyspecs import GRID, write_spec

from harness.studies import load_spec
from harness.studies._plots import as_text, grids_figure, sample_grids, wrapped
from harness.studies._report import _grids, _metrics_per_variant


@pytest.mark.parametrize(("value", "shown"), [(None, "(base)"), (float("nan"), "(base)"), (1200.0, "1200"),
                                              (1200, "1200"), (0.003, "0.003"), (True, "True"), ([8, 16], "[8, 16]")])
def test_a_factor_value_shows_as_the_spec_wrote_it(value: object, shown: str) -> None:
    # A factor column with a gap ("(base)") is read back from trials.csv as floats: 1200 must not become 1200.0.
    assert as_text(value) == shown


def test_every_variant_gets_its_grid_in_rows_of_five(tmp_path: Path) -> None:
    grids = []
    for k in range(9):  # more variants than one row holds; the report once dropped all past the eighth
        path = tmp_path / f"grid{k}.png"
        Image.new("L", (100, 100), color=25 * k).save(path)
        grids.append((f"train.noise_sampling=logit_normal, train.lr=0.003, variant {k}", path))
    grids.append(("a variant whose run left no grid", tmp_path / "absent.png"))
    out = sample_grids(grids, tmp_path / "samples.png")
    with Image.open(out) as figure:
        width, height = figure.size
    assert height > 0.8 * width * 2 / 5  # two rows of five square panels, not one row of nine
    assert sample_grids([("none", tmp_path / "absent.png")], tmp_path / "none.png") is None


def test_no_long_title_reaches_into_the_grid_above_it(tmp_path: Path) -> None:
    # A variant of nine settings wraps to nine lines; with a fixed row height its title once covered the grid above.
    path = tmp_path / "grid.png"
    Image.new("L", (100, 100)).save(path)
    long = ", ".join(f"sample.setting_{k}=value_{k}" for k in range(9))
    fig = grids_figure([("short", path)] * 5 + [(long, path)], per_row=5)
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    above, below = fig.axes[0], fig.axes[5]
    assert below.title.get_window_extent(renderer).y1 <= above.images[0].get_window_extent(renderer).y0
    assert all("sample.setting_" in line or not line.strip() for line in below.get_title().split("\n"))


def test_no_title_runs_into_its_neighbours(tmp_path: Path) -> None:
    # A setting longer than the wrap width keeps its line whole; with a fixed column width two such titles once met.
    path = tmp_path / "grid.png"
    Image.new("L", (100, 100)).save(path)
    label = ("sample.guidance=2.5, sample.guidance_method=autoguidance, sample.guide_at=0.25, "
             "sample.guide_unconditional_of_a_longer_name=True")
    fig = grids_figure([(label, path)] * 5, per_row=5)
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    extents = [ax.title.get_window_extent(renderer) for ax in fig.axes]
    assert all(left.x1 < right.x0 for left, right in zip(extents, extents[1:]))


def test_a_label_wraps_between_settings_never_inside_one() -> None:
    # both the grids' titles and the per-variant metric rows wrap this way
    label = "train.keep_weights_at=[0.25], sample.guidance_method=autoguidance, sample.guide_at=0.25"
    assert wrapped(label, width=34).split("\n") == ["train.keep_weights_at=[0.25],",
                                                    "sample.guidance_method=autoguidance,", "sample.guide_at=0.25"]
    listed = "train.steps=1200, sample.guidance_interval=[0.2, 0.8]"  # the list's own space is no break
    assert wrapped(listed, width=34).split("\n") == ["train.steps=1200,", "sample.guidance_interval=[0.2, 0.8]"]


def test_the_report_shows_the_first_seed_of_every_variant(tmp_path: Path) -> None:
    # Nine variants x two seeds, the base config's value (NaN) in the rows that leave train.steps out.
    done = pd.DataFrame({"trial": range(18), "train.steps": [float("nan"), *[600.0 * k for k in range(1, 9)]] * 2,
                         "seed": [0] * 9 + [1] * 9})
    grids = _grids(done, ["train.steps"], tmp_path)
    assert [label for label, _ in grids] == ["(base)", *[f"train.steps={600 * k}" for k in range(1, 9)]]
    assert [path.parent.name for _, path in grids] == [f"{n:04d}" for n in range(9)]


@pytest.mark.parametrize(("vary", "panels"), [
    ("  model.skip: [true, false]", "metric_panels"),  # a grid: the metric against model.skip
    ("  - {model.skip: false}\n  - {model.skip: true}", "metric_panels"),  # a list over one key: the same
    ("  - {model.skip: false}\n  - {train.lr: 0.003}", "variant_panels"),  # unlike variants: a row each
])
def test_unlike_variants_get_a_row_each_and_a_grid_its_factor_axis(tmp_path: Path, vary: str, panels: str,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    spec = load_spec(write_spec(tmp_path, GRID.replace("  model.skip: [true, false]", vary)))
    points = spec.points()
    done = pd.DataFrame([{**point, "point": k, "seed": seed, "trial": 2 * k + seed, "mse": 0.1 * (k + 1) + 0.01 * seed}
                         for k, point in enumerate(points) for seed in (0, 1)])
    out = _metrics_per_variant(spec, done, ["mse"], tmp_path / "metrics.png")
    assert out is not None and out.stat().st_size > 1000
    called = []  # which of the two plots the report asks for
    monkeypatch.setattr(f"harness.studies._report.{panels}", lambda *a, **k: called.append(a) or None)
    _metrics_per_variant(spec, done, ["mse"], tmp_path / "again.png")
    assert len(called) == 1
    if panels == "variant_panels":
        assert list(called[0][0]["variant"].unique()) == ["model.skip=False", "train.lr=0.003"]
