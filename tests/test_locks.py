import threading
import time
from pathlib import Path

import pytest

from harness._util import folder_lock


def test_a_second_holder_waits_until_the_first_is_done(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    order: list[str] = []
    inside = threading.Event()

    def first() -> None:
        with folder_lock(tmp_path / "run", "worker 1"):
            inside.set()
            time.sleep(0.5)
            order.append("first done")

    thread = threading.Thread(target=first)
    thread.start()
    inside.wait()
    with folder_lock(tmp_path / "run", "worker 2"):  # flock: a second open file description blocks
        order.append("second in")
    thread.join()
    assert order == ["first done", "second in"]
    assert "worker 2: waiting for another worker to finish training" in capsys.readouterr().err
