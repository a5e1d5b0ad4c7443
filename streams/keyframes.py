"""Keyframe-only decision and frame positions: pure bookkeeping of a decode loop (no PyAV)."""

from __future__ import annotations

from dataclasses import dataclass

from streams.config import DecodeMode


@dataclass
class DecodeCounters:
    """Mutable counters of one decode loop; written by its thread, read by others (ints only).

    Attributes:
        decoded: frames produced by the decoder.
        sampled: frames converted to RGB (picked by the sampler).
        keyframes_only: True while non-key frames are skipped.
        gop_s: last measured keyframe interval in seconds of stream time.
        fps: measured frames per second of stream time (known when decoding every frame).
    """

    decoded: int = 0
    sampled: int = 0
    keyframes_only: bool = False
    gop_s: float | None = None
    fps: float | None = None


class KeyframePolicy:
    """Measures the GOP from keyframe timestamps and decides whether to decode keyframes only.

    ALL never skips; KEYFRAMES always does; AUTO decodes everything until two keyframes give
    the GOP length, then skips non-key frames while ``interval_s >= gop_s`` (every analysis
    slot still contains a keyframe), and goes back to full decoding if the GOP grows.
    """

    def __init__(self, mode: DecodeMode, interval_s: float, counters: DecodeCounters) -> None:
        self.mode = mode
        self.interval_s = interval_s
        self.counters = counters
        self._last_key_t: float | None = None
        self._since_key = 0
        counters.keyframes_only = mode == DecodeMode.KEYFRAMES

    def observe(self, t: float | None, keyframe: bool) -> bool:
        """Account for one decoded frame at stream time ``t`` (seconds, None if unknown).

        Returns True when ``keyframes_only`` changed, so the caller reconfigures the decoder.
        """
        c = self.counters
        if not keyframe:
            self._since_key += 1
            return False
        if t is not None and self._last_key_t is not None and t > self._last_key_t:
            c.gop_s = t - self._last_key_t
            if not c.keyframes_only and self._since_key > 0:
                c.fps = (self._since_key + 1) / c.gop_s
        if t is not None:
            self._last_key_t = t
        self._since_key = 0
        if self.mode != DecodeMode.AUTO or c.gop_s is None:
            return False
        wanted = self.interval_s >= c.gop_s
        changed = wanted != c.keyframes_only
        c.keyframes_only = wanted
        return changed


class FrameIndexer:
    """Position of each decoded frame in the stream, 0-based.

    When every frame is decoded this is a plain count. When only keyframes come out, the
    position is estimated from the timestamp and the frame rate, so that indices (and clip
    timestamps derived from them) keep meaning "frames since the start".
    """

    def __init__(self, fps: float | None) -> None:
        self.fps = fps
        self._t0: float | None = None
        self._last = -1

    def next(self, t: float | None, skipping: bool) -> int:
        if self._t0 is None and t is not None:
            self._t0 = t - (self._last + 1) / self.fps if self.fps else t
        index = self._last + 1
        if skipping and t is not None and self.fps and self._t0 is not None:
            index = max(index, round((t - self._t0) * self.fps))
        self._last = index
        return index
