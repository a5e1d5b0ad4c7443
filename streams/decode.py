"""Open cameras and files with PyAV and decode them, converting only the frames that are analysed.

Decode cost is what limits the number of cameras per core, so the per-frame path is short:
frames that the sampler does not pick are never converted to RGB, and when the analysis interval
is at least one GOP the decoder skips every non-key frame (``skip_frame = "NONKEY"``), which
leaves one decoded picture per GOP.
"""

from __future__ import annotations

import math
import os
import re
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from urllib.parse import urlsplit

import av
from av.container import InputContainer
from av.video.frame import VideoFrame
from av.video.stream import VideoStream

from streams.config import DecodeMode, StreamSettings
from streams.frame import Frame
from streams.keyframes import DecodeCounters, FrameIndexer, KeyframePolicy
from streams.redact import redact_text, redact_url
from streams.sampler import IntervalSampler

_SCHEME = re.compile(r"^(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*)://")

# Open options for network streams. analyzeduration bounds how much of the stream
# avformat_find_stream_info reads (0 would mean its 5 s default); 0.1 s is enough because
# cameras send SPS/PPS in the SDP or with every keyframe. "fflags=nobuffer" is deliberately NOT
# set: it discards the packets read while probing, so the first keyframe would be lost and the
# first picture would arrive one GOP later.
NETWORK_OPTIONS = {"analyzeduration": "100000"}
RTSP_OPTIONS = {"rtsp_transport": "tcp", **NETWORK_OPTIONS}
# FFmpeg's socket I/O timeouts in microseconds: the RTSP demuxer's own option, and the generic
# one of every other network protocol.
RTSP_TIMEOUT, NETWORK_TIMEOUT = "timeout", "rw_timeout"

# Everything FFmpeg reports (corrupt data, refused connections, timeouts) is an FFmpegError;
# OSError covers failures of the operating system around it.
AV_ERRORS: tuple[type[BaseException], ...] = (av.FFmpegError, OSError)


class StreamError(Exception):
    """A stream or file could not be opened or read.

    ``str(error)`` is ``"<redacted url>: <reason>"``; neither part contains a password.
    """

    def __init__(self, url: str, reason: str) -> None:
        self.url = redact_url(url)
        self.reason = redact_text(reason, urls=[url])
        super().__init__(f"{self.url}: {self.reason}")


def is_network_url(url: str) -> bool:
    """True for ``rtsp://``, ``http://`` and similar; False for paths and ``file://`` URLs."""
    match = _SCHEME.match(url)
    return match is not None and match.group("scheme").lower() != "file"


# Causes FFmpeg reports in terms an operator can act on; its own words follow in brackets.
_CAUSES: tuple[tuple[type[BaseException], str], ...] = (
    (av.error.HTTPUnauthorizedError, "unauthorised: wrong or missing credentials"),
    (av.error.HTTPForbiddenError, "forbidden: the account may not read this stream"),
    (av.error.HTTPNotFoundError, "not found: check the stream path"),
    (av.error.InvalidDataError, "not a video"),
)


def describe_error(exc: BaseException) -> str:
    """A short reason for ``exc`` without the file name PyAV appends (it may hold a password)."""
    strerror = getattr(exc, "strerror", None)
    if isinstance(exc, av.ExitError):
        return "timed out"
    words = strerror if isinstance(strerror, str) and strerror else None
    for kind, cause in _CAUSES:
        if isinstance(exc, kind):
            return f"{cause} ({words})" if words else cause
    return words or f"{type(exc).__name__}: {exc}"


def resolve_host(url: str) -> None:
    """Raise :class:`StreamError` when the host of a network ``url`` has no address.

    FFmpeg reports an unknown host as a bare "Input/output error"; asking first names the cause.
    """
    try:
        parts = urlsplit(url)
        host, port = parts.hostname, parts.port
    except ValueError:
        raise StreamError(url, "cannot open: not a valid URL") from None
    if not host:
        raise StreamError(url, "cannot open: the URL names no host")
    try:
        socket.getaddrinfo(host, port)
    except (socket.gaierror, UnicodeError):
        raise StreamError(url, f"cannot open: cannot resolve host {host!r}") from None


def open_stream(url: str, settings: StreamSettings | None = None) -> InputContainer:
    """Open a camera URL or a video file for reading.

    RTSP is read over TCP (no lost UDP packets, works through NAT); network opens are bounded by
    ``settings.open_timeout_s`` and later reads by ``settings.read_timeout_s`` (5 s each when
    ``settings`` is None; FFmpeg's RTSP reader may take up to twice that to give up on a silent
    server). Files are opened plainly.

    The read timeout is FFmpeg's own socket timeout, not PyAV's: PyAV checks its timeout in a
    callback that takes the GIL every time FFmpeg waits for the network, which cost a fifth of
    the CPU of receiving a 4 Mbit/s camera (measured: 57 against 45 ms per 10 s).

    Raises:
        StreamError: naming the (redacted) URL and the reason, e.g. "Connection refused",
            "timed out after 5 s", "No such file or directory", or "no video stream".
    """
    if not is_network_url(url):
        return _checked(url, _open_file(url))
    resolve_host(url)
    scheme = url.split("://", 1)[0].lower()
    rtsp = scheme in ("rtsp", "rtsps")
    open_s, read_s = (settings.open_timeout_s, settings.read_timeout_s) if settings else (5.0, 5.0)
    options = dict(RTSP_OPTIONS if rtsp else NETWORK_OPTIONS)
    options[RTSP_TIMEOUT if rtsp else NETWORK_TIMEOUT] = str(round(read_s * 1e6))
    started = time.monotonic()
    try:
        container = av.open(url, options=options, timeout=(open_s, None))
    except AV_ERRORS as exc:
        reason = describe_error(exc)
        # A silent server surfaces as "Invalid data" or "Immediate exit requested"; say what
        # really happened when the whole open timeout went by.
        if time.monotonic() - started >= 0.95 * open_s:
            reason = f"timed out after {open_s:g} s ({reason})"
        raise StreamError(url, f"cannot open: {reason}") from None
    return _checked(url, container)


def _open_file(path: str) -> InputContainer:
    try:
        return av.open(path)
    except AV_ERRORS as exc:
        # FFmpeg says "Invalid data" for an empty file too; say why, it is a common mishap.
        empty = os.path.isfile(path) and os.path.getsize(path) == 0
        reason = "empty file (0 bytes)" if empty else describe_error(exc)
        raise StreamError(path, f"cannot open: {reason}") from None


def _checked(url: str, container: InputContainer) -> InputContainer:
    if not container.streams.video:
        container.close()
        raise StreamError(url, "no video stream")
    return container


def apply_skip(stream: VideoStream, keyframes_only: bool) -> None:
    """Tell the decoder to skip (or stop skipping) non-key frames; safe mid-stream."""
    stream.codec_context.skip_frame = "NONKEY" if keyframes_only else "DEFAULT"


def stream_fps(stream: VideoStream) -> float | None:
    """Declared frame rate of ``stream``, None when the container does not say."""
    rate = stream.average_rate or stream.guessed_rate
    return float(rate) if rate else None


def iter_decoded(
    container: InputContainer,
    policy: KeyframePolicy,
    *,
    name: str,
    stop: threading.Event | None = None,
    want_key: Callable[[float | None], bool] | None = None,
) -> Iterator[tuple[int, float | None, VideoFrame]]:
    """Decode the first video stream, yielding ``(index, t, frame)`` for every decoded frame.

    ``t`` is the frame's stream time in seconds; streams without timestamps (raw ``.h264``
    files) get ``packet position / fps`` instead (one packet per picture).

    While ``policy`` says keyframes only, the decoder skips non-key frames, and packets not
    flagged as key are not even handed to it (once the stream has shown that it flags them).
    Frames are not converted here. Ends at the end of the input, or at the next packet after
    ``stop`` is set (so stopping does not wait for the next keyframe). In keyframes-only mode a
    keyframe is decoded only when ``want_key(t)`` (if given; ``t`` the packet's stream time)
    says its picture would be used: decoding a 1080p keyframe costs ~30 ms, and with an interval
    of 5 GOPs four in five would be thrown away. ``want_key`` may block (a file played in real
    time is paced there). The policy still sees the skipped keyframes' times (GOP measurement).

    Raises:
        StreamError: naming ``name`` (redacted) and the index reached, on a read/decode error.
    """
    stream = container.streams.video[0]
    apply_skip(stream, policy.counters.keyframes_only)
    indexer = FrameIndexer(stream_fps(stream))
    counters = policy.counters
    index = -1
    flags_seen = False  # some demuxers never flag key packets: then let the decoder decide
    timed = False  # has any frame carried a timestamp?
    position = -1  # packets demuxed so far, skipped ones included
    try:
        for packet in container.demux(stream):
            if stop is not None and stop.is_set():
                return
            flags_seen = flags_seen or packet.is_keyframe
            position += 1 if packet.size else 0
            if counters.keyframes_only and flags_seen and not packet.is_keyframe and packet.size:
                continue
            if counters.keyframes_only and flags_seen and packet.size and want_key is not None:
                t = _packet_time(packet.pts, packet.time_base, position, indexer.fps)
                if not want_key(t):
                    if policy.observe(t, True):
                        apply_skip(stream, counters.keyframes_only)
                    continue
            for frame in packet.decode():
                counters.decoded += 1
                t = frame.time
                timed = timed or t is not None
                if t is None and not timed and indexer.fps:
                    t = position / indexer.fps
                index = indexer.next(t, counters.keyframes_only)
                if policy.observe(t, frame.key_frame):
                    apply_skip(stream, counters.keyframes_only)
                yield index, t, frame
    except AV_ERRORS as exc:
        reason = f"decode failed after frame {index}: {describe_error(exc)}"
        raise StreamError(name, reason) from None


def _packet_time(
    pts: int | None, time_base: Fraction | None, position: int, fps: float | None
) -> float | None:
    """Stream time of a packet in seconds (``position / fps`` for untimed raw streams)."""
    if pts is not None and time_base is not None:
        return float(pts * time_base)
    return position / fps if fps else None


def to_frame(frame: VideoFrame, camera_id: str, ts: float, index: int) -> Frame:
    """Convert a decoded picture into a :class:`Frame` (``H x W x 3`` uint8 RGB)."""
    return Frame(
        camera_id=camera_id,
        ts=ts,
        index=index,
        image=frame.to_ndarray(format="rgb24"),
        keyframe=bool(frame.key_frame),
        received=time.monotonic(),
    )


def _clip_pass(
    container: InputContainer, sampler: IntervalSampler, job: _ClipJob, first: int
) -> Iterator[Frame | int]:
    """Play one pass of a clip: yield the sampled Frames, then the number of frames decoded."""
    policy = KeyframePolicy(DecodeMode.ALL, sampler.interval_s, DecodeCounters())
    count = 0
    for index, _, decoded in iter_decoded(container, policy, name=job.name):
        position = first + index
        if job.limit is not None and position >= job.limit:
            break
        count += 1
        ts = position * job.spf
        if sampler.due(ts):
            yield to_frame(decoded, job.camera_id, ts, position)
    else:
        expected = container.streams.video[0].frames
        if expected and count < expected:
            raise StreamError(job.name, f"truncated: decoded {count} of {expected} frames")
    yield count


@dataclass
class _ClipJob:
    name: str
    camera_id: str
    spf: float
    limit: int | None = None  # stop before this frame position (None during the first pass)


def read_clip(
    path: Path,
    *,
    camera_id: str,
    interval_s: float,
    seconds_per_frame: float | None = None,
    min_seconds: float = 0.0,
) -> Iterator[Frame]:
    """Play a recorded clip as fast as possible and yield the frames due for analysis.

    Deterministic: every frame is decoded (nothing is dropped), frame ``i`` gets
    ``ts = i * seconds_per_frame`` (real-world seconds since the start of the clip; default
    ``1 / fps`` of the file) and frames are picked by :class:`IntervalSampler` on that time.
    A clip shorter than ``min_seconds`` of real time is played again (index and ts continue)
    until frame positions reach ``ceil(min_seconds / seconds_per_frame)``; the first pass is
    always played whole.

    Raw ``.h264`` streams carry no frame rate (FFmpeg assumes 25 fps): pass
    ``seconds_per_frame`` for them.

    Raises:
        StreamError: naming the file when it cannot be opened, has no known frame rate, or is
            corrupt. Frames decoded before a corrupt part are yielded first. A truncated MP4
            whose header declares more frames than could be decoded raises after the last good
            frame; a truncated raw stream, which declares no length, just ends.
    """
    name = str(path)
    sampler = IntervalSampler(interval_s)
    job: _ClipJob | None = None
    first = 0
    while True:
        with open_stream(name) as container:
            if job is None:
                job = _ClipJob(
                    name, camera_id, _seconds_per_frame(container, name, seconds_per_frame)
                )
            count = 0
            for item in _clip_pass(container, sampler, job, first):
                if isinstance(item, Frame):
                    yield item
                else:
                    count = item
        if count == 0:
            if first == 0:
                raise StreamError(name, "no frames could be decoded")
            return
        first += count
        if job.limit is None:
            job.limit = max(first, math.ceil(min_seconds / job.spf - 1e-9))
        if first >= job.limit:
            return


def _seconds_per_frame(container: InputContainer, name: str, given: float | None) -> float:
    if given is not None:
        if not given > 0:
            raise ValueError(f"seconds_per_frame must be > 0, got {given}")
        return given
    fps = stream_fps(container.streams.video[0])
    if not fps:
        raise StreamError(name, "frame rate unknown; pass seconds_per_frame")
    return 1.0 / fps
