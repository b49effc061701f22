import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import smoke_overrides

from harness._util import host
from harness.cli import main
from harness.config import resolve_config


def sets(**extra: object) -> list[str]:
    return [arg for pair in smoke_overrides(**extra) for arg in ("--set", pair)]


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("cli") / "run"
    assert main(["train", "--budget", "smoke", "--out", str(out), "--quiet", *sets()]) == 0
    return out


def test_train_writes_the_run_folder(trained: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert {p.name for p in trained.iterdir()} >= {"config.json", "train_log.csv", "checkpoint.pt", "samples.png"}


def test_sample_writes_uint8_images_and_labels(trained: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "s.npz"
    assert main(["sample", str(trained), "--sampler", "ddim", "--steps", "3", "--guidance", "3",
                 "--per-class", "2", "--out", str(out)]) == 0
    data = np.load(out)
    assert data["images"].shape == (20, 28, 28) and data["images"].dtype == np.uint8
    assert data["labels"].tolist() == [d for d in range(10) for _ in range(2)]
    assert "20 samples (ddim, 3 steps, w=3.0)" in capsys.readouterr().out


def test_sample_with_a_guidance_interval_says_where_it_guided(trained: Path, tmp_path: Path,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "s.npz"
    assert main(["sample", str(trained), "--steps", "3", "--per-class", "1", "--guidance-interval", "0.2", "0.8",
                 "--out", str(out)]) == 0
    assert "10 samples (dpmpp_2m, 3 steps, w=3.0 at t/T in [0.2, 0.8])" in capsys.readouterr().out
    assert np.load(out)["images"].shape == (10, 28, 28)
    assert main(["sample", str(trained), "--guidance-interval", "0.9", "0.1", "--out", str(tmp_path / "bad.npz")]) == 2
    assert "sample.guidance_interval must have 0 <= lo < hi <= 1" in capsys.readouterr().err
    assert not (tmp_path / "bad.npz").exists()


def test_sample_in_bf16_where_it_is_emulated_says_so_and_writes_nothing(trained: Path, tmp_path: Path,
                                                                       monkeypatch: pytest.MonkeyPatch,
                                                                       capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(host, "cpuinfo", lambda field: "fpu avx2" if field == "flags" else "")
    out = tmp_path / "s.npz"
    assert main(["sample", str(trained), "--steps", "3", "--precision", "bf16", "--out", str(out)]) == 2
    assert "sample.precision=bf16 needs native bfloat16 arithmetic" in capsys.readouterr().err and not out.exists()


def test_sample_keeps_the_run_s_sample_settings_where_no_option_is_given(tmp_path: Path,
                                                                      capsys: pytest.CaptureFixture[str]) -> None:
    run = tmp_path / "run"
    assert main(["train", "--budget", "smoke", "--out", str(run), "--quiet",
                 *sets(**{"sample.sampler": "dpmpp_2m", "sample.steps": 4, "sample.guidance": 1.5})]) == 0
    capsys.readouterr()
    assert main(["sample", str(run), "--per-class", "1", "--out", str(tmp_path / "s.npz")]) == 0
    assert "10 samples (dpmpp_2m, 4 steps, w=1.5)" in capsys.readouterr().out
    assert main(["sample", str(run), "--per-class", "1", "--steps", "3", "--out", str(tmp_path / "s.npz")]) == 0
    assert "10 samples (dpmpp_2m, 3 steps, w=1.5)" in capsys.readouterr().out  # only the option given changes


@pytest.mark.parametrize("per_class", ["0", "-5"])
def test_sample_refuses_a_per_class_below_one_in_one_line(trained: Path, tmp_path: Path, per_class: str,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "s.npz"
    assert main(["sample", str(trained), "--per-class", per_class, "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert f"--per-class must be at least 1 (samples of each digit), got {per_class}" in err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1 and not out.exists()


def test_ctrl_c_exits_130_with_how_to_resume(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    def interrupted(args: object) -> int:
        raise KeyboardInterrupt

    monkeypatch.setattr("harness.cli._runs.cmd_components", interrupted)
    assert main(["components"]) == 130
    assert capsys.readouterr().err == ("harness: interrupted; finished work is kept: run the same command again to go on "
                                       "from it\n")


def test_a_file_system_error_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "file").write_text("")
    assert main(["sample", str(tmp_path / "file" / "run"), "--out", str(tmp_path / "x.npz")]) == 2
    assert capsys.readouterr().err.count("\n") == 1


def test_components_and_presets_list_every_member(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["components"]) == 0
    out = capsys.readouterr().out
    for name in ("linear", "cosine", "sigmoid", "quadratic", "ddim", "ddpm", "eps", "x0", "v", "sinusoidal", "learned",
                 "scale_shift"):
        assert name in out
    assert main(["presets"]) == 0
    out = capsys.readouterr().out
    assert "report004" in out and "params=1,787,841" in out


def test_classifier_command_reports_accuracy_and_which_weights(classifier, capsys: pytest.CaptureFixture[str]) -> None:  # noqa: ANN001
    assert main(["classifier"]) == 0
    out = capsys.readouterr().out
    assert "(shipped with the harness)" in out and f"{classifier.test_accuracy:.2%}" in out and str(classifier.path) in out


def test_classifier_ship_writes_the_weights_folder_and_says_to_commit_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                         capsys: pytest.CaptureFixture[str]) -> None:
    from harness.metrics import ReferenceClassifier, _reference as reference

    monkeypatch.setattr(reference, "SHIPPED_DIR", tmp_path / "weights")
    monkeypatch.setattr(reference, "fit", lambda train, progress, epochs: ReferenceClassifier().eval())  # the recipe: test_metrics
    assert main(["classifier", "--ship"]) == 0
    [written] = (tmp_path / "weights").glob("classifier-*.pt")
    assert f"shipped: {written} (" in capsys.readouterr().out
    assert main(["classifier"]) == 0
    out = capsys.readouterr().out
    assert "(shipped with the harness)" in out and str(written) in out


def test_speed_reports_gflops_against_the_measured_peak(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    # --results: the default would overwrite the user's own results/perf/speed.json with a smoke figure
    assert main(["speed", "--budget", "smoke", "--steps", "2", "--results", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "training images/s" in out and "of this machine's fp32 matmul peak" in out
    assert (tmp_path / "perf" / "speed.json").is_file()


def test_speed_profile_names_each_convolution_by_its_input_shape(capsys: pytest.CaptureFixture[str],
                                                                  tmp_path: Path) -> None:
    assert main(["speed", "--budget", "smoke", "--steps", "2", "--profile", "40", "--results", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    saved = (tmp_path / "perf" / "speed_profile.txt").read_text()
    assert saved.startswith("harness speed --preset baseline --budget smoke --steps 2 --device auto --profile 40\n")
    table = saved.split("\n\n", 1)[1]
    assert table.strip() in out and "Input Shapes" in table
    # the smoke network's first convolution (1 -> its first level's channels at 28x28, batch 32) has a row of its own
    first = resolve_config("baseline", "smoke").model.channels[0]
    assert f"[[32, 1, 28, 28], [{first}, 1, 3, 3]" in table and "aten::convolution_backward" in table


@pytest.mark.parametrize(("argv", "message"), [
    (["--steps", "0"], "--steps must be >= 1 (the optimiser steps timed), got 0"),
    (["--profile", "-1"], "--profile must be >= 0 (rows of the operator table; 0: no profile), got -1"),
])
def test_speed_refuses_counts_below_their_floor_in_one_line(argv: list[str], message: str, tmp_path: Path,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["speed", "--budget", "smoke", *argv, "--results", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1 and not (tmp_path / "perf").exists()


def test_listing_commands_load_none_of_the_study_evaluation_or_peer_stack() -> None:
    # a fresh interpreter: this one has long since imported all of them
    code = ("import sys; from harness.cli import main; main(['components']); main(['presets']); "
            "print(sorted(m for m in ('optuna', 'torch_fidelity', 'open_clip', 'pandas', 'seaborn', 'diffusers') "
            "if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert done.stdout.strip().splitlines()[-1] == "[]"


def test_the_grace_default_is_the_study_s() -> None:
    from harness.cli import _studies
    from harness.studies import _runner as study

    assert _studies.GRACE_S == study.GRACE_S  # the cli keeps its own copy so that light commands skip optuna
