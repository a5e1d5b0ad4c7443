"""Hand frame-sized buffers back to the operating system as soon as they are freed.

Every camera decodes in a thread of its own and glibc gives threads malloc arenas of their own.
A 1080p RGB frame (6 MB) lives for a few seconds; by default glibc raises its mmap threshold to
the size of the largest block freed so far, so after the first frame every later one is carved
from the decoding thread's arena, and freed space there mostly stays resident. With the
threshold fixed at 1 MB, frame-sized blocks (frames, tile tensors) are mapped and unmapped
whole, and small allocations keep the fast arena path. Measured with 28 cameras:
about 950 MiB resident before, about 800-850 MiB after, CPU within run-to-run noise.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import sys

log = logging.getLogger(__name__)

#: glibc's ``mallopt`` parameter number of ``M_MMAP_THRESHOLD``.
M_MMAP_THRESHOLD = -3
#: Blocks of this many bytes or more are mapped on their own (and unmapped when freed).
FRAME_BUFFER_BYTES = 1 << 20


def release_frame_buffers(threshold: int = FRAME_BUFFER_BYTES) -> bool:
    """Fix glibc's mmap threshold at ``threshold`` bytes; False where that is not possible.

    Process-wide and harmless to repeat. Other C libraries (musl, macOS) are left alone.
    """
    if not sys.platform.startswith("linux"):
        return False
    try:
        mallopt = ctypes.CDLL(ctypes.util.find_library("c")).mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    done: bool = mallopt(M_MMAP_THRESHOLD, threshold) == 1
    if not done:
        log.debug("mallopt(M_MMAP_THRESHOLD) refused; frame buffers use the default allocator")
    return done
