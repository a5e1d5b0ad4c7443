"""One camera: a daemon thread that keeps decoding, sampling and reconnecting until stopped."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from av.container import InputContainer

from streams.backoff import Backoff
from streams.config import CameraConfig, StreamSettings
from streams.decode import (
    AV_ERRORS,
    StreamError,
    is_network_url,
    iter_decoded,
    open_stream,
    to_frame,
)
from streams.decode import stream_fps as declared_fps
from streams.frame import Frame
from streams.keyframes import DecodeCounters, KeyframePolicy
from streams.redact import redact_text, redact_url
from streams.sampler import IntervalSampler
from streams.slot import LatestSlot
from streams.state import SourceStats, StreamState, check_transition
from streams.supervise import Heartbeat, Supervisor

log = logging.getLogger(__name__)

# A live keyframe that arrives up to this fraction of the interval before its grid point still
# counts for it (arrival jitter), so AUTO mode with interval == GOP analyses every keyframe.
SAMPLER_TOLERANCE = 0.1
# A file played in real time that falls this far behind its clock restarts the clock instead of
# decoding as fast as it can to catch up.
MAX_LAG_S = 1.0


class _Pacer:
    """Sleeps so that a file plays at the rate of its timestamps; interruptible by ``stop``."""

    def __init__(self, stop: threading.Event) -> None:
        self._stop = stop
        self._base: tuple[float, float] | None = None  # (monotonic time, stream time)

    def wait(self, t: float | None) -> bool:
        """Wait until stream time ``t`` (seconds) is due; False when stopped meanwhile."""
        if t is None:
            return not self._stop.is_set()
        now = time.monotonic()
        if self._base is None:
            self._base = (now, t)
            return True
        delay = self._base[0] + (t - self._base[1]) - now
        if delay > 0:
            return not self._stop.wait(delay)
        if delay < -MAX_LAG_S:
            self._base = (now, t)
        return True

    def restart(self) -> None:
        self._base = None


@dataclass
class _Session:
    """Decode state of one connection; survives a looping file's rewinds."""

    policy: KeyframePolicy
    sampler: IntervalSampler
    pacer: _Pacer | None
    first: int = 0  # stream position of the current pass's first frame
    skipped_keys: int = 0  # keyframes of the current pass left undecoded (not due)


class CameraSource:
    """Decodes one camera in its own daemon thread (``cam-<id>``) into a :class:`LatestSlot`.

    Life: CONNECTING -> STREAMING -> (error) BACKOFF -> CONNECTING ... until :meth:`stop`, or
    until a non-looping file ends (STOPPED). Network errors are retried forever with capped
    exponential backoff; a looping file seeks back to its start. Frames due at
    ``camera.interval_s`` of wall-clock time get ``ts = time.time()`` and are put in the slot;
    other frames are never converted. Nothing raises out of the thread: an unexpected error is
    logged, counted by ``supervisor`` (kind ``decoder``) and the camera reconnects after a
    backoff. The thread beats its heartbeat at every frame, keyframe and reconnect.

    Args:
        camera: the camera's configuration (URL, interval, decode mode, loop/realtime).
        settings: timeouts and backoff limits.
        notify: called after every frame put in the slot (wakes the scheduler).
        supervisor: watches the decode thread (a private one when None).
    """

    def __init__(
        self,
        camera: CameraConfig,
        settings: StreamSettings,
        *,
        notify: Callable[[], None] | None = None,
        supervisor: Supervisor | None = None,
    ) -> None:
        self.camera = camera
        self.id = camera.id
        self._settings = settings
        self._url = camera.url
        self._safe_url = redact_url(camera.url)
        self._network = is_network_url(camera.url)
        self._slot = LatestSlot(notify)
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._state = StreamState.CONNECTING
        self._counters = DecodeCounters()
        self._opens = 0
        self._last_frame_ts: float | None = None
        self._last_error: str | None = None
        initial = settings.backoff_initial_s
        self._backoff = Backoff(initial, max(initial, settings.backoff_max_s))
        self._thread: threading.Thread | None = None
        self._supervisor = supervisor or Supervisor()
        # A read or an open returns within its timeout: a silent thread beyond that is stuck.
        beat_s = max(settings.read_timeout_s, settings.open_timeout_s)
        self._beat = Heartbeat(f"cam-{self.id}", "decoder", beat_s, self._supervisor)

    # ----------------------------------------------------------------- public API

    def start(self) -> None:
        """Start the decode thread. A source is started once; create a new one to restart."""
        if self._thread is not None or self._stop.is_set():
            raise RuntimeError(f"camera {self.id} was already started or stopped")
        self._thread = threading.Thread(target=self._run, name=f"cam-{self.id}", daemon=True)
        self._supervisor.watch(self._beat)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Ask the thread to finish and wait up to ``timeout`` seconds for it.

        Returns at once when the thread waits in backoff or between frames. A read blocked in
        the network ends within ``settings.read_timeout_s``; if that is longer than ``timeout``
        this returns anyway (the daemon thread finishes on its own) and logs a warning.
        """
        self._stop.set()
        thread = self._thread
        if thread is None:
            self._set_state(StreamState.STOPPED)
            return
        if thread is not threading.current_thread():
            thread.join(timeout)
        if thread.is_alive():
            log.warning("camera %s: decode thread still busy after %.1f s", self.id, timeout)

    def take(self) -> Frame | None:
        """The newest sampled frame not yet taken, or None."""
        return self._slot.take()

    def latest(self) -> Frame | None:
        """The newest sampled frame, taken or not (for previews)."""
        return self._slot.peek()

    @property
    def state(self) -> StreamState:
        with self._lock:
            return self._state

    @property
    def running(self) -> bool:
        """True while the decode thread is alive."""
        return self._thread is not None and self._thread.is_alive()

    def stats(self) -> SourceStats:
        """A consistent-enough snapshot of state and counters (URL and error redacted)."""
        c = self._counters
        with self._lock:
            state, opens, error = self._state, self._opens, self._last_error
        return SourceStats(
            camera_id=self.id,
            state=state,
            url=self._safe_url,
            decoded=c.decoded,
            sampled=c.sampled,
            dropped=self._slot.dropped,
            reconnects=max(0, opens - 1),
            last_frame_ts=self._last_frame_ts,
            last_error=error,
            keyframes_only=c.keyframes_only,
            gop_s=c.gop_s,
            fps=c.fps,
        )

    # ----------------------------------------------------------------- thread

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                try:
                    self._set_state(StreamState.CONNECTING)
                    if self._session():
                        break
                except Exception as exc:  # last resort: count it, back off, connect again
                    self._beat.failed(exc, f"camera {self.id}", detail=self._describe(exc))
                    if self._failed(f"decode thread failed: {self._describe(exc)}"):
                        break
        except Exception as exc:  # the backoff itself failed: end cleanly, never raise
            log.error("camera %s: decode thread failed: %s", self.id, self._describe(exc))
        finally:
            self._set_state(StreamState.STOPPED)
            self._supervisor.retire(self._beat)

    def _session(self) -> bool:
        """One connection, from open to its end. Returns True when the source is finished."""
        try:
            container = open_stream(self._url, self._settings)
            self._opened()
            session = self._new_session(container)
            while True:
                with container:
                    reopen = self._stream(container, session)
                if not reopen or self._stop.is_set():
                    break
                container = open_stream(self._url, self._settings)  # a raw file cannot seek
        except StreamError as exc:
            return self._failed(str(exc))
        except Exception as exc:  # loop boundary: one camera must never kill its thread
            self._beat.failed(exc, f"camera {self.id}", detail=self._describe(exc))
            return self._failed(f"{self._safe_url}: {self._describe(exc)}")
        if self._stop.is_set():
            return True
        if self._network:
            return self._failed(f"{self._safe_url}: stream ended")
        log.info("camera %s: end of file %s", self.id, self._safe_url)
        return True

    def _new_session(self, container: InputContainer) -> _Session:
        camera = self.camera
        self._counters.fps = self._counters.fps or declared_fps(container.streams.video[0])
        return _Session(
            policy=KeyframePolicy(camera.decode, camera.interval_s, self._counters),
            sampler=IntervalSampler(
                camera.interval_s, tolerance_s=SAMPLER_TOLERANCE * camera.interval_s
            ),
            pacer=None if self._network or not camera.realtime else _Pacer(self._stop),
        )

    def _stream(self, container: InputContainer, session: _Session) -> bool:
        """Decode until stop, end of input or an error; a looping file starts again.

        Returns True when a looping file reached its end and must be reopened to rewind.
        """
        while not self._stop.is_set():
            count = self._play(container, session)
            if self._network or not self.camera.loop or self._stop.is_set():
                return False
            if count == 0 and session.skipped_keys == 0:
                raise StreamError(self._url, "no frames could be decoded")
            session.first += count
            if session.pacer is not None:
                session.pacer.restart()
            try:
                container.seek(0)
            except AV_ERRORS:  # raw elementary streams cannot seek
                return True
        return False

    def _want_key(self, session: _Session, t: float | None) -> bool:
        """Whether the keyframe at stream time ``t`` is worth decoding (files are paced here)."""
        self._beat.ok()
        if session.pacer is not None and not session.pacer.wait(t):
            return False
        if session.sampler.would_take(time.time()):
            return True
        session.skipped_keys += 1
        return False

    def _play(self, container: InputContainer, session: _Session) -> int:
        """Decode one pass; put the due frames in the slot. Returns frames decoded."""
        count = 0
        session.skipped_keys = 0
        decoded = iter_decoded(
            container,
            session.policy,
            name=self._url,
            stop=self._stop,
            want_key=lambda t: self._want_key(session, t),
        )
        for index, t, picture in decoded:
            if session.pacer is not None and not session.pacer.wait(t):
                break
            self._beat.ok()
            if count == 0:
                self._decoding()
            count = index + 1
            ts = time.time()
            if session.sampler.due(ts):
                self._last_frame_ts = ts
                self._counters.sampled += 1
                self._slot.put(to_frame(picture, self.id, ts, session.first + index))
        return count

    # ----------------------------------------------------------------- state

    def _opened(self) -> None:
        with self._lock:
            self._opens += 1
            reconnect = self._opens > 1
        self._backoff.connected(time.monotonic())
        self._set_state(StreamState.STREAMING, "reconnected" if reconnect else "")

    def _decoding(self) -> None:
        """Frames decode again: the last error is history (a streaming camera shows none)."""
        with self._lock:
            self._last_error = None

    def _failed(self, message: str) -> bool:
        """Record an error, wait out the backoff; True when stopped meanwhile."""
        with self._lock:
            self._last_error = message
        log.warning("camera %s: %s", self.id, message)
        if self._stop.is_set():
            return True
        delay = self._backoff.failure(time.monotonic())
        self._beat.waiting(delay)
        self._set_state(StreamState.BACKOFF, f"retry in {delay:.1f} s")
        return self._stop.wait(delay)

    def _set_state(self, new: StreamState, detail: str = "") -> None:
        with self._lock:
            old = self._state
            if old == new:
                return
            check_transition(old, new)
            self._state = new
        suffix = f" ({detail})" if detail else ""
        log.info("camera %s: %s -> %s %s%s", self.id, old, new, self._safe_url, suffix)

    def _describe(self, exc: BaseException) -> str:
        return redact_text(f"{type(exc).__name__}: {exc}", urls=[self._url])
