"""docs/configuration.md, generated from the config dataclasses: every field with its default and its comment.

The comments in `_schema.py` are the one place a field is explained; this page is made from them
(`harness config-reference > docs/configuration.md`, `make docs`), and a test fails when the committed page
differs from what they make.
"""

from __future__ import annotations

import ast
import dataclasses
import functools
import inspect
import json

from .._util import markdown_table
from . import _schema
from ._presets import BUDGETS, PRESETS
from ._schema import RunConfig

SECTIONS = {"data": _schema.DataConfig, "model": _schema.ModelConfig, "diffusion": _schema.DiffusionConfig,
            "train": _schema.TrainConfig, "sample": _schema.SampleConfig, "eval": _schema.EvalConfig}


@functools.cache
def _schema_source() -> tuple[list[str], ast.Module]:
    """The schema module's lines and syntax tree, read once for every section."""
    source = inspect.getsource(_schema)
    return source.splitlines(), ast.parse(source)


def field_comments(cls: type) -> dict[str, str]:
    """Each field of dataclass `cls` -> the comment on its line in the source."""
    source, tree = _schema_source()
    node = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == cls.__name__)
    out = {}
    for stmt in node.body:
        if isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name):
            line = source[stmt.end_lineno - 1]
            out[stmt.target.id] = line.split("  # ", 1)[1].strip() if "  # " in line else ""
    return out


def _json(value: object) -> str:
    return json.dumps(list(value) if isinstance(value, tuple) else value)


def configuration_reference() -> str:
    """The markdown page: how a config is made, then one table per section."""
    lines = ["# Configuration reference", "",
             "Generated from the comments of `harness/config/_schema.py` by `harness config-reference` "
             "(`make docs`); edit the comments there, not this page.", "",
             "A run's config is the defaults below <- a preset (or `--config FILE.yaml`) <- a budget <- `--set "
             "key=value` overrides, later wins. Values are read as YAML (`--set model.channels=[16,32,64]`, "
             "`--set model.skip=false`); an unknown key or a bad value is refused with the field's name. The "
             "resolved config is written beside every result as `config.json`, and its hash names the run's "
             "folder (`results/runs/<hash>/`).", "",
             f"Presets: {', '.join(f'`{p}`' for p in PRESETS.names())} (`harness presets` shows each). "
             f"Budgets: {', '.join(f'`{b}`' for b in BUDGETS.names())}.", ""]
    defaults = RunConfig()
    for section, cls in SECTIONS.items():
        comments = field_comments(cls)
        rows = [[f"`{section}.{f.name}`", f"`{_json(getattr(getattr(defaults, section), f.name))}`",
                 comments.get(f.name, "")] for f in dataclasses.fields(cls)]
        lines += [f"## `{section}`", "", *markdown_table(["key", "default", "meaning"], rows), ""]
    return "\n".join(lines)
