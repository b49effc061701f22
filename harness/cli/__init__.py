"""The `harness` command line: one private module per family of subcommands, each holding its handlers beside
the arguments it adds (`register`); `_main` builds the parser from them and maps errors to exit statuses."""

from ._in_process import in_process
from ._main import build_parser, main

__all__ = ["build_parser", "in_process", "main"]
