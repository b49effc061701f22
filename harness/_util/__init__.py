"""Small utilities every layer may use: errors, atomic files, the cache folder, registries, statistics,
locks, the allocator and torch device helpers."""

from .allocator import keep_freed_memory
from .cache import cache_dir, file_digest, saved_or_computed
from .devices import (
    CPU_EVAL_BATCH,
    autocast,
    bf16_sampling,
    compiled,
    eval_batch,
    loss_scaler,
    memory_format,
    native_bf16,
    resolve_device,
    training_precision,
)
from .errors import CheckpointError, ConfigError, DataError, HarnessError, Interrupted, MissingExtra, NumericalError
from .files import atomic_write, partial_files, sweep_partial_files, write_json, write_text
from .host import machine
from .locks import folder_lock
from .paths import BASELINES, DIFFICULTY, PERF, REPRODUCE, RESERVED, RESULTS, RUNS, SPECS, perf_dir
from .registry import Registry
from .stats import interval_text, mean_ci95, p_greater
from .tables import markdown_table, with_interval

__all__ = ["BASELINES", "CPU_EVAL_BATCH", "DIFFICULTY", "PERF", "REPRODUCE", "RESERVED", "RESULTS", "RUNS", "SPECS",
           "atomic_write", "autocast", "bf16_sampling", "cache_dir", "CheckpointError", "compiled", "ConfigError",
           "DataError", "eval_batch", "file_digest", "saved_or_computed", "folder_lock", "HarnessError", "Interrupted", "interval_text",
           "keep_freed_memory", "loss_scaler", "machine", "markdown_table", "mean_ci95", "memory_format",
           "MissingExtra", "native_bf16", "NumericalError", "p_greater", "partial_files", "perf_dir", "Registry",
           "resolve_device", "sweep_partial_files", "training_precision", "with_interval", "write_json", "write_text"]
