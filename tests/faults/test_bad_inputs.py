"""Every bad input of the catalogue, typed at the command line: one line, exit 2, nothing on disk changed."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.cli import in_process
from harness.reliability import BAD_INPUTS, BadInput, Outcome, prepare_sandbox, try_bad_input


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return prepare_sandbox(tmp_path_factory.mktemp("sandbox"))


@pytest.mark.parametrize("case", BAD_INPUTS, ids=[c.what for c in BAD_INPUTS])
def test_bad_input_prints_one_line_exits_2_and_changes_nothing(case: BadInput, sandbox: Path) -> None:
    outcome = try_bad_input(case, sandbox, in_process)
    assert outcome.problems == [], outcome.stderr


def test_the_catalogue_covers_every_bad_input_the_issue_lists() -> None:
    named = {c.what for c in BAD_INPUTS}
    for mistake in ("malformed YAML config", "unknown key in --set", "wrong type: text for a number", "negative T",
                    "guidance < 0", "steps larger than T", "batch larger than the data", "unknown schedule",
                    "study spec with an empty grid", "missing MNIST file", "corrupt MNIST file", "truncated checkpoint",
                    "checkpoint of an incompatible config", "results folder is a file", "sample file with the wrong shape",
                    "sample file with the wrong dtype", "CLIP weights path that does not exist",
                    "two studies into one results folder", "study name escaping results/"):
        assert mistake in named


def test_an_outcome_that_wrote_a_file_or_printed_a_traceback_is_not_ok() -> None:
    case = BAD_INPUTS[0]
    assert Outcome(case, 2, ["harness: error: something is wrong"]).ok is False  # lacks the expected fragment
    wrote = Outcome(case, 2, [f"harness: error: {case.expect}"], ["added new-run/config.json"])
    assert wrote.problems == ["added new-run/config.json"]
    traceback = Outcome(case, 1, ["Traceback (most recent call last):", f"ValueError: {case.expect}"])
    assert len(traceback.problems) == 2
    assert Outcome(case, 2, [f"harness: error: line 2 {case.expect}"]).ok
