"""What every command family of the command line shares: the one-line usage error, list arguments, warnings."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import Any, NoReturn

from ..config import DATASETS, Dataset, RunConfig, cautions


class Parser(argparse.ArgumentParser):
    """argparse that reports a usage error in one line, like every other harness error."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"harness: error: {message} (see `{self.prog} --help`)\n")


def comma_list(kind: type) -> Callable[[str], tuple]:
    """argparse type: a comma-separated list of `kind`, e.g. --seeds 0,1,2."""
    def parse(text: str) -> tuple:
        try:
            return tuple(kind(x.strip()) for x in text.split(",") if x.strip())
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a comma-separated list of {kind.__name__}s, e.g. 0,1,2") from None
    return parse


def warn_cautions(cfg: RunConfig) -> None:
    """Print the config's cautions (harness.config.cautions) as warnings on stderr."""
    print_warnings(cautions(cfg))


def print_warnings(cautions: list[str]) -> None:
    for caution in cautions:
        print(f"warning: {caution}", file=sys.stderr)


def result_dataset(result: dict[str, Any]) -> Dataset:
    """The data set a metrics.json `result` was measured on (its class names and noun); MNIST before it was recorded."""
    return DATASETS.get(result.get("dataset", "mnist"))
