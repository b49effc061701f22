"""Where a figure was measured: the processor, its vector instructions, cores, OS, versions and GPU."""

from __future__ import annotations

import os
import platform
from pathlib import Path

import torch


def machine(device: torch.device) -> str:
    """The processor (with the vector instructions torch's CPU kernels use: one VM name can hide hosts with
    and without AVX-512), core count, OS and, on CUDA, the GPU: where a figure was measured."""
    where = f"{cpu_name()} ({torch.backends.cpu.get_cpu_capability()}), {os.cpu_count()} logical cores, " \
            f"{platform.system()} {platform.release()}, Python {platform.python_version()}, torch {torch.__version__}"
    return where + (f", {torch.cuda.get_device_name(device)}" if device.type == "cuda" else ", CPU only")


def cpu_name() -> str:
    """The CPU's model name (Linux: /proc/cpuinfo, where platform.processor() is often empty)."""
    return cpuinfo("model name") or platform.processor() or platform.machine()


def cpuinfo(field: str) -> str:
    """The first processor's `field` in /proc/cpuinfo ('' where there is none: not Linux, or no such field)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.partition(":")[0].strip() == field:
                return line.partition(":")[2].strip()
    except OSError:
        pass
    return ""
