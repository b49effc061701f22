"""Test set-up: a throw-away PostgreSQL server on loopback (installed from Debian when missing)."""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest


def _bin_dir() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def _install() -> Path | None:
    """apt-get install postgresql when we are root on Debian; None when that is not possible."""
    if _bin_dir() is None and os.geteuid() == 0 and shutil.which("apt-get"):
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run(["apt-get", "update", "-q"], check=False, env=env, capture_output=True)
        subprocess.run(["apt-get", "install", "-y", "-q", "postgresql"], check=False, env=env, capture_output=True)
    return _bin_dir()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def postgres_server() -> Iterator[str]:
    """Start a server with its data in a fresh temporary folder; yields a SQLAlchemy URL of an empty database."""
    bin_dir = _install()
    if bin_dir is None:
        pytest.skip("PostgreSQL is not installed and cannot be installed here (needs root and apt-get); "
                    "install the postgresql package to run the multi-worker PostgreSQL test")
    as_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []  # postgres refuses to run as root
    folder = Path(tempfile.mkdtemp(prefix="harness-pg-"))  # not under pytest's 0700 tree: user postgres must reach it
    data = folder / "pgdata"
    if as_user:
        shutil.chown(folder, "postgres")
    port = _free_port()

    def run(*cmd: str) -> None:
        done = subprocess.run([*as_user, *cmd], capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)} failed: {done.stderr.strip() or done.stdout.strip()}")

    run(str(bin_dir / "initdb"), "-D", str(data), "-A", "trust", "-U", "harness", "--no-sync")
    run(str(bin_dir / "pg_ctl"), "-D", str(data), "-w", "-l", str(data / "server.log"), "-o",
        f"-h 127.0.0.1 -p {port} -k {data} -c fsync=off", "start")
    try:
        run(str(bin_dir / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", "harness", "studies")
        yield f"postgresql+psycopg2://harness@127.0.0.1:{port}/studies"
    finally:
        run(str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(folder, ignore_errors=True)
