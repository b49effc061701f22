"""`harness`: the parser of every subcommand, and the one place that turns an error into an exit status."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from .._util import HarnessError, Interrupted, keep_freed_memory
from . import _analyses, _bench, _perf, _runs, _score, _studies
from ._common import Parser

INTERRUPTED = 130  # exit status after Ctrl-C, as a shell reports SIGINT

# each adds its subcommands, in the order `harness --help` lists them
FAMILIES = (_runs.register, _score.register, _studies.register, _analyses.register, _perf.register, _bench.register,
            _runs.register_listings)


def build_parser() -> argparse.ArgumentParser:
    p = Parser(prog="harness", description="Benchmark and ablation harness for class-conditional diffusion on MNIST")
    sub = p.add_subparsers(dest="command", required=True)
    for register in FAMILIES:
        register(sub)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    keep_freed_memory()  # every command runs networks on CPU tensors: see allocator.py
    try:
        return args.func(args)
    except Interrupted as e:
        print(f"harness: {e}", file=sys.stderr)
        return INTERRUPTED
    except HarnessError as e:
        print(f"harness: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("harness: interrupted; finished work is kept: run the same command again to go on from it", file=sys.stderr)
        return INTERRUPTED
    except OSError as e:  # a full disk, a folder without permission: the file system's own words, in one line
        print(f"harness: error: {e.filename or ''}{': ' if e.filename else ''}{e.strerror or e}", file=sys.stderr)
        return 2
