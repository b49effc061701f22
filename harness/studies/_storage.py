"""A spec's Optuna study in its storage: SQLite in results/<study>/ or any SQLAlchemy URL, created or loaded.

A results folder records its spec (spec.json); a different spec under the same name is refused before
anything is written, so one folder never mixes the trials of two studies.
"""

from __future__ import annotations

import dataclasses
import json
import os
import time
from pathlib import Path

import optuna
from optuna.storages import RDBStorage, RetryHeartbeatStaleTrialCallback
from sqlalchemy import event
from sqlalchemy.exc import ArgumentError, DatabaseError, IntegrityError, OperationalError

from .._util import ConfigError, HarnessError, sweep_partial_files, write_json
from ..metrics import HIGHER, SAMPLES, better, columns
from ._grid import grid_sampler
from ._optuna import experimental_allowed
from ._spec import StudySpec, read_spec_json

STUDY_DB = "study.db"  # the default storage, in results/<study>/
GRACE_S = 180.0  # a trial without a beat for this long is failed and retried (workers on other hosts)
SCHEMA_TRIES = 5  # runners started together on a fresh database race to create its tables; the losers try again
MAX_RETRY = 3


def study_dir(spec: StudySpec, results: Path) -> Path:
    return results / spec.name


def storage_url(spec: StudySpec, results: Path, storage: str | None) -> str:
    """`storage` if given, else the SQLite file study.db in the study's results folder."""
    return storage or study_db_url(study_dir(spec, results))


def study_db_url(folder: Path) -> str:
    """The SQLAlchemy URL of the default storage of the study whose results folder is `folder`."""
    return f"sqlite:///{(folder / STUDY_DB).resolve()}"


def open_study(spec: StudySpec, results: Path, storage: str | None, grace_s: float = GRACE_S,
               sampler_seed: int = 0) -> optuna.Study:
    """The spec's Optuna study, created or loaded; a folder holding a different spec is refused."""
    folder = study_dir(spec, results)
    _check_folder(results)
    _check_folder(folder)
    recorded, mine = _recorded_spec(folder, spec), _spec_dict(spec)
    url = storage_url(spec, results, storage)
    if storage is None:  # SQLite creates study.db, not its folder; another database is opened before anything is written
        folder.mkdir(parents=True, exist_ok=True)
    engine = {"connect_args": {"timeout": 120}} if url.startswith("sqlite") else None  # workers queue, not fail
    rdb = _storage(url, engine, grace_s)
    folder.mkdir(parents=True, exist_ok=True)
    if recorded != mine:  # a new study, or a tuning study given more trials
        write_json(folder / "spec.json", mine)
    sweep_partial_files(folder)  # what killed workers of this host were writing
    optuna.logging.set_verbosity(optuna.logging.ERROR)  # failed trials are reported by the harness, with their reason
    study = optuna.create_study(study_name=spec.name, storage=rdb, sampler=_sampler(spec, sampler_seed),
                                pruner=_pruner(spec), direction=_direction(spec), load_if_exists=True)
    with experimental_allowed():
        study.set_metric_names([study_metric(study, spec)])  # optuna-dashboard names the value by it
    return study


def load_existing_study(spec: StudySpec, folder: Path, storage: str | None) -> optuna.Study:
    """The study stored for the results folder `folder` (its own study.db unless `storage` names another)."""
    return optuna.load_study(study_name=spec.name, storage=existing_storage(spec, folder, storage))


def existing_storage(spec: StudySpec, folder: Path, storage: str | None) -> RDBStorage:
    """The storage holding the study of the results folder `folder` (its own study.db unless `storage` names
    another); a missing database or study is one clear line."""
    url = storage or study_db_url(folder)
    if storage is None and not (folder / STUDY_DB).is_file():
        raise ConfigError(f"{folder} has no study.db; give --storage URL if the study lives in another database")
    rdb = _storage(url, None, GRACE_S)
    try:
        rdb.get_study_id_from_name(spec.name)
    except KeyError:
        raise ConfigError(f"{url} holds no study named {spec.name!r}") from None
    return rdb


def _check_folder(path: Path) -> None:
    """A results path that exists must be a folder this process can write into."""
    if path.exists() and not path.is_dir():
        raise ConfigError(f"{path} is a file, not a results folder; give --results a folder (default: results)")
    if path.is_dir() and not os.access(path, os.W_OK | os.X_OK):
        raise ConfigError(f"{path} is not writable by this user; fix its permissions or give --results another folder")


def _storage(url: str, engine: dict | None, grace_s: float) -> RDBStorage:
    """Optuna's RDB storage with heartbeats; a bad URL, a missing driver or an unreachable server is one clear line."""
    try:
        return _created_storage(url, engine, grace_s)
    except ImportError as e:
        raise ConfigError(f"--storage {url}: its database driver is not installed ({e}); for PostgreSQL "
                          f"install it with `pip install -e '.[postgres]'`") from None
    except (ArgumentError, ValueError) as e:
        raise ConfigError(f"--storage {url!r} is not a SQLAlchemy URL ({e}); e.g. postgresql://user@host/db or "
                          f"sqlite:///path/study.db") from None
    except DatabaseError as e:  # unreachable server, a file that is not a database, ...
        fix = ("move the file away or give --storage another database" if url.startswith("sqlite") else
               "check that the server runs and the user, password and database in the URL")
        raise HarnessError(f"{url}: cannot open the study database: {str(e.orig).strip().splitlines()[0]}; {fix}") from None


def _created_storage(url: str, engine: dict | None, grace_s: float) -> RDBStorage:
    """RDBStorage, retried while another runner is creating the same database's tables.

    Optuna creates the schema with CREATE TABLE after a check, not atomically: of several runners opening one
    fresh database at once (workers on other hosts, a second `harness ablate`) all but one fail with "table
    ... already exists" or a duplicate version row. Once the winner is done the schema is complete.
    """
    for attempt in range(SCHEMA_TRIES - 1):
        try:
            return _rdb_storage(url, engine, grace_s)
        except (OperationalError, IntegrityError) as e:
            if not (isinstance(e, IntegrityError) or "already exists" in str(e.orig)):
                raise
            time.sleep(0.2 * (attempt + 1))
    return _rdb_storage(url, engine, grace_s)  # the last try's error, if any, is the user's


def _rdb_storage(url: str, engine: dict | None, grace_s: float) -> RDBStorage:
    with experimental_allowed():  # heartbeats
        rdb = RDBStorage(url, engine_kwargs=engine, heartbeat_interval=max(1, int(grace_s // 3)),
                         grace_period=int(grace_s),
                         heartbeat_stale_trial_callback=RetryHeartbeatStaleTrialCallback(max_retry=MAX_RETRY))
    if url.startswith("sqlite"):
        event.listen(rdb.engine, "connect", _write_ahead_log)
        rdb.engine.dispose()  # the connections Optuna opened to create the schema predate the listener
    return rdb


def _write_ahead_log(connection: object, _record: object) -> None:
    """SQLite in write-ahead-log mode with fsync only at checkpoints: a trial records one user attribute per metric
    and digit, each its own commit, and a commit in the default rollback journal waits for two fsyncs. A killed
    worker still loses nothing committed; a power cut may lose the last commits but never corrupts the file."""
    cursor = connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _sampler(spec: StudySpec, seed: int) -> optuna.samplers.BaseSampler:
    if spec.tuning:  # constant_liar keeps parallel workers from proposing the same configuration
        return optuna.samplers.TPESampler(seed=seed, n_startup_trials=min(5, spec.trials), constant_liar=True)
    return grid_sampler(spec)


def _pruner(spec: StudySpec) -> optuna.pruners.BasePruner:
    # a tuning trial whose validation MSE is worse than the median of earlier trials at the same step stops, unless
    # the search changes what that MSE measures
    return optuna.pruners.MedianPruner(n_startup_trials=3) if spec.prunable else optuna.pruners.NopPruner()


def recorded_metric(spec: StudySpec) -> str:
    """The metric a trial returns to Optuna: the tuning objective, or a grid's first headline metric of the samples
    (FID before accuracy, in the registry's order; a network metric such as mse only where the spec has no sample
    metric). A grid needs none to sample its cells, but Optuna's tools show one and rank trials by it; the reports
    read every metric from the user attrs."""
    if spec.objective is not None:
        return spec.objective.metric
    chosen = set(spec.metrics)
    judged = columns(metrics=chosen, needs=SAMPLES, headline=True) or columns(metrics=chosen, headline=True)
    return next((c.key for c in judged), "step")  # metrics.json always holds the step


def study_metric(study: optuna.Study, spec: StudySpec) -> str:
    """The metric this study records: the name stored when it was created (a study begun before the rule above
    changed keeps its own, so its trials' values stay one metric), else recorded_metric's."""
    with experimental_allowed():
        names = study.metric_names
    return names[0] if names else recorded_metric(spec)


def _direction(spec: StudySpec) -> str:
    """The objective's direction, or the direction in which a grid's recorded metric is better (a study created
    before grids recorded one keeps "minimize": Optuna stores the direction once)."""
    if spec.objective is not None:
        return spec.objective.direction
    return "maximize" if better(recorded_metric(spec)) == HIGHER else "minimize"


def _spec_dict(spec: StudySpec) -> dict:
    return json.loads(json.dumps(dataclasses.asdict(spec)))


def _what_trials_depend_on(spec: dict) -> dict:
    return {key: value for key, value in spec.items() if key not in ("trials", "description")}


def _recorded_spec(folder: Path, spec: StudySpec) -> dict | None:
    """The spec.json already in `folder` (None if none); a different spec is refused before anything is written.

    Only a tuning study's trial count (`harness tune --trials 40` goes on) and the description, prose that no
    trial depends on, may change between runs; the folder's spec.json then takes the new ones."""
    path = folder / "spec.json"
    if not path.is_file():
        return None
    recorded = read_spec_json(path)
    theirs, mine = _what_trials_depend_on(recorded), _what_trials_depend_on(_spec_dict(spec))
    if theirs != mine:
        differ = sorted(key for key in theirs.keys() | mine.keys() if theirs.get(key) != mine.get(key))
        raise ConfigError(f"{folder} holds results of a different spec named {spec.name!r} ({', '.join(differ)} "
                          f"differ); rename the study or remove that folder")
    return recorded
