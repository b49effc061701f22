from __future__ import annotations

from collections import Counter

from harness.reliability import BAD_INPUTS, DrillResult, KillLog, Outcome, reliability_markdown


def test_the_summary_counts_bad_inputs_kills_and_losses() -> None:
    good = Outcome(BAD_INPUTS[0], 2, [f"harness: error: {BAD_INPUTS[0].expect}"])
    bad = Outcome(BAD_INPUTS[1], 1, ["Traceback (most recent call last):"])
    held = DrillResult("training", KillLog(Counter({"SIGKILL": 2, "SIGINT": 1}), 4, final_status=0), {"weights equal": True})
    lost = DrillResult("study", KillLog(Counter({"SIGKILL": 1}), 2, final_status=0), {"exactly once": True},
                       lost=["trials/0001/metrics.json vanished"])
    text = reliability_markdown([good, bad], [held, lost], "harness reliability", 60.0)
    assert "| ... each one line, exit 2, nothing on disk changed | 1 of 2 |" in text
    assert "| kills (SIGKILL or SIGINT at a random moment) | 4 |" in text
    assert "| ... survived (the re-run finished and every check held) | 3 of 4 |" in text
    assert "| finished files lost or changed | 1 |" in text
    assert "| study | 1 | 0 | 2 | exactly once: yes | trials/0001/metrics.json vanished | none | FAILED |" in text
    assert "FAILED: exit status 1, expected 2" in text
