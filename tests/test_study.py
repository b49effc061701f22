import json
import re
import threading
from collections import Counter
from pathlib import Path

import optuna
import pandas as pd
import pytest
from studyspecs import GRID, TUNE, write_spec

from harness._util import ConfigError, host
from harness.cli import main
from harness.metrics import LoadedClassifier
from harness.runs import _generate as generate
from harness.studies import _report, _trial as objective, load_spec, open_study, run_study, summary_frame, write_report

ABLATIONS = Path(__file__).parent.parent / "ablations"


def complete_cells(study: optuna.Study) -> Counter:
    return Counter((t.params["point"], t.params["seed"]) for t in study.get_trials() if t.state.name == "COMPLETE")


def test_a_grid_study_runs_every_trial_once_and_writes_its_tables(tmp_path: Path) -> None:
    spec = load_spec(write_spec(tmp_path, GRID))
    study = run_study(spec, tmp_path / "results", progress=False)
    folder = tmp_path / "results" / "skiptest"
    assert (folder / "study.db").is_file()
    write_report(study, spec, folder)
    trials = pd.read_csv(folder / "trials.csv")
    assert len(trials) == 4 and set(trials["state"]) == {"COMPLETE"}
    assert sorted(zip(trials["model.skip"], trials["seed"])) == [(False, 0), (False, 1), (True, 0), (True, 1)]
    summary = pd.read_csv(folder / "summary.csv")
    assert len(summary) == 2 and list(summary["seeds"]) == [2, 2]
    for _, row in summary.iterrows():
        assert row["mse_ci95_low"] <= row["mse"] <= row["mse_ci95_high"]
    report = (folder / "report.md").read_text()
    assert "| model.skip | seeds | mse |" in report and "±" in report
    assert all((folder / "trials" / f"{n:04d}" / "metrics.json").is_file() for n in range(4))
    for plot in ("metrics.png", "training_curves.png"):
        assert (folder / "plots" / plot).stat().st_size > 1000 and f"(plots/{plot})" in report

    again = run_study(spec, tmp_path / "results", progress=False)  # a finished study does nothing
    assert len(again.get_trials()) == 4


def test_an_interrupted_trial_is_rerun_and_nothing_runs_twice(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    spec = load_spec(write_spec(tmp_path, GRID))
    real_train, calls = objective.train, []

    def interrupted_second(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt  # Ctrl-C in the middle of the second trial
        return real_train(*args, **kwargs)

    monkeypatch.setattr(objective, "train", interrupted_second)
    with pytest.raises(KeyboardInterrupt):
        run_study(spec, tmp_path / "r", progress=False)
    monkeypatch.setattr(objective, "train", real_train)
    study = run_study(spec, tmp_path / "r", progress=False)
    assert complete_cells(study) == Counter({(p, s): 1 for p in range(2) for s in (0, 1)})
    states = Counter(t.state.name for t in study.get_trials())
    assert states == Counter({"COMPLETE": 4, "FAIL": 1})
    report = write_report(study, spec, tmp_path / "r" / "skiptest").read_text()
    assert "interrupted (retried)" in report


def test_a_diverging_variant_fails_with_its_reason_and_the_study_goes_on(tmp_path: Path) -> None:
    text = GRID.replace("model.skip: [true, false]", "train.lr: [0.001, 1.0e+30]").replace("seeds: [0, 1]", "seeds: [0]")
    spec = load_spec(write_spec(tmp_path, text))
    study = run_study(spec, tmp_path / "r", progress=False)
    states = {t.params["point"]: t.state.name for t in study.get_trials()}
    assert states == {0: "COMPLETE", 1: "FAIL"}
    report = write_report(study, spec, tmp_path / "r" / "skiptest").read_text()
    assert "diverged at step" in report
    assert len(run_study(spec, tmp_path / "r", progress=False).get_trials()) == 2  # a divergence is not retried


def test_nan_samples_fail_the_trial_with_their_reason_and_extreme_guidance_is_flagged(
        tmp_path: Path, classifier: LoadedClassifier, monkeypatch: pytest.MonkeyPatch) -> None:
    real = generate.guided_denoiser

    def nan_above_10(model, diffusion, labels, guidance, **kw):  # noqa: ANN001, ANN202 - a network that blows up
        denoise = real(model, diffusion, labels, guidance, **kw)
        return lambda x, t: tuple(v * float("nan") for v in denoise(x, t)) if guidance > 10 else denoise(x, t)

    monkeypatch.setattr(generate, "guided_denoiser", nan_above_10)
    text = (GRID.replace("model.skip: [true, false]", "sample.guidance: [1.0, 50.0]").replace("seeds: [0, 1]", "seeds: [0]")
            .replace("metrics: [mse]", "metrics: [class_acc]"))
    spec = load_spec(write_spec(tmp_path, text))
    study = run_study(spec, tmp_path / "r", progress=False)
    assert {t.params["point"]: t.state.name for t in study.get_trials()} == {0: "COMPLETE", 1: "FAIL"}
    report = write_report(study, spec, tmp_path / "r" / "skiptest").read_text()
    assert "sampling produced NaN/inf in" in report
    assert "## Flagged settings" in report and "sample.guidance=50 is extreme" in report


def test_report_command_rebuilds_from_storage_and_progress_lines_count_trials(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec_path = write_spec(tmp_path, GRID.replace("seeds: [0, 1]", "seeds: [0]"))
    assert main(["ablate", str(spec_path), "--results", str(tmp_path / "r")]) == 0
    out = capsys.readouterr().out
    first, second = [line for line in out.splitlines() if line.startswith("[skiptest] trial")]
    assert first.startswith("[skiptest] trial 1 of 2 (model.skip=") and first.endswith("time left known after the first trial")
    assert re.fullmatch(r"\[skiptest\] trial 2 of 2 \(model\.skip=(True|False), seed 0\) \| 0m\d\ds spent, about 0m\d\ds left", second)
    folder = tmp_path / "r" / "skiptest"
    (folder / "summary.csv").unlink()
    assert main(["report", "skiptest", "--results", str(tmp_path / "r")]) == 0
    assert (folder / "summary.csv").is_file() and "(one seed)" in (folder / "report.md").read_text()
    assert main(["report", "nosuch", "--results", str(tmp_path / "r")]) == 2
    assert "holds no study (no spec.json)" in capsys.readouterr().err
    (folder / "study.db").rename(folder / "moved.db")
    assert main(["report", "skiptest", "--results", str(tmp_path / "r")]) == 2
    assert "has no study.db; give --storage URL" in capsys.readouterr().err


def test_a_different_spec_may_not_reuse_a_study_folder(tmp_path: Path) -> None:
    open_study(load_spec(write_spec(tmp_path, GRID.replace("seeds: [0, 1]", "seeds: [0]"))), tmp_path / "r", None)
    other = load_spec(write_spec(tmp_path, GRID.replace("seeds: [0, 1]", "seeds: [5]"), "other.yaml"))
    with pytest.raises(ConfigError, match=r"holds results of a different spec named 'skiptest' \(seeds differ\)"):
        open_study(other, tmp_path / "r", None)


def test_a_reworded_description_goes_on_with_the_study_and_is_recorded(tmp_path: Path) -> None:
    first = open_study(load_spec(write_spec(tmp_path, GRID)), tmp_path / "r", None)
    first.enqueue_trial({"model.skip": True})  # something the study holds, which it must keep
    reworded = GRID.replace("Does the U-Net need its skip connections?", "What do the skip connections buy?")
    again = open_study(load_spec(write_spec(tmp_path, reworded, "reworded.yaml")), tmp_path / "r", None)
    assert len(again.trials) == 1
    recorded = json.loads((tmp_path / "r" / "skiptest" / "spec.json").read_text())
    assert recorded["description"] == "What do the skip connections buy?"


def test_runners_opening_one_fresh_database_at_once_all_get_the_study(tmp_path: Path) -> None:
    # Optuna's CREATE TABLEs are not atomic: without the retry three of four runners failed on every try
    spec = load_spec(write_spec(tmp_path, GRID))
    studies: list[optuna.Study] = []
    errors: list[BaseException] = []

    def runner() -> None:
        try:
            studies.append(open_study(spec, tmp_path / "r", None))
        except BaseException as e:  # noqa: BLE001 - the test reports whatever a runner raised
            errors.append(e)

    threads = [threading.Thread(target=runner) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [] and len(studies) == 4
    assert {s._study_id for s in studies} == {studies[0]._study_id}


@pytest.mark.parametrize("url, message", [
    ("nonsense", "is not a SQLAlchemy URL"),
    ("postgresql+psycopg2://nobody@127.0.0.1:1/none", "cannot open the study database: .*check that the server runs"),
])
def test_a_bad_storage_url_is_one_clear_error(tmp_path: Path, url: str, message: str) -> None:
    spec = load_spec(write_spec(tmp_path, GRID))
    with pytest.raises(Exception, match=message):
        open_study(spec, tmp_path / "r", url)


@pytest.mark.parametrize(("factor", "values"), [("sample.precision", "[fp32, bf16]"), ("train.cpu_bf16", "[false, true]")])
def test_a_grid_point_this_machine_cannot_run_is_refused_before_any_trial(factor: str, values: str, tmp_path: Path,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(host, "cpuinfo", lambda field: "fpu avx2" if field == "flags" else "")  # no native bf16
    spec = load_spec(write_spec(tmp_path, GRID.replace("model.skip", factor).replace("[true, false]", values)))
    assert spec.factors() == [factor]
    with pytest.raises(ConfigError, match=f"{factor}=.* needs native bfloat16 arithmetic"):
        run_study(spec, tmp_path / "r", progress=False)
    assert not (tmp_path / "r").exists() or not any((tmp_path / "r").rglob("study.db"))  # nothing ran


def test_a_tuning_study_feeds_the_pruner_and_reports_the_best_first(tmp_path: Path) -> None:
    spec_path = write_spec(tmp_path, TUNE)
    assert main(["tune", str(spec_path), "--results", str(tmp_path / "r"), "--trials", "3", "--quiet"]) == 0
    folder = tmp_path / "r" / "tunetest"
    study = open_study(load_spec(spec_path), tmp_path / "r", None)
    trials = study.get_trials()
    assert len(trials) == 3 and all(t.intermediate_values for t in trials)  # validation MSE at steps 3 and 6
    for t in trials:  # a larger batch trains fewer steps: the training images stay fixed (the spec's 6 steps of 32)
        config = json.loads((folder / "trials" / f"{t.number:04d}" / "config.json").read_text())
        assert config["train"]["steps"] * config["train"]["batch_size"] == 6 * 32
    summary = pd.read_csv(folder / "summary.csv")
    assert list(summary["objective"]) == sorted(summary["objective"])  # mse: lowest first
    report = (folder / "report.md").read_text()
    assert "TPE over train.lr, model.channels, train.batch_size" in report and "(plots/search.png)" in report


def test_ablate_and_tune_each_refuse_the_other_kind_of_spec(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ablate", str(write_spec(tmp_path, TUNE)), "--results", str(tmp_path / "r")]) == 2
    assert "is a tuning spec (it has search:); run it with `harness tune" in capsys.readouterr().err
    assert main(["tune", str(write_spec(tmp_path, GRID, "grid.yaml")), "--results", str(tmp_path / "r")]) == 2
    assert "is an ablation grid (it has vary:); run it with `harness ablate" in capsys.readouterr().err
    assert not (tmp_path / "r").exists()


def test_a_list_point_whose_keys_are_part_of_another_is_summarised_apart(tmp_path: Path) -> None:
    spec = load_spec(write_spec(tmp_path, GRID.replace("model.skip: [true, false]", """
  - {sample.guidance: 0}
  - {sample.guidance: 0, train.p_uncond: 0.2}""").replace("vary:\n", "vary:")))
    trials = pd.DataFrame([{"trial": i, "state": "COMPLETE", "point": p, "seed": s, "class_acc": acc}
                           for i, (p, s, acc) in enumerate([(0, 0, 0.1), (0, 1, 0.2), (1, 0, 0.5), (1, 1, 0.7)])])
    summary = summary_frame(trials, spec)
    assert summary["seeds"].tolist() == [2, 2]
    assert summary["class_acc"].tolist() == pytest.approx([0.15, 0.6])


def test_the_report_gives_the_class_score_of_the_real_digits_beside_the_samples() -> None:
    """The class score tops out below 10 on real digits; the report says where, so w = 0's figure has a scale."""
    spec = load_spec(ABLATIONS / "quickstart.yaml")
    cells = {"mse": 0.2, "class_acc": 0.5, "fid": 100.0, "kid": 50.0, "diversity": 30.0, "class_score": 5.0}
    summary = pd.DataFrame([{"sample.guidance": w, "seeds": 3, "class_score_reference": 9.78,
                             **{k: v for key, v in cells.items()
                                for k in (key, f"{key}_ci95_low", f"{key}_ci95_high")}} for w in (0, 1, 3)])
    text = _report.markdown(spec, pd.DataFrame({"state": ["COMPLETE"] * 9}), summary)
    assert "class_score of the test digits themselves 9.78" in text
    assert "| 0 | 3 |" in text and "class_score |" in text
