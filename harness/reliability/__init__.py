"""Reliability checks: bad input at the command line and kill drills, reported in results/reliability.md."""

from ._bad_inputs import BAD_INPUTS, BadInput, Outcome, prepare_sandbox, try_bad_input
from ._drills import DrillResult, evaluate_drill, report_drill, study_drill, train_drill
from ._invoke import in_subprocess
from ._kills import KillLog, kill_and_rerun
from ._markdown import reliability_markdown
from ._run import check_bad_inputs, run_drills, run_reliability
from ._snapshot import changes, snapshot
from ._specs import drill_spec

__all__ = ["BAD_INPUTS", "BadInput", "changes", "check_bad_inputs", "drill_spec", "DrillResult", "evaluate_drill",
           "in_subprocess", "kill_and_rerun", "KillLog", "Outcome", "prepare_sandbox", "reliability_markdown",
           "report_drill", "run_drills", "run_reliability", "snapshot", "study_drill", "train_drill", "try_bad_input"]
