"""``emberwatch bench split``: the same cameras on one worker, then split over several.

Starts a private ``nats-server -js`` on loopback, puts N looping synthetic 1080p file cameras in
the bus's camera bucket (as an API replica would), and runs ``emberwatch worker`` processes,
one after the other with 1, 2, ... workers. Once every camera is analysed it measures, over a
window, the CPU of the worker processes (user + system, from /proc) and the frames they
analysed (from the workers' status entries). On one machine this shows what splitting costs
(each worker loads its own model, renews its leases, publishes status), not that it scales.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import yaml

from benchmarks.throughput import proc_cpu_seconds

#: Lease time of the benchmark's cluster (s): short, so a run does not wait on it.
LEASE_TTL_S = 4.0


@dataclass(frozen=True, slots=True)
class SplitResult:
    workers: int
    streams: int
    seconds: float
    cores: float  # CPU seconds of all worker processes / wall seconds
    cores_per_100_streams: float
    analysed_per_s: float
    rss_mb: float  # all worker processes together


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


@contextmanager
def _nats(work: Path) -> Iterator[str]:
    exe = shutil.which("nats-server") or "/usr/sbin/nats-server"
    port = _free_port()
    store = Path(tempfile.mkdtemp(prefix="split-nats-", dir=work))
    proc = subprocess.Popen([exe, "-js", "-sd", str(store), "-a", "127.0.0.1", "-p", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        time.sleep(0.3)
        yield f"nats://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(10)
        shutil.rmtree(store, ignore_errors=True)


async def _bus_call(url: str, cameras: list[dict[str, Any]] | None) -> dict[str, Any]:
    """Put ``cameras`` on the bus, or read the cameras' status entries."""
    from prometheus_client import CollectorRegistry

    from cluster.bus import connect, entries
    from cluster.metrics import BusCounters
    from cluster.settings import STATUS, ClusterSettings

    settings = ClusterSettings(bus=url, name="bench", lease_ttl_s=LEASE_TTL_S)
    bus = await connect(settings, BusCounters(CollectorRegistry()))
    try:
        if cameras is not None:
            for cam in cameras:
                await bus.cameras.put(cam["id"], json.dumps(cam).encode())
            return {}
        return {k: json.loads(v) for k, v in (await entries(bus.js, STATUS)).items()}
    finally:
        await bus.close()


def _analysed(url: str, streams: int) -> int | None:
    """Frames analysed over all cameras; None until every camera reports."""
    status = asyncio.run(_bus_call(url, None))
    if len(status) < streams or any(s.get("analysed", 0) == 0 for s in status.values()):
        return None
    return sum(int(s["analysed"]) for s in status.values())


def _measure(url: str, procs: list[subprocess.Popen[bytes]], streams: int, seconds: float,
             ) -> SplitResult:  # fmt: skip
    deadline = time.monotonic() + 300
    while _analysed(url, streams) is None:
        if time.monotonic() > deadline:
            raise RuntimeError("not every camera was analysed within 5 minutes")
        time.sleep(1.0)
    time.sleep(seconds / 4)  # settle after the last camera started
    cpu0 = sum(proc_cpu_seconds(p.pid) or 0.0 for p in procs)
    frames0, t0 = _analysed(url, streams) or 0, time.monotonic()
    time.sleep(seconds)
    cpu1 = sum(proc_cpu_seconds(p.pid) or 0.0 for p in procs)
    frames1, wall = _analysed(url, streams) or 0, time.monotonic() - t0
    cores = (cpu1 - cpu0) / wall
    return SplitResult(
        workers=len(procs),
        streams=streams,
        seconds=round(wall, 1),
        cores=round(cores, 3),
        cores_per_100_streams=round(100 * cores / streams, 2),
        analysed_per_s=round((frames1 - frames0) / wall, 2),
        rss_mb=round(sum(_rss_mb(p.pid) for p in procs), 1),
    )


def run_split(config: Path, clip: Path, streams: int, workers: int, seconds: float,
              interval: float, work: Path) -> SplitResult:  # fmt: skip
    """One measurement: ``streams`` cameras on ``workers`` worker processes."""
    cameras = [{"id": f"cam-{i:03d}", "url": str(clip), "loop": True, "interval_s": interval}
               for i in range(streams)]  # fmt: skip
    with _nats(work) as url:
        asyncio.run(_bus_call(url, cameras))
        procs = []
        for i in range(workers):
            log = (work / f"worker-{workers}-{i}.log").open("ab")
            cmd = [sys.executable, "-m", "cli", "worker", "--bus", url, "--name", f"w{i}",
                   "--config", str(config), "--lease-ttl", str(LEASE_TTL_S), "--log-level",
                   "WARNING"]  # fmt: skip
            procs.append(subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT))
        try:
            return _measure(url, procs, streams, seconds)
        finally:
            for proc in procs:
                proc.terminate()
            for proc in procs:
                proc.wait(30)


def bench_split(
    streams: int,
    workers: list[int],
    seconds: float,
    interval: float,
    model: Path | None,
    work: Path,
    on_result: Callable[[SplitResult], None] = lambda result: None,
) -> dict[str, Any]:
    """The same cameras on one worker and split over several, on a private bus: one run per
    count in ``workers``; ``on_result`` hears each run as it ends."""
    from benchmarks.synth import SynthSpec, write_clip

    work.mkdir(parents=True, exist_ok=True)
    clip = work / "clip-1080p-25fps-gop50.mp4"
    if not clip.is_file():
        spec = SynthSpec(width=1920, height=1080, fps=25, seconds=20.0, gop=50,
                         bitrate=4_000_000, plume_start_s=5.0)  # fmt: skip
        write_clip(clip, spec)
    config = work / "worker.yaml"
    detector: dict[str, Any] = {"model_dir": str(model)} if model else {}
    config.write_text(yaml.safe_dump({"detector": detector}))
    results = []
    for count in workers:
        result = run_split(config, clip, streams, count, seconds, interval, work)
        on_result(result)
        results.append(asdict(result))
    load = os.getloadavg()
    return {"runs": results, "load_average_after": [round(v, 2) for v in load]}
