"""The SIGKILL drill the trainer's resume tests share: start a run, kill it once it has logged enough."""

from __future__ import annotations

import signal
import subprocess
import time
from collections.abc import Callable


def kill_when(process: subprocess.Popen, ready: Callable[[], bool], timeout_s: float) -> None:
    """SIGKILL ``process`` as soon as ``ready()`` holds (polled every 50 ms), then wait for it to end."""
    deadline = time.time() + timeout_s
    while time.time() < deadline and process.poll() is None:
        if ready():
            process.send_signal(signal.SIGKILL)
            break
        time.sleep(0.05)
    process.wait()
