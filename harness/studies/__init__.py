"""Studies: specs, grid and TPE search, Optuna storage, cells and trials, workers, the report and its plots."""

from ._cells import (
    DUPLICATE,
    FAILURE,
    PRUNED_AT,
    RUN,
    WORKER,
    available,
    cell,
    done_count,
    duplicate_of,
    fail_dead_local_trials,
    retry_interrupted,
    worker_id,
)
from ._dashboard import ARTIFACTS, attach_missing_artifacts, check_listenable, require_dashboard, serve_dashboard
from ._plots import save_figure, t_interval
from ._report import summary_frame, trials_frame, write_report
from ._runner import run_study
from ._spec import SPEC_KEYS, StudySpec, load_spec, read_spec_json, spec_from_json
from ._storage import (
    GRACE_S,
    existing_storage,
    load_existing_study,
    open_study,
    recorded_metric,
    storage_url,
    study_db_url,
    study_dir,
    study_metric,
)
from ._trial import shared_run_dir

__all__ = ["ARTIFACTS", "DUPLICATE", "FAILURE", "GRACE_S", "PRUNED_AT", "RUN", "SPEC_KEYS", "WORKER",
           "attach_missing_artifacts", "available", "cell", "check_listenable", "done_count", "duplicate_of", "existing_storage", "recorded_metric", "study_metric",
           "fail_dead_local_trials", "load_existing_study", "load_spec", "open_study", "read_spec_json",
           "require_dashboard", "retry_interrupted", "run_study", "save_figure", "serve_dashboard", "shared_run_dir",
           "spec_from_json", "storage_url", "study_db_url", "study_dir", "StudySpec", "summary_frame",
           "t_interval", "trials_frame", "worker_id", "write_report"]
