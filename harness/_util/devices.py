"""Device choice: CUDA when present, else CPU; which precision autocast uses where (and fp16's loss scaling);
the memory format and network call size per device; torch.compile for sampling. Where a figure was measured
is host.py's."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch
from torch import nn

from . import host
from .errors import ConfigError


def resolve_device(name: str) -> torch.device:
    """'auto' -> cuda if visible else cpu; 'cuda' without a GPU is an error, not a silent fallback."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise ConfigError("train.device=cuda but no CUDA device is visible; use train.device=auto or cpu")
    return torch.device(name)


@contextlib.contextmanager
def autocast(device: torch.device, dtype: torch.dtype | None) -> Iterator[None]:
    """Autocast to `dtype` on `device`; None: none (fp32). The callers decide where it pays:
    `training_precision` for training, `bf16_sampling` for sampling."""
    if dtype is not None:
        with torch.autocast(device.type, dtype=dtype):
            yield
    else:
        yield


def training_precision(amp: bool, cpu_bf16: bool, device: torch.device) -> torch.dtype | None:
    """The autocast dtype of training, None for fp32. On CUDA with train.amp: bf16 where the GPU computes it
    natively (compute capability 8.0 on), else fp16 (a T4 or V100 has fp16 tensor cores and only emulates
    bf16), whose narrow range needs `loss_scaler`. On a CPU: bf16 with train.cpu_bf16, which is refused where
    bf16 is not native (as `bf16_sampling` refuses it)."""
    if device.type == "cuda":
        return (torch.bfloat16 if native_bf16(device) else torch.float16) if amp else None
    if cpu_bf16 and _require_native_bf16("train.cpu_bf16=true", "train.cpu_bf16=false", device):
        return torch.bfloat16
    return None


def loss_scaler(device: torch.device, dtype: torch.dtype | None) -> torch.amp.GradScaler:
    """Dynamic loss scaling (Micikevicius et al. 2018, "Mixed Precision Training", sec. 3.2) for fp16 training:
    small gradients would flush to zero in fp16. Disabled (every call a pass-through) for fp32 and bf16, which
    has fp32's range."""
    return torch.amp.GradScaler(device.type, enabled=dtype == torch.float16)


def bf16_sampling(precision: str, device: torch.device) -> bool:
    """Whether to sample under bf16 autocast: sample.precision=bf16, on a device with native bf16 arithmetic.
    Elsewhere it is refused: emulated bf16 gives fp32's cost or more, and bf16's rounding, for nothing."""
    return precision == "bf16" and _require_native_bf16("sample.precision=bf16", "sample.precision=fp32", device)


def _require_native_bf16(setting: str, instead: str, device: torch.device) -> bool:
    """True where `device` computes bf16 natively; elsewhere a ConfigError naming `setting` and what to use `instead`."""
    if not native_bf16(device):
        where = torch.cuda.get_device_name(device) if device.type == "cuda" else \
            f"{host.cpu_name()} ({torch.backends.cpu.get_cpu_capability()}), without the avx512_bf16 or amx_bf16 flag"
        raise ConfigError(f"{setting} needs native bfloat16 arithmetic (CPU: AVX512-BF16 or AMX; CUDA: compute "
                          f"capability 8.0 or newer), which this device lacks: {where}. There bf16 is emulated, no "
                          f"faster than fp32; use {instead}")
    return True


def native_bf16(device: torch.device) -> bool:
    """CUDA: the GPU computes in bf16 (compute capability 8.0 on; torch would count emulation too). CPU: the
    AVX512-BF16 or AMX instructions oneDNN's bf16 convolutions use (Linux's /proc/cpuinfo flags; elsewhere
    unknown, so False)."""
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported(including_emulation=False)
    return bool({"avx512_bf16", "amx_bf16"} & set(host.cpuinfo("flags").split()))


def memory_format(device: torch.device) -> torch.memory_format:
    """channels-last on CUDA (faster convolutions); contiguous on CPU, where GroupNorm's channels-last
    kernel is several times slower."""
    return torch.channels_last if device.type == "cuda" else torch.contiguous_format


# Images per network call on CPU when sample.eval_batch is 0 (a guided batch of 256 runs 512 images through the
# network): smaller calls spare page faults at glibc's malloc defaults (allocator.py), and with freed memory kept
# the call size hardly matters (docs/performance.md). On CUDA a bigger call is not slower: not split.
CPU_EVAL_BATCH = 128


def eval_batch(requested: int, device: torch.device) -> int | None:
    """Most images one network call may see: `requested`, or for 0 the device's best (None: no limit)."""
    if requested:
        return requested
    return CPU_EVAL_BATCH if device.type == "cpu" else None


def compiled(model: nn.Module) -> nn.Module:
    """`model` under torch.compile (inductor) with a dynamic batch dimension, so that one compile serves
    every batch size a sampling job meets (its last batch, guidance's doubled batch)."""
    if next(model.parameters()).device.type == "cpu":
        _require_cpp_compiler()
    return torch.compile(model, dynamic=True)  # type: ignore[return-value]


def _require_cpp_compiler() -> None:
    """On CPU inductor builds C++ kernels: without a compiler the first sampling step would fail deep inside."""
    from torch._inductor import cpp_builder

    try:
        cpp_builder.get_cpp_compiler()
    except Exception as e:  # inductor's own search (CXX, g++, clang++) failed
        raise ConfigError(f"sample.compile=true needs a C++ compiler on CPU (torch.compile builds C++ kernels), and "
                          f"none was found ({type(e).__name__}); install one (Debian: apt install g++) or set "
                          f"sample.compile=false") from None
