"""``emberwatch bench api``: the read API under concurrent viewers while cameras are analysed.

The real service runs as a child process on loopback (``emberwatch serve``) with N looping
synthetic file cameras scored by the demo-plume model, so scoring is cheap and the load is the
API's. The run has two phases of the same length: idle (no viewer; the analysis rate alone),
then load: each viewer holds the live event stream open (``/api/events/stream``, as the console
does) and reads ``/api/events`` and ``/api/cameras`` in turn as fast as answers come. The report
gives requests per second and p50/p99 latency per endpoint, and the analysis rate (frames scored
per second, from ``analysed`` in ``/api/cameras``) under load against idle.
"""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import yaml

from benchmarks.api_load_report import EndpointStats, LoadReport, StreamStats, endpoint_stats

REPO = Path(__file__).resolve().parents[1]
DEMO_MODEL = REPO / "models" / "demo-plume"
POLLED = ("/api/events", "/api/cameras")
STREAM = "/api/events/stream"
START_TIMEOUT_S = 90.0


@dataclass(frozen=True, slots=True)
class LoadSettings:
    """One run. Times in seconds."""

    viewers: int = 50
    seconds: float = 30.0  # length of each phase (idle, then load)
    cameras: int = 4
    interval_s: float = 0.5  # each camera analyses one frame every interval_s
    model_dir: Path = DEMO_MODEL
    work_dir: Path | None = None  # None: a temporary directory


@dataclass(frozen=True, slots=True)
class Service:
    """A running service: where it answers and the viewer's Authorization header."""

    base_url: str
    headers: dict[str, str]
    pid: int


@dataclass
class _Samples:
    """What the viewers measured (filled by the viewer tasks on one event loop)."""

    latency: dict[str, list[float]] = field(default_factory=lambda: {p: [] for p in POLLED})
    errors: dict[str, int] = field(default_factory=lambda: dict.fromkeys(POLLED, 0))
    stream_connect: list[float] = field(default_factory=list)
    stream_errors: int = 0
    stream_messages: int = 0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def write_config(work_dir: Path, settings: LoadSettings) -> Path:
    """A configuration of ``settings.cameras`` looping copies of one short plume clip."""
    from benchmarks.synth import SynthSpec, write_clip

    clip = work_dir / "plume.mp4"
    if not clip.is_file():
        write_clip(clip, SynthSpec(seconds=20, plume_start_s=4.0, plume_end_s=14.0, fps=10))
    cameras = [
        {"id": f"cam{i:02d}", "url": str(clip), "loop": True, "interval_s": settings.interval_s}
        for i in range(settings.cameras)
    ]
    config = {
        "cameras": cameras,
        "detector": {"model_dir": str(settings.model_dir)},
        "smoothing": {"tau_s": 0.5, "min_persistence_s": 1.0, "quiet_s": 1.0},
    }
    path = work_dir / "bench-api.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path


def viewer_token(config: Path, data_dir: Path) -> str:
    """A token-only viewer account made with the real CLI; its bearer token."""
    cli = [sys.executable, "-m", "cli", "users"]
    where = ["--config", str(config), "--data-dir", str(data_dir)]
    add = [*cli, "add", "bench-viewer", "--role", "viewer", "--no-password", *where]
    subprocess.run(add, check=True, capture_output=True)
    out = subprocess.run([*cli, "token", "bench-viewer", *where], check=True, capture_output=True)
    return out.stdout.decode().strip()


def _wait_ready(base_url: str, proc: subprocess.Popen[bytes], headers: dict[str, str]) -> None:
    """Until every camera has analysed a frame (the model is loaded and the clips play)."""
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the service exited with status {proc.returncode}")
        try:
            cams = httpx.get(f"{base_url}/api/cameras", headers=headers, timeout=5).json()
            if cams and all(c["counters"]["analysed"] > 0 for c in cams):
                return
        except (httpx.HTTPError, ValueError, TypeError, KeyError):
            pass
        time.sleep(0.5)
    raise RuntimeError(f"the cameras were not analysed within {START_TIMEOUT_S:.0f} s")


@contextmanager
def running_service(settings: LoadSettings, log_path: Path | None = None) -> Iterator[Service]:
    """Start ``emberwatch serve`` on loopback with the benchmark cameras; stop it on exit."""
    with tempfile.TemporaryDirectory(prefix="emberwatch-bench-api-") as tmp:
        work = settings.work_dir or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        config, port = write_config(work, settings), free_port()
        data_dir = Path(tempfile.mkdtemp(prefix="data-", dir=work))  # a fresh database each run
        headers = {"Authorization": f"Bearer {viewer_token(config, data_dir)}"}
        cmd = [sys.executable, "-m", "cli", "serve", "--config", str(config), "--port", str(port),
               "--data-dir", str(data_dir), "--log-level", "WARNING"]  # fmt: skip
        with (log_path or work / "service.log").open("ab") as log:
            proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
        try:
            base_url = f"http://127.0.0.1:{port}"
            _wait_ready(base_url, proc, headers)
            yield Service(base_url, headers, proc.pid)
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def analysed_total(service: Service) -> int:
    """Frames scored so far, over all cameras."""
    cams = httpx.get(f"{service.base_url}/api/cameras", headers=service.headers, timeout=30)
    cams.raise_for_status()
    return sum(int(cam["counters"]["analysed"]) for cam in cams.json())


def analysis_rate(service: Service, seconds: float) -> float:
    """Frames scored per second over the next ``seconds``, with no viewer."""
    before, start = analysed_total(service), time.monotonic()
    time.sleep(seconds)
    return (analysed_total(service) - before) / (time.monotonic() - start)


async def _poll(client: httpx.AsyncClient, samples: _Samples, stop: float) -> None:
    loop = asyncio.get_running_loop()
    while loop.time() < stop:
        for path in POLLED:
            start = time.perf_counter()
            try:
                response = await client.get(path)
                ok = response.status_code == 200
            except httpx.HTTPError:
                ok = False
            if ok:
                samples.latency[path].append(time.perf_counter() - start)
            else:
                samples.errors[path] += 1


async def _listen(client: httpx.AsyncClient, samples: _Samples, stop: float) -> None:
    """Hold the live stream open until ``stop``; count its messages."""
    start = time.perf_counter()
    try:
        async with client.stream("GET", STREAM) as response:
            if response.status_code != 200:
                samples.stream_errors += 1
                return
            samples.stream_connect.append(time.perf_counter() - start)
            async for line in response.aiter_lines():
                samples.stream_messages += line.startswith("event:")
    except httpx.HTTPError:
        samples.stream_errors += 1


async def _viewer(service: Service, samples: _Samples, stop: float) -> None:
    timeout = httpx.Timeout(30.0, read=None)
    async with httpx.AsyncClient(
        base_url=service.base_url, headers=service.headers, timeout=timeout
    ) as client:
        listener = asyncio.create_task(_listen(client, samples, stop))
        await _poll(client, samples, stop)
        listener.cancel()
        await asyncio.gather(listener, return_exceptions=True)


async def _viewers(service: Service, n: int, seconds: float) -> _Samples:
    samples = _Samples()
    stop = asyncio.get_running_loop().time() + seconds
    await asyncio.gather(*(_viewer(service, samples, stop) for _ in range(n)))
    return samples


def load_phase(service: Service, viewers: int, seconds: float) -> tuple[_Samples, float, float]:
    """Run the viewers for ``seconds``: their samples, the analysis rate, the wall time."""
    before, start = analysed_total(service), time.monotonic()
    samples = asyncio.run(_viewers(service, viewers, seconds))
    wall = time.monotonic() - start
    return samples, (analysed_total(service) - before) / wall, wall


def run_load(settings: LoadSettings, log_path: Path | None = None) -> LoadReport:
    """Idle phase, then load phase, on one running service."""
    with running_service(settings, log_path) as service:
        idle = analysis_rate(service, settings.seconds)
        samples, loaded, wall = load_phase(service, settings.viewers, settings.seconds)
    endpoints: list[EndpointStats] = [
        endpoint_stats(path, samples.latency[path], samples.errors[path], wall) for path in POLLED
    ]
    stream = StreamStats(
        connected=len(samples.stream_connect),
        errors=samples.stream_errors,
        messages=samples.stream_messages,
        connect=endpoint_stats(STREAM, samples.stream_connect, samples.stream_errors, wall),
    )
    return LoadReport(
        viewers=settings.viewers,
        cameras=settings.cameras,
        seconds=settings.seconds,
        endpoints=tuple(endpoints),
        stream=stream,
        idle_analysis_fps=idle,
        load_analysis_fps=loaded,
    )
