from pathlib import Path

import pandas as pd
import pytest
from PIL import Image

from harness.studies._plots import as_text, sample_grids
from harness.studies._report import _grids


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


def test_the_report_shows_the_first_seed_of_every_variant(tmp_path: Path) -> None:
    # Nine variants x two seeds, the base config's value (NaN) in the rows that leave train.steps out.
    done = pd.DataFrame({"trial": range(18), "train.steps": [float("nan"), *[600.0 * k for k in range(1, 9)]] * 2,
                         "seed": [0] * 9 + [1] * 9})
    grids = _grids(done, ["train.steps"], tmp_path)
    assert [label for label, _ in grids] == ["(base)", *[f"train.steps={600 * k}" for k in range(1, 9)]]
    assert [path.parent.name for _, path in grids] == [f"{n:04d}" for n in range(9)]
