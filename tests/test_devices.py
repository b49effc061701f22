from pathlib import Path

import pytest
import torch

from harness._util import (
    CPU_EVAL_BATCH,
    ConfigError,
    bf16_sampling,
    devices,
    eval_batch,
    host,
    loss_scaler,
    machine,
    memory_format,
    native_bf16,
    resolve_device,
    training_precision,
)


def test_eval_batch_0_is_the_devices_best_and_any_other_value_is_kept() -> None:
    assert eval_batch(0, torch.device("cpu")) == CPU_EVAL_BATCH
    assert eval_batch(0, torch.device("cuda")) is None  # a GPU is never slower in one bigger call
    assert eval_batch(64, torch.device("cpu")) == 64 and eval_batch(64, torch.device("cuda")) == 64


def test_cuda_without_a_gpu_is_an_error_not_a_fallback(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(ConfigError, match="train.device=cuda but no CUDA device is visible"):
        resolve_device("cuda")
    assert resolve_device("auto") == torch.device("cpu")


def test_channels_last_on_cuda_only() -> None:
    assert memory_format(torch.device("cuda")) == torch.channels_last
    assert memory_format(torch.device("cpu")) == torch.contiguous_format


def test_machine_names_the_vector_instructions_torch_dispatches_to() -> None:
    where = machine(torch.device("cpu"))  # hosts behind one CPU name may differ in AVX-512, and so in speed
    assert f"({torch.backends.cpu.get_cpu_capability()})," in where and where.endswith("CPU only")


@pytest.mark.parametrize(("flags", "native"), [("fpu avx2 avx512f", False), ("avx512f avx512_bf16", True),
                                              ("amx_bf16 amx_tile", True), ("", False)])  # "": not Linux
def test_native_bf16_on_cpu_is_read_from_the_processors_flags(flags: str, native: bool,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(host, "cpuinfo", lambda field: flags if field == "flags" else "")
    assert native_bf16(torch.device("cpu")) is native
    assert bf16_sampling("fp32", torch.device("cpu")) is False  # fp32 never needs it
    if native:
        assert bf16_sampling("bf16", torch.device("cpu")) is True
    else:
        with pytest.raises(ConfigError, match="needs native bfloat16 arithmetic .* without the avx512_bf16 or amx_bf16"):
            bf16_sampling("bf16", torch.device("cpu"))


def test_the_cpuinfo_field_is_the_first_processors() -> None:
    name = host.cpuinfo("model name")
    assert name == "" or name in Path("/proc/cpuinfo").read_text()
    assert host.cpuinfo("no such field") == ""


def test_native_bf16_on_cuda_does_not_count_emulation(monkeypatch: pytest.MonkeyPatch) -> None:
    # torch counts a pre-Ampere GPU that can emulate bf16 as supporting it; for speed that is no support
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda including_emulation=True: including_emulation)
    assert native_bf16(torch.device("cuda")) is False


@pytest.mark.parametrize("native, expected", [(True, torch.bfloat16), (False, torch.float16)])
@pytest.mark.parametrize("cpu_bf16", [False, True])
def test_cuda_trains_in_bf16_where_native_else_in_fp16_as_train_amp_says(
        native: bool, expected: torch.dtype, cpu_bf16: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(devices, "native_bf16", lambda device: native)  # an A100 / a T4, neither here
    cuda = torch.device("cuda")
    assert training_precision(True, cpu_bf16, cuda) == expected
    assert training_precision(False, cpu_bf16, cuda) is None


@pytest.mark.parametrize("dtype, scaled", [(torch.float16, True), (torch.bfloat16, False), (None, False)])
def test_only_fp16_training_scales_the_loss(dtype: torch.dtype | None, scaled: bool) -> None:
    assert loss_scaler(torch.device("cpu"), dtype).is_enabled() is scaled


@pytest.mark.parametrize("flags", ["avx512f avx512_bf16", "fpu avx2"])
def test_a_cpu_trains_in_bf16_only_when_train_cpu_bf16_asks_and_bf16_is_native(flags: str,
                                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(host, "cpuinfo", lambda field: flags if field == "flags" else "")
    cpu = torch.device("cpu")
    assert training_precision(True, False, cpu) is None  # train.amp is CUDA's switch: a CPU trains in fp32 by default
    if native_bf16(cpu):
        assert training_precision(False, True, cpu) == torch.bfloat16
    else:
        with pytest.raises(ConfigError, match="train.cpu_bf16=true needs native bfloat16 arithmetic .* use "
                                              "train.cpu_bf16=false"):
            training_precision(False, True, cpu)
