"""Frame-sized buffers go back to the operating system when freed, also from camera threads."""

from __future__ import annotations

import sys
import threading
from pathlib import Path

import numpy as np
import pytest

from streams.memory import FRAME_BUFFER_BYTES, release_frame_buffers

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc only")


def _rss_mb() -> float:
    status = Path("/proc/self/status").read_text()
    return int(status.split("VmRSS:")[1].split()[0]) / 1024


def test_a_freed_frame_leaves_no_resident_memory_behind() -> None:
    assert release_frame_buffers()
    measured: list[float] = []

    def camera_thread() -> None:  # a thread of its own: glibc gives it its own arena
        # Left to itself, glibc would now raise its mmap threshold above frame size.
        warm = np.ones(8 << 20, np.uint8)
        del warm
        for _ in range(3):
            before = _rss_mb()
            frame = np.ones((1080, 1920, 3), np.uint8)  # 6 MB, every page touched
            assert frame.nbytes > FRAME_BUFFER_BYTES
            del frame
            measured.append(_rss_mb() - before)

    thread = threading.Thread(target=camera_thread)
    thread.start()
    thread.join()
    assert max(measured) < 2.0, measured
