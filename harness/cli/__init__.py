"""The `harness` command line: one private module per family of subcommands, each holding its handlers beside
the arguments it adds (`register`); `_main` builds the parser from them and maps errors to exit statuses.

Each handler imports the stack its command runs (data, metrics, Optuna studies, analyses, perf) when it runs,
so that listing commands stay light; what every command loads anyway (config, core, nn) is imported at the top.
These deferred imports point down the floors like every other (tests/test_layout.py reads them too)."""

from ._in_process import in_process
from ._main import build_parser, main

__all__ = ["build_parser", "in_process", "main"]
