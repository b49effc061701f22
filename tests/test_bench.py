"""bench-compare: the committed baselines pass against themselves, a deliberate slow-down fails, a slower machine
does not, and each class of machine is held against its own baseline."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from harness.cli import main
from harness.perf import (
    CALIBRATION_KEY,
    MATMUL,
    MATMUL_KEY,
    bench_lines,
    compare,
    comparison_table,
    machine_class,
    regressions,
)

ROOT = Path(__file__).parent.parent
BASELINES = ROOT / "tests" / "benchmarks" / "baselines"
BASELINE = BASELINES / "x86_64-avx512.json"  # the file the synthetic runs below are scaled from
AVX2 = BASELINES / "x86_64-avx2.json"


def scaled(tmp_path: Path, factors: dict[str, float], calibration: float = 1.0, matmul: float = 1.0,
           source: Path = BASELINE) -> Path:
    """A copy of a baseline run with some medians multiplied ('*' = every benchmark), every benchmark's own
    calibration kernel by `calibration` and the matmul timed beside it (where the run has one) by `matmul`."""
    data = json.loads(source.read_text())
    for bench in data["benchmarks"]:
        bench["stats"]["median"] *= factors.get(bench["name"], factors.get("*", 1.0))
        bench["extra_info"][CALIBRATION_KEY] *= calibration
        if MATMUL_KEY in bench["extra_info"]:
            bench["extra_info"][MATMUL_KEY] *= matmul
    path = tmp_path / "bench.json"
    path.write_text(json.dumps(data))
    return path


@pytest.mark.parametrize("baseline", sorted(BASELINES.glob("*.json")), ids=lambda p: p.stem)
def test_each_committed_baseline_covers_the_suite_and_is_picked_for_its_own_class(
        baseline: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert machine_class(json.loads(baseline.read_text())) == baseline.stem
    names = {r.name for r in compare(baseline, baseline)}
    assert {"test_train_step", "test_network_evaluation", "test_ddim_sample_of_a_batch[ddim]",
            "test_ddim_sample_of_a_batch[cfg]", "test_fid_kid_on_a_fixed_feature_set",
            "test_data_loading_one_epoch_of_batches"} <= names
    assert main(["bench-compare", str(baseline), "--baseline", str(BASELINES), "--check"]) == 0
    out = capsys.readouterr().out
    assert f"against {baseline}" in out and "no benchmark more than 25% slower" in out


@pytest.mark.parametrize(("flags", "kind"), [
    (["avx", "avx2", "fma", "avx512f", "avx512bw", "avx512dq", "avx512vl", "amx_tile"], "x86_64-avx512"),
    (["avx", "avx2", "fma", "avx512f"], "x86_64-avx2"),  # AVX-512 without BW/DQ/VL: torch and numpy use AVX2
    (["sse4_2", "avx"], "x86_64"),
])
def test_the_class_of_machine_is_its_architecture_and_widest_simd_level(flags: list[str], kind: str) -> None:
    assert machine_class({"machine_info": {"cpu": {"arch_string_raw": "x86_64", "flags": flags}}}) == kind
    assert machine_class({"machine_info": {"machine": "aarch64", "cpu": {}}}) == "aarch64"
    on_gpu = {"machine_info": {"cuda_device": "NVIDIA H200", "cpu": {"arch_string_raw": "x86_64", "flags": flags}}}
    assert machine_class(on_gpu) == "cuda-nvidia-h200"  # a --bench-device cuda run is held against its GPU's


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the refusal where torch sees no CUDA device")
def test_the_suite_on_cuda_without_a_gpu_is_one_clear_usage_error() -> None:
    run = subprocess.run([sys.executable, "-m", "pytest", "tests/benchmarks", "-q", "-p", "no:cacheprovider",
                          "--bench-device", "cuda"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert run.returncode == 4  # pytest's usage error: nothing ran
    assert "--bench-device cuda: torch sees no CUDA device" in run.stderr and "--bench-device cpu" in run.stderr


def test_a_thread_count_below_one_is_one_clear_usage_error() -> None:
    run = subprocess.run([sys.executable, "-m", "pytest", "tests/benchmarks", "-q", "-p", "no:cacheprovider",
                          "--bench-threads", "0"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert run.returncode == 4 and "--bench-threads must be >= 1 (torch threads), got 0" in run.stderr


def as_recorded_before_the_kernels(source: Path, tmp_path: Path) -> Path:
    """A copy of run `source` with each benchmark timed against the matmul alone, as runs were before 269e783."""
    data = json.loads(source.read_text())
    for bench in data["benchmarks"]:
        bench["extra_info"] = {CALIBRATION_KEY: bench["extra_info"][MATMUL_KEY]}
    path = tmp_path / "matmul_only.json"
    path.write_text(json.dumps(data))
    return path


def test_across_classes_the_instruction_set_reads_as_a_regression_in_matmul_units_not_in_the_kernels(
        tmp_path: Path) -> None:
    """Why each benchmark has a calibration kernel sharing its bottleneck: the AVX2 host's baseline against the
    AVX-512 host's, in matmul units, fails on FID/KID (numpy vectorises KID's float64 power only with AVX-512);
    against `poly_kernel`, which runs that power, it does not."""
    in_matmul = compare(AVX2, as_recorded_before_the_kernels(BASELINE, tmp_path))
    assert {r.unit for r in in_matmul} == {MATMUL}
    assert "test_fid_kid_on_a_fixed_feature_set" in {r.name for r in regressions(in_matmul)}
    fid_kid = {r.name: r for r in compare(AVX2, BASELINE)}["test_fid_kid_on_a_fixed_feature_set"]
    assert fid_kid.unit == "poly_kernel" and regressions([fid_kid]) == []
    assert regressions(compare(AVX2, AVX2)) == []


def test_a_run_from_a_class_without_a_baseline_is_one_clear_line(tmp_path: Path,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    run = json.loads(AVX2.read_text())
    run["machine_info"]["cpu"]["flags"] = ["sse2"]
    (tmp_path / "bench.json").write_text(json.dumps(run))
    assert main(["bench-compare", str(tmp_path / "bench.json"), "--baseline", str(BASELINES), "--check"]) == 2
    err = capsys.readouterr().err
    assert "class of machine (x86_64) with no baseline" in err and "x86_64-avx2, x86_64-avx512" in err
    assert "make bench-baseline" in err and str(BASELINES / "x86_64.json") in err


def test_bench_baseline_stores_a_run_as_its_class_s_baseline(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run = scaled(tmp_path, {"*": 1.1})
    assert main(["bench-baseline", str(run), "--into", str(tmp_path / "baselines")]) == 0
    stored = tmp_path / "baselines" / "x86_64-avx512.json"
    assert f"-> {stored}" in capsys.readouterr().out
    assert {r.name: r.baseline for r in compare(BASELINE, stored)}["test_train_step"] == pytest.approx(
        1.1 * {r.name: r.baseline for r in compare(BASELINE, BASELINE)}["test_train_step"])
    (tmp_path / "junk.json").write_text("[]")
    assert main(["bench-baseline", str(tmp_path / "junk.json"), "--into", str(tmp_path / "baselines")]) == 2
    assert "is not a pytest-benchmark JSON file" in capsys.readouterr().err


def test_a_deliberate_slowdown_fails_bench_check_with_a_table(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    slow = scaled(tmp_path, {"test_train_step": 1.5})
    assert main(["bench-compare", str(slow), "--baseline", str(BASELINE), "--check"]) == 1
    out, err = capsys.readouterr()
    assert [line for line in out.splitlines() if "REGRESSED" in line][0].startswith("| test_train_step | ")
    assert "+50%" in out and "test_train_step" in err
    assert "make bench-check BASE=<revision>" in err  # the remedy where the machine, not the code, differs
    assert main(["bench-compare", str(slow), "--baseline", str(BASELINE)]) == 0  # `make bench` reports, never fails


def test_a_benchmark_the_baseline_lacks_is_named_as_not_gated(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A benchmark added after its class's baseline was recorded is timed but cannot fail the gate: the comparison
    says so, and how to gate it, where it would otherwise drop out of the table unseen."""
    data = json.loads(scaled(tmp_path, {}).read_text())
    data["benchmarks"].append({**data["benchmarks"][1], "name": "test_a_new_step", "fullname": "test_a_new_step"})
    run = tmp_path / "with-new.json"
    run.write_text(json.dumps(data))
    assert main(["bench-compare", str(run), "--baseline", str(BASELINE), "--check"]) == 0
    out = capsys.readouterr().out
    assert f"test_a_new_step: not in {BASELINE}, so not gated here; `make bench-baseline`" in out
    assert "| test_a_new_step |" not in out
    assert any("test_a_new_step: not in" in line for line in bench_lines(compare(run, BASELINE), run, BASELINE, "make bench"))


def test_a_uniformly_slower_machine_is_not_a_regression(tmp_path: Path) -> None:
    assert regressions(compare(scaled(tmp_path, {"*": 3.0}, calibration=3.0), BASELINE)) == []
    every = compare(BASELINE, BASELINE)  # with every calibration kernel twice as fast, every benchmark looks 2x slower
    assert len(regressions(compare(scaled(tmp_path, {}, calibration=0.5), BASELINE))) == len(every) >= 12


def matmul_only(run: Path, out: Path) -> Path:
    """`run` as the suite recorded it before the per-benchmark kernels: each benchmark held against the matmul."""
    data = json.loads(run.read_text())
    for bench in data["benchmarks"]:
        bench["extra_info"] = {CALIBRATION_KEY: bench["extra_info"][MATMUL_KEY]}
    out.write_text(json.dumps(data))
    return out


def test_a_host_with_a_faster_matmul_but_not_a_faster_network_is_not_a_regression(tmp_path: Path) -> None:
    """Three AVX2 hosts ran the matmul 1.7-2.2x apart and the suite's workloads within 25%; each benchmark's own
    kernel moves with its workload, the matmul does not."""
    other_host = scaled(tmp_path, {}, matmul=0.5, source=AVX2)
    rows = compare(other_host, AVX2)
    assert regressions(rows) == [] and {r.unit for r in rows} >= {"network_step", "network_forward", "poly_kernel"}
    against_matmul = compare(matmul_only(other_host, tmp_path / "a.json"), matmul_only(AVX2, tmp_path / "b.json"))
    every = json.loads(AVX2.read_text())["benchmarks"]
    assert len(regressions(against_matmul)) == len(every)  # all read 2x slower


def test_a_baseline_from_before_the_kernels_is_compared_in_matmul_units_and_says_so(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    old = matmul_only(AVX2, tmp_path / "old.json")
    rows = compare(AVX2, old)
    assert {r.unit for r in rows} == {MATMUL} and regressions(rows) == []
    train = next(r for r in rows if r.name == "test_train_step")
    assert train.own_unit == "network_step" and train.change == pytest.approx(0.0)
    text = "\n".join(bench_lines(rows, AVX2, old, "make bench"))
    assert "test_train_step" in text.split("in matmul units")[0] and "test_calibration_matmul," not in text
    assert "re-recorded on its class of machine with `make bench-baseline`" in text
    assert "| test_train_step | " in text and " | matmul | " in text
    assert main(["bench-compare", str(AVX2), "--baseline", str(old), "--check"]) == 0
    assert "in matmul units, as the baseline was recorded before the per-benchmark kernels" in capsys.readouterr().out


def test_runs_without_a_calibration_kernel_in_common_are_one_clear_line(tmp_path: Path,
                                                                        capsys: pytest.CaptureFixture[str]) -> None:
    data = json.loads(AVX2.read_text())
    for bench in data["benchmarks"]:
        bench["extra_info"].pop(MATMUL_KEY, None)
    (tmp_path / "kernels_only.json").write_text(json.dumps(data))
    old = matmul_only(AVX2, tmp_path / "old.json")
    assert main(["bench-compare", str(tmp_path / "kernels_only.json"), "--baseline", str(old)]) == 2
    err = capsys.readouterr().err
    assert "test_train_step was timed against calibration kernels ['network_step'] in one run and ['matmul']" in err
    assert "none in common" in err and "make bench-baseline" in err


def test_each_benchmark_is_read_against_the_calibration_timed_around_it(tmp_path: Path) -> None:
    data = json.loads(BASELINE.read_text())
    for bench in data["benchmarks"]:  # the machine slowed 2x for the train step alone, calibration included
        if bench["name"] == "test_train_step":
            bench["stats"]["median"] *= 2
            bench["extra_info"][CALIBRATION_KEY] *= 2
    (tmp_path / "drift.json").write_text(json.dumps(data))
    assert regressions(compare(tmp_path / "drift.json", BASELINE)) == []


def test_a_run_without_per_benchmark_calibration_says_how_to_record_one(tmp_path: Path,
                                                                        capsys: pytest.CaptureFixture[str]) -> None:
    data = json.loads(BASELINE.read_text())
    for key in (CALIBRATION_KEY, MATMUL_KEY):  # no kernel, nor the matmul, timed around it
        data["benchmarks"][2]["extra_info"].pop(key, None)
    (tmp_path / "old.json").write_text(json.dumps(data))
    assert main(["bench-compare", str(tmp_path / "old.json"), "--baseline", str(BASELINE)]) == 2
    err = capsys.readouterr().err
    assert f"has no extra_info.{CALIBRATION_KEY}" in err and "make bench-baseline" in err


def test_a_file_that_is_not_benchmark_json_is_one_clear_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "x.json").write_text("{}")
    assert main(["bench-compare", str(tmp_path / "x.json"), "--baseline", str(BASELINE)]) == 2
    assert "is not a pytest-benchmark JSON file" in capsys.readouterr().err


def test_the_median_of_three_runs_outvotes_one_unlucky_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    runs = []
    for i, factor in enumerate([1.0, 1.6, 0.9]):  # the second run's train step had bad luck
        (tmp_path / str(i)).mkdir()
        runs.append(str(scaled(tmp_path / str(i), {"test_train_step": factor})))
    assert regressions(compare(Path(runs[1]), BASELINE))  # alone it would fail the gate
    out = tmp_path / "median.json"
    assert main(["bench-median", *runs, "--out", str(out)]) == 0
    assert regressions(compare(out, BASELINE)) == []
    train = {r.name: r for r in compare(out, BASELINE)}["test_train_step"]
    assert train.change == pytest.approx(0.0)  # the entry is the 1.0 run's, whole
    assert json.loads(out.read_text())["median_of"] == runs


def runs_of(tmp_path: Path, side: str, factors: list[float]) -> list[Path]:
    """Runs of the suite whose data-loading figure is the baseline's times each factor."""
    paths = []
    for i, factor in enumerate(factors):
        (tmp_path / f"{side}{i}").mkdir()
        paths.append(scaled(tmp_path / f"{side}{i}", {"test_data_loading_one_epoch_of_batches": factor}))
    return paths


@pytest.mark.parametrize("head, regressed", [([1.31, 1.30, 1.9], False),  # the runs overlap: noise, not code
                                             ([1.7, 1.65, 1.8], True)])  # every head run slower: a regression
def test_with_runs_on_both_sides_a_slower_median_fails_only_beyond_the_runs_noise(
        tmp_path: Path, head: list[float], regressed: bool) -> None:
    # the base runs' figures as one bench-against read them on identical code (data loading 0.19-0.31 against 0.27-0.40)
    base_runs, head_runs = runs_of(tmp_path, "base", [1.0, 1.07, 1.59]), runs_of(tmp_path, "head", head)
    row = {r.name: r for r in compare(head_runs[0], base_runs[0], (head_runs, base_runs))}[
        "test_data_loading_one_epoch_of_batches"]
    assert row.change > 0.25 and row.regressed() is regressed
    assert ("runs overlap: p = 0.20" in comparison_table([row])) is not regressed
    assert row.p_slower == pytest.approx(0.2 if not regressed else 0.05)


def test_with_one_run_a_side_the_change_alone_decides(tmp_path: Path) -> None:
    base_runs, head_runs = runs_of(tmp_path, "base", [1.0]), runs_of(tmp_path, "head", [1.3])
    row = compare(head_runs[0], base_runs[0], (head_runs, base_runs))[-1]
    assert row.p_slower is None and row.regressed()
