"""The training CSV log: one row per logged step, appended as training goes."""

from __future__ import annotations

import csv
from pathlib import Path

from .._util import write_text

COLUMNS = ("step", "loss", "lr", "grad_norm", "val_loss", "val_loss_ema", "images_per_s", "elapsed_s")


class TrainLog:
    """Appends rows to DIR/train_log.csv; on resume, first drops rows past the checkpoint's step."""

    def __init__(self, path: Path, resume_step: int) -> None:
        self.path = path
        kept = [r for r in self.read(path) if int(r["step"]) <= resume_step] if resume_step else []
        header = ",".join(COLUMNS) + "\n"
        write_text(path, header + "".join(self._line(r) for r in kept))

    @staticmethod
    def read(path: Path) -> list[dict[str, str]]:
        if not path.is_file():
            return []
        with path.open(newline="") as f:
            return list(csv.DictReader(f))

    def append(self, **row: float | int | None) -> None:
        with self.path.open("a") as f:
            f.write(self._line(row))

    @staticmethod
    def _line(row: dict) -> str:
        def fmt(v: object) -> str:
            if v is None or v == "":
                return ""
            return f"{v:.6g}" if isinstance(v, float) else str(v)

        return ",".join(fmt(row.get(c)) for c in COLUMNS) + "\n"
