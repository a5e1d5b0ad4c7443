"""Lifecycle of a camera source and the counters it reports."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class StreamState(StrEnum):
    """Where a :class:`streams.source.CameraSource` is in its life.

    CONNECTING: opening the URL or file. STREAMING: frames are being decoded. BACKOFF: the
    last attempt failed; waiting before the next one. STOPPED: finished (``stop()`` was called,
    or a non-looping file reached its end); final.
    """

    CONNECTING = "connecting"
    STREAMING = "streaming"
    BACKOFF = "backoff"
    STOPPED = "stopped"


# Every move a source may make. STOPPED is final: a stopped source is not restarted, a new one
# is created instead, so counters and threads never outlive their owner by accident.
ALLOWED_TRANSITIONS: dict[StreamState, frozenset[StreamState]] = {
    StreamState.CONNECTING: frozenset(
        {StreamState.STREAMING, StreamState.BACKOFF, StreamState.STOPPED}
    ),
    StreamState.STREAMING: frozenset(
        {StreamState.CONNECTING, StreamState.BACKOFF, StreamState.STOPPED}
    ),
    StreamState.BACKOFF: frozenset({StreamState.CONNECTING, StreamState.STOPPED}),
    StreamState.STOPPED: frozenset(),
}


class InvalidTransition(ValueError):
    """A state change that :data:`ALLOWED_TRANSITIONS` does not list."""


def check_transition(old: StreamState, new: StreamState) -> None:
    """Raise :class:`InvalidTransition` unless ``old -> new`` is allowed.

    Staying in the same state is not a transition and is rejected too, so that callers log
    exactly one line per real change.
    """
    if new not in ALLOWED_TRANSITIONS[old]:
        raise InvalidTransition(f"stream state cannot go from {old.value} to {new.value}")


@dataclass(frozen=True, slots=True)
class SourceStats:
    """A snapshot of one camera source's state and counters.

    Attributes:
        camera_id: id of the camera in the configuration.
        state: current lifecycle state.
        url: the camera URL with credentials redacted.
        decoded: frames produced by the decoder since the source started (all connections).
        sampled: frames converted to RGB and put into the latest-frame slot.
        dropped: sampled frames overwritten in the slot before anyone took them.
        reconnects: successful opens after the first one.
        last_frame_ts: wall-clock epoch seconds of the last sampled frame, None before any.
        last_error: the last error message, redacted; None when there has been none since
            frames last decoded (a camera streaming again carries no stale error).
        keyframes_only: True while the decoder skips every non-key frame.
        gop_s: measured keyframe interval in seconds of stream time, None until two keyframes.
        fps: measured decoded frames per second of stream time, None until known.
    """

    camera_id: str
    state: StreamState
    url: str
    decoded: int = 0
    sampled: int = 0
    dropped: int = 0
    reconnects: int = 0
    last_frame_ts: float | None = None
    last_error: str | None = None
    keyframes_only: bool = False
    gop_s: float | None = None
    fps: float | None = None
