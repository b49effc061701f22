from pathlib import Path

import pytest
import torch
from conftest import smoke_overrides

from harness._util import CheckpointError, ConfigError, Interrupted, devices, host
from harness.config import TrainConfig, resolve_config
from harness.core import FORMULATIONS, PREDICTIONS, SCHEDULES
from harness.runs import (
    CHECKPOINT,
    TrainLog,
    _train as train_module,
    build_model,
    learning_rate,
    load_checkpoint,
    load_trained,
    train,
)
from harness.runs._train import _Loop

FORMULATION_PRESETS = {"vp": "baseline", "edm": "edm", "flow": "flow"}  # each formulation's paper recipe


def smoke(preset: str = "baseline_v2", **extra: object):  # noqa: ANN201
    return resolve_config(preset, "smoke", smoke_overrides(**extra))


def test_smoke_run_writes_every_output(run_dir: Path) -> None:
    result = train(smoke(), run_dir, progress=False)
    assert result.status == "finished" and result.step == 20
    for name in ("config.json", "train_log.csv", CHECKPOINT, "samples.png", "train_result.json"):
        assert (run_dir / name).is_file(), name
    rows = TrainLog.read(run_dir / "train_log.csv")
    assert [int(r["step"]) for r in rows] == [10, 20]
    assert all(float(r["val_loss"]) > 0 for r in rows)
    assert result.val_loss == pytest.approx(float(rows[-1]["val_loss_ema"]))


@pytest.mark.parametrize("override", [f"diffusion.prediction={p}" for p in PREDICTIONS.names()]
                         + [f"diffusion.schedule={s}" for s in SCHEDULES.names()])
def test_every_prediction_and_schedule_trains(override: str, tmp_path: Path) -> None:
    result = train(smoke(**{"train.steps": 3, "train.val_every": 3, **dict([override.split("=")])}), tmp_path,
                   progress=False, grid=False)
    assert result.status == "finished" and result.val_loss is not None and result.val_loss > 0


def crash_at_step_25_then_resume(cfg, out: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: ANN001
    """Train `cfg` into `out`, interrupted (as by Ctrl-C) before step 25, then run the same command again."""
    original = _Loop.step

    def crash_at_25(self: _Loop, step: int) -> tuple[float, float]:
        if step == 25:
            raise KeyboardInterrupt
        return original(self, step)

    monkeypatch.setattr(_Loop, "step", crash_at_25)
    with pytest.raises(Interrupted, match=f"the last checkpoint is step 20 of {cfg.train.steps}: run the same command again"):
        train(cfg, out, progress=False, grid=False)
    assert load_checkpoint(out / CHECKPOINT)["step"] == 20
    monkeypatch.setattr(_Loop, "step", original)
    train(cfg, out, progress=False, grid=False)


@pytest.mark.parametrize("formulation", FORMULATIONS.names())
def test_a_resumed_run_ends_with_the_same_weights(formulation: str, tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = smoke(FORMULATION_PRESETS[formulation], **{"train.steps": 30, "model.dropout": 0.1})
    train(cfg, tmp_path / "straight", progress=False, grid=False)
    crash_at_step_25_then_resume(cfg, tmp_path / "resumed", monkeypatch)

    a = load_checkpoint(tmp_path / "straight" / CHECKPOINT)
    b = load_checkpoint(tmp_path / "resumed" / CHECKPOINT)
    for key in ("model", "ema"):
        for name, tensor in a[key].items():
            assert torch.equal(tensor, b[key][name]), f"{key}.{name} differs after resume"
    steps = [int(r["step"]) for r in TrainLog.read(tmp_path / "resumed" / "train_log.csv")]
    assert steps == [10, 20, 30]  # no duplicated rows from the interrupted attempt


@pytest.mark.parametrize("formulation", FORMULATIONS.names())
def test_divergence_stops_with_a_clear_status(formulation: str, run_dir: Path) -> None:
    result = train(smoke(FORMULATION_PRESETS[formulation], **{"train.lr": 1e12, "train.grad_clip": 0,
                                                               "train.warmup_steps": 0}), run_dir, progress=False)
    assert result.status == "diverged"
    assert result.message.startswith("diverged at step ")
    assert not (run_dir / "samples.png").exists()


def test_a_finished_run_is_not_trained_again(run_dir: Path) -> None:
    cfg = smoke()
    train(cfg, run_dir, progress=False, grid=False)
    before = (run_dir / CHECKPOINT).stat().st_mtime_ns
    again = train(cfg, run_dir, progress=False)
    assert again.message.endswith("already holds the finished run; nothing to do")
    assert (run_dir / CHECKPOINT).stat().st_mtime_ns == before


def test_a_folder_of_another_config_is_refused_and_left_alone(run_dir: Path) -> None:
    train(smoke(), run_dir, progress=False, grid=False)
    before = (run_dir / CHECKPOINT).read_bytes()
    with pytest.raises(CheckpointError, match="holds a run of another config"):
        train(smoke(**{"train.seed": 1}), run_dir, progress=False)
    assert (run_dir / CHECKPOINT).read_bytes() == before


def test_truncated_checkpoint_is_reported(run_dir: Path) -> None:
    train(smoke(), run_dir, progress=False, grid=False)
    path = run_dir / CHECKPOINT
    path.write_bytes(path.read_bytes()[:1000])
    with pytest.raises(CheckpointError, match="truncated or corrupt"):
        load_trained(run_dir)


# raw weights, 16 images a step: the fp16 test trains three times under autocast, which the CPU emulates slowly
LEARNS = {"train.steps": 40, "train.batch_size": 16, "train.val_every": 40, "train.warmup_steps": 0,
          "train.ema": False}


@pytest.fixture
def stem_dtypes(monkeypatch: pytest.MonkeyPatch) -> set[torch.dtype]:
    """The dtypes the stem of every network `train` builds computes in, as they are seen."""
    dtypes: set[torch.dtype] = set()

    def watched(cfg):  # noqa: ANN001, ANN202
        model = build_model(cfg)
        model.stem.register_forward_hook(lambda m, args, out: dtypes.add(out.dtype))
        return model

    monkeypatch.setattr(train_module, "build_model", watched)
    return dtypes


def fp32_reference(out: Path, stem_dtypes: set[torch.dtype]) -> float:
    """The validation MSE of LEARNS trained in fp32, after which `stem_dtypes` is empty again. Trained from the
    same draws as a lower precision's run, it falls from about 0.94 (the untrained network) to about 0.44."""
    fp32 = train(smoke(**LEARNS), out, progress=False, grid=False)
    assert stem_dtypes == {torch.float32} and fp32.val_loss is not None and fp32.val_loss < 0.5
    stem_dtypes.clear()
    return fp32.val_loss


@pytest.mark.skipif(not devices.native_bf16(torch.device("cpu")), reason="this CPU has no native bf16 (AVX512-BF16 or AMX)")
def test_train_cpu_bf16_runs_the_network_in_bf16_and_learns_as_fp32_does(tmp_path: Path,
                                                                         stem_dtypes: set[torch.dtype]) -> None:
    fp32 = fp32_reference(tmp_path / "fp32", stem_dtypes)
    bf16 = train(smoke(**LEARNS, **{"train.cpu_bf16": True}), tmp_path / "bf16", progress=False, grid=False)
    assert stem_dtypes == {torch.bfloat16}
    assert bf16.status == "finished" and bf16.val_loss == pytest.approx(fp32, rel=0.05)


def test_fp16_training_as_on_a_gpu_without_native_bf16_scales_the_loss_learns_and_resumes_exactly(
        tmp_path: Path, stem_dtypes: set[torch.dtype], monkeypatch: pytest.MonkeyPatch) -> None:
    # a T4 or V100 trains under fp16 autocast with loss scaling (devices.training_precision); no GPU is lent
    # here, so the same loop runs on the CPU, whose autocast and GradScaler take fp16 too
    fp32 = fp32_reference(tmp_path / "fp32", stem_dtypes)
    monkeypatch.setattr(train_module, "training_precision", lambda amp, cpu_bf16, device: torch.float16)
    fp16 = train(smoke(**LEARNS), tmp_path / "fp16", progress=False, grid=False)
    assert stem_dtypes == {torch.float16}
    assert fp16.status == "finished" and fp16.val_loss == pytest.approx(fp32, rel=0.05)
    straight = load_checkpoint(tmp_path / "fp16" / CHECKPOINT)
    assert straight["scaler"]["scale"] > 1  # the loss was scaled: fp16 gradients of this size would underflow

    crash_at_step_25_then_resume(smoke(**LEARNS), tmp_path / "resumed", monkeypatch)
    resumed = load_checkpoint(tmp_path / "resumed" / CHECKPOINT)
    assert resumed["scaler"] == straight["scaler"]  # the scale and its count of steps since it last changed
    for name, tensor in straight["model"].items():
        assert torch.equal(tensor, resumed["model"][name]), f"{name} differs after resume"


def test_train_cpu_bf16_without_native_bf16_is_refused_before_anything_is_written(tmp_path: Path,
                                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(host, "cpuinfo", lambda field: "fpu avx2" if field == "flags" else "")
    with pytest.raises(ConfigError, match="train.cpu_bf16=true needs native bfloat16 arithmetic"):
        train(smoke(**{"train.cpu_bf16": True}), tmp_path / "run", progress=False)
    assert not (tmp_path / "run").exists()


def test_learning_rate_warms_up_then_decays_to_zero() -> None:
    cfg = TrainConfig(steps=100, lr=1.0, warmup_steps=10)
    assert learning_rate(cfg, 0) == pytest.approx(0.1)
    assert learning_rate(cfg, 9) == pytest.approx(1.0)
    assert learning_rate(cfg, 10) == pytest.approx(1.0)
    assert learning_rate(cfg, 100) == pytest.approx(0.0)
    assert learning_rate(TrainConfig(steps=100, lr=1.0, warmup_steps=10, lr_decay="constant"), 99) == 1.0
