"""The docs a newcomer reads: the generated configuration page is current, and the README stays a front door."""

from __future__ import annotations

import re
from pathlib import Path

from harness.cli import main
from harness.config import configuration_reference
from harness.config._reference import SECTIONS, field_comments
from harness.config._schema import ModelConfig

ROOT = Path(__file__).resolve().parent.parent


def test_the_committed_configuration_page_is_what_the_field_comments_make() -> None:
    committed = (ROOT / "docs" / "configuration.md").read_text()
    assert committed == configuration_reference(), "docs/configuration.md is stale: run `make docs` and commit it"


def test_the_reference_takes_each_field_s_own_comment(capsys) -> None:  # noqa: ANN001
    assert field_comments(ModelConfig)["skip"] == "U-Net skip connections from encoder to decoder"
    assert main(["config-reference"]) == 0
    out = capsys.readouterr().out
    assert "| `model.skip` | `true` | U-Net skip connections from encoder to decoder |" in out
    assert "| `sample.guidance_interval` | `[0.0, 1.0]` |" in out


def test_every_config_field_has_its_meaning_on_the_page() -> None:
    # the page takes the comment on a field's own line: a field explained only above it gets an empty meaning
    blank = [f"{section}.{name}" for section, cls in SECTIONS.items()
             for name, comment in field_comments(cls).items() if not comment]
    assert blank == []


def test_the_readme_is_short_and_links_only_to_pages_that_exist() -> None:
    readme = (ROOT / "README.md").read_text()
    assert len(readme.splitlines()) <= 150
    links = re.findall(r"\]\(([^)#]+)", readme)
    assert links and all((ROOT / link).exists() for link in links if "://" not in link), links
