import subprocess
import sys

import pytest

from harness._util import keep_freed_memory

# One process per setting: mallopt cannot be undone, and the suite's own process already keeps freed memory.
FAULTS_PER_FORWARD = """
import resource, sys, torch
from harness._util import keep_freed_memory
from harness.config import resolve_config
from harness.nn import UNet
if sys.argv[1] == "keep":
    assert keep_freed_memory()
cfg = resolve_config("baseline", "smoke")
model = UNet(cfg.model, cfg.data.image_size, cfg.diffusion.timesteps).eval()
x, t = torch.randn(32, 1, 28, 28), torch.zeros(32, dtype=torch.long)
with torch.inference_mode():
    model(x, t, t)
    model(x, t, t)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(5):
        model(x, t, t)
print((resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before) / 5)
"""


def faults_per_forward(setting: str) -> float:
    done = subprocess.run([sys.executable, "-c", FAULTS_PER_FORWARD, setting], capture_output=True, text=True,
                          check=True)
    return float(done.stdout.split()[-1])


@pytest.mark.skipif(not keep_freed_memory(), reason="the C library has no mallopt (not glibc)")
def test_kept_memory_spares_the_page_faults_of_every_forward() -> None:
    # At glibc's defaults every forward maps and unmaps its large buffers afresh; how many faults that costs
    # varies with the thread count and the neighbouring load (from under a thousand to four thousand), so the
    # check is the ratio, with a floor that says the default really faults.
    default, kept = faults_per_forward("default"), faults_per_forward("keep")
    assert default > 200
    assert kept < default / 5


def test_it_can_be_applied_again() -> None:
    assert keep_freed_memory() == keep_freed_memory()  # the CLI and a notebook may both call it
