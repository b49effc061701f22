"""harness perf-report: each section from the file its own command writes, or the command that would write it."""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
import torch

from harness._util import native_bf16
from harness.cli import main
from harness.perf import interval_rows, sampler_goal, sampler_rows
from harness.studies import load_spec, run_study, write_report

ROOT = Path(__file__).parent.parent
BASELINES = ROOT / "tests" / "benchmarks" / "baselines"  # one per class of machine; perf-report picks


def report(results: Path, *extra: str) -> str:
    assert main(["perf-report", "--results", str(results), "--baseline", str(BASELINES), *extra]) == 0
    return (results / "perf" / "report.md").read_text()


def test_an_empty_results_folder_names_every_missing_measurement_and_its_command(tmp_path: Path) -> None:
    text = report(tmp_path)
    for command, file in [("make bench", "bench.json"), ("make bench BENCH_DEVICE=cuda", "bench-cuda.json"),
                          ("harness speed --preset baseline --budget quick", "speed.json"),
                          ("make bench-peers", "peers.json"), ("make bench-peers-quality", "peers_quality.json"),
                          ("make bench-peers", "time_to_quality.json"),
                          ("make ablate STUDY=sampler", "summary.csv"),
                          ("make ablate STUDY=guidance_interval", "summary.csv")]:
        assert f"Not measured yet: `{command}` writes {tmp_path}" in text and file in text
    assert "logical cores" in text and "CUDA device:" in text


def test_the_bench_and_train_step_sections_come_from_their_commands_files(tmp_path: Path) -> None:
    assert main(["speed", "--budget", "smoke", "--steps", "1", "--results", str(tmp_path)]) == 0
    speed = json.loads((tmp_path / "perf" / "speed.json").read_text())
    assert speed["command"].startswith("harness speed --preset baseline --budget smoke --steps 1")
    assert speed["fraction_of_peak"] == pytest.approx(speed["gflops"] / speed["peak_gflops"])
    # a real pytest-benchmark run, recorded on an AVX2 host: its own class's baseline, so every change is +0%
    shutil.copy(BASELINES / "x86_64-avx2.json", tmp_path / "perf" / "bench.json")
    text = report(tmp_path)
    assert "compared with `" in text and "x86_64-avx2.json`" in text
    assert f"| achieved | {speed['gflops']:.1f} GFLOP/s |" in text and "target >= 50%) |" in text
    assert f"{speed['parameters']:,} parameters" in text and "logical cores" in text
    assert "| test_train_step | " in text and "| +0% | ok |" in text and "REGRESSED" not in text
    assert (tmp_path / "perf" / "bench.png").is_file()


def test_a_cuda_run_of_the_suite_has_its_own_section_against_its_gpu_s_baseline(tmp_path: Path) -> None:
    run = json.loads((BASELINES / "x86_64-avx2.json").read_text())
    run["machine_info"]["cuda_device"] = "NVIDIA H200"  # as tests/conftest.py records it under --bench-device cuda
    (tmp_path / "perf").mkdir()
    (tmp_path / "perf" / "bench-cuda.json").write_text(json.dumps(run))
    baselines = tmp_path / "baselines"
    assert main(["bench-baseline", str(tmp_path / "perf" / "bench-cuda.json"), "--into", str(baselines)]) == 0
    assert main(["perf-report", "--results", str(tmp_path), "--baseline", str(baselines)]) == 0
    text = (tmp_path / "perf" / "report.md").read_text()
    cuda = text.split("## The same benchmarks on CUDA")[1].split("## ")[0]
    assert "CUDA device NVIDIA H200, by `make bench BENCH_DEVICE=cuda`" in cuda and "cuda-nvidia-h200.json`" in cuda and "| +0% | ok |" in cuda
    assert "![change against the baseline](bench-cuda.png)" in cuda and (tmp_path / "perf" / "bench-cuda.png").is_file()
    assert "Not measured yet: `make bench` writes" in text  # the CPU run is its own section


def test_a_bench_run_from_a_class_of_machine_without_a_baseline_says_how_to_record_one(tmp_path: Path) -> None:
    run = json.loads((BASELINES / "x86_64-avx2.json").read_text())
    run["machine_info"]["cpu"]["arch_string_raw"] = "aarch64"
    (tmp_path / "perf").mkdir()
    (tmp_path / "perf" / "bench.json").write_text(json.dumps(run))
    text = report(tmp_path)  # the rest of the report is still written
    assert "a class of machine (aarch64) with no baseline" in text and "make bench-baseline" in text
    assert "| test_train_step |" not in text and not (tmp_path / "perf" / "bench.png").exists()


@pytest.mark.skipif(not native_bf16(torch.device("cpu")), reason="this CPU has no native bf16 (AVX512-BF16 or AMX)")
def test_a_bf16_train_step_is_held_against_the_bf16_matmul_peak(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["speed", "--budget", "smoke", "--steps", "1", "--set", "train.cpu_bf16=true", "--results", str(tmp_path)]) == 0
    speed = json.loads((tmp_path / "perf" / "speed.json").read_text())
    assert speed["precision"] == "bf16" and "--set train.cpu_bf16=true" in speed["command"]
    assert "of this machine's bf16 matmul peak" in capsys.readouterr().out
    assert f"| bf16 matmul peak of this machine, its best window before and after the steps | " \
        f"{speed['peak_gflops']:.1f} GFLOP/s |" in report(tmp_path)


def test_an_unreadable_file_is_one_clear_error_and_the_last_report_stays(tmp_path: Path,
                                                                        capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "perf").mkdir()
    (tmp_path / "perf" / "report.md").write_text("the last report")
    (tmp_path / "perf" / "speed.json").write_text("{half a file")
    assert main(["perf-report", "--results", str(tmp_path)]) == 2
    assert "speed.json cannot be read (JSONDecodeError" in capsys.readouterr().err
    assert (tmp_path / "perf" / "report.md").read_text() == "the last report"


def sampler_summary(fids: dict[tuple[str, int], float]) -> pd.DataFrame:
    """A summary.csv's columns for the given (sampler, steps) -> FID, one evaluation per step."""
    rows = [{"sample.sampler": s, "sample.steps": n, "seeds": 3, "fid": f, "fid_ci95_low": f - 1, "fid_ci95_high": f + 1,
             "class_acc": 0.9, "class_acc_ci95_low": 0.8, "class_acc_ci95_high": 1.0,
             "speed_network_evaluations_per_sample": n, "speed_sampling_images_per_s": 1000 / n}
            for (s, n), f in fids.items()]
    return pd.DataFrame(rows)


def test_the_goal_takes_the_best_sampler_at_20_evaluations_or_fewer_against_ddpm_1000() -> None:
    fids = {("ddpm", 1000): 10.0, ("ddim", 10): 15.0, ("dpmpp_2m", 20): 10.5, ("ddim", 50): 9.0}
    rows = sampler_rows(sampler_summary(fids))
    assert list(rows["evaluations"]) == [10, 20, 50, 1000] and list(rows["fid_over_reference"]) == [1.5, 1.05, 0.9, 1.0]
    assert sampler_goal(rows) == ("met: the best at <= 20 evaluations is dpmpp_2m with 20, FID 10.5 = 1.05x "
                                  "ddpm-1000's 10 (goal <= 1.10x)")
    worse = sampler_rows(sampler_summary({**fids, ("dpmpp_2m", 20): 12.0}))
    assert sampler_goal(worse).startswith("NOT met: the best at <= 20 evaluations is dpmpp_2m with 20, FID 12 = 1.20x")
    few = sampler_rows(sampler_summary({("ddpm", 1000): 10.0, ("ddim", 50): 9.0}))
    assert sampler_goal(few) == "not measured: the study has no sampler at 20 network evaluations or fewer"


def test_a_study_without_what_the_section_needs_is_named() -> None:
    with pytest.raises(ValueError, match="lacks speed_network_evaluations_per_sample"):
        sampler_rows(sampler_summary({("ddpm", 1000): 10.0}).drop(columns="speed_network_evaluations_per_sample"))
    with pytest.raises(ValueError, match="no ddpm point"):
        sampler_rows(sampler_summary({("ddim", 10): 10.0}))


def test_the_sampler_section_from_a_real_study_of_the_shipped_kind(tmp_path: Path) -> None:
    # ablations/sampler.yaml at the smoke budget, one seed, DDPM cut to 100 steps and 5 digits per class: seconds
    spec = load_spec(ROOT / "ablations" / "sampler.yaml").at_budget("smoke")
    points = [{"sample.sampler": "ddpm", "sample.steps": 100}, {"sample.sampler": "ddim", "sample.steps": 10},
              {"sample.sampler": "dpmpp_2m", "sample.steps": 10}]
    spec = dataclasses.replace(spec, seeds=spec.seeds[:1], vary=points, base={"preset": "baseline"})
    folder = tmp_path / spec.name
    write_report(run_study(spec, tmp_path, progress=False), spec, folder)  # summary.csv, trials.csv
    rows = sampler_rows(pd.read_csv(folder / "summary.csv"))
    assert list(rows["sampler"]) == ["ddim", "dpmpp_2m", "ddpm"] and list(rows["evaluations"]) == [10, 10, 100]
    assert rows["fid"].gt(0).all() and rows.loc[rows["sampler"] == "ddpm", "fid_over_reference"].tolist() == [1.0]
    text = report(tmp_path, "--sampler-study", str(folder))
    assert "| dpmpp_2m | 10 | 10 | 1 |" in text and f"Goal (FID within 10% of DDPM-1000's at <= 20 evaluations): " \
        f"{sampler_goal(rows)}." in text
    assert (tmp_path / "perf" / "sampler.png").is_file()


def interval_summary(fids: dict[str, float]) -> pd.DataFrame:
    """A summary.csv's columns for the given intervals (as the study writes them) -> FID; passes from the text."""
    passes = {"[0.0, 1.0]": 100, "[0.2, 0.8]": 80, "[0.0, 0.5]": 75}
    rows = [{"sample.guidance_interval": i, "seeds": 3, "fid": f, "fid_ci95_low": f - 1, "fid_ci95_high": f + 1,
             "class_acc": 0.9, "class_acc_ci95_low": 0.8, "class_acc_ci95_high": 1.0,
             "speed_network_passes_per_sample": passes[i], "speed_sampling_images_per_s": 500 / passes[i]}
            for i, f in fids.items()]
    return pd.DataFrame(rows)


def test_the_interval_rows_hold_each_fid_against_guidance_at_every_step() -> None:
    rows = interval_rows(interval_summary({"[0.2, 0.8]": 9.0, "[0.0, 1.0]": 10.0, "[0.0, 0.5]": 12.0}))
    assert rows["interval"].tolist() == [[0.0, 1.0], [0.2, 0.8], [0.0, 0.5]] and rows["passes"].tolist() == [100, 80, 75]
    assert rows["fid_over_full"].tolist() == pytest.approx([1.0, 0.9, 1.2])
    with pytest.raises(ValueError, match=r"no point sample.guidance_interval=\[0.0, 1.0\]"):
        interval_rows(interval_summary({"[0.2, 0.8]": 9.0}))
    with pytest.raises(ValueError, match="lacks speed_network_passes_per_sample"):
        interval_rows(interval_summary({"[0.0, 1.0]": 9.0}).drop(columns="speed_network_passes_per_sample"))


def test_the_interval_section_from_a_real_study_of_the_shipped_kind(tmp_path: Path) -> None:
    # ablations/guidance_interval.yaml at the smoke budget, one seed, 10 DDIM steps and 2 digits per class: seconds
    spec = load_spec(ROOT / "ablations" / "guidance_interval.yaml").at_budget("smoke")
    points = [{"sample.guidance_interval": i, "sample.steps": 10, "eval.samples_per_class": 2}
              for i in ([0.0, 1.0], [0.2, 0.8])]
    spec = dataclasses.replace(spec, seeds=spec.seeds[:1], vary=points)
    folder = tmp_path / spec.name
    write_report(run_study(spec, tmp_path, progress=False), spec, folder)
    rows = interval_rows(pd.read_csv(folder / "summary.csv"))
    # 10 uniform steps over T visit 6 in [0.2, 0.8] (t/T = 0.78 ... 0.22): 16 passes instead of 20
    assert rows["passes"].tolist() == [20, 16] and rows["fid"].gt(0).all() and rows["fid_over_full"].iloc[0] == 1.0
    text = report(tmp_path, "--interval-study", str(folder))
    assert "| [0, 1] | 20 | 1 |" in text and "| [0.2, 0.8] | 16 | 1 |" in text and "guidance in an interval" in text
