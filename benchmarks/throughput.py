"""``emberwatch bench throughput``: how many 1080p RTSP cameras per core, against the naive loop.

A real gst-rtsp-server on loopback serves N copies of a generated 1080p H.264 clip (25 fps,
GOP 50, about 4 Mbit/s). For each N of a ramp, each system runs in a child process for a fixed
window (:mod:`benchmarks.throughput_worker`): Emberwatch's real pipeline, and the naive baseline
(:mod:`benchmarks.naive`). A system's ramp stops at the first N it does not sustain
(:mod:`benchmarks.throughput_report`); with ``--refine`` the gap to the last good N is bisected.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from benchmarks.progress import progress_bar

if TYPE_CHECKING:
    from benchmarks.rtsp import RtspServer
    from benchmarks.throughput_report import StepResult

REPO = Path(__file__).resolve().parents[1]
CLIP_FPS, CLIP_GOP, CLIP_BITRATE, CLIP_SECONDS = 25, 50, 4_000_000, 20.0
GOP_S = CLIP_GOP / CLIP_FPS


@dataclass(frozen=True)
class Settings:
    """One benchmark run. Times in seconds."""

    model_dir: Path
    streams: tuple[int, ...]  # the ramp
    seconds_per_step: float
    interval_s: float
    threads: int
    work_dir: Path
    refine: bool = False
    stagger: bool = True  # cameras connect spread over one interval, not all at once
    scoring_threads: int = 1  # Emberwatch's scoring threads (the naive loop has one)
    systems: tuple[str, ...] = ("emberwatch", "naive")
    size: tuple[int, int] = (1920, 1080)  # clip width, height (tests use smaller clips)

    @property
    def warmup_max_s(self) -> float:
        # Opening, the GOP measurement of AUTO mode and the first analysis of every camera.
        return 2 * self.interval_s + 20.0


def ramp(max_streams: int) -> tuple[int, ...]:
    """1, 2, 4, ... up to ``max_streams``, which is always included."""
    out, n = [], 1
    while n < max_streams:
        out.append(n)
        n *= 2
    return (*out, max_streams)


def clip_path(work_dir: Path, size: tuple[int, int] = (1920, 1080)) -> Path:
    """The benchmark clip, generated once per work directory (about a minute of CPU at 1080p)."""
    from benchmarks.synth import SynthSpec, write_clip

    width, height = size
    name = f"clip-{width}x{height}-{CLIP_FPS}fps-gop{CLIP_GOP}-{CLIP_BITRATE // 1000}k.h264"
    path = work_dir / name
    if not path.is_file():
        spec = SynthSpec(
            width=width,
            height=height,
            fps=CLIP_FPS,
            seconds=CLIP_SECONDS,
            gop=CLIP_GOP,
            bitrate=CLIP_BITRATE,
            plume_start_s=5.0,
        )
        tmp = write_clip(path.with_suffix(".tmp.h264"), spec)
        os.replace(tmp, path)
    return path


def proc_cpu_seconds(pid: int) -> float | None:
    """CPU time (user + system) of process ``pid`` from /proc, None if unreadable."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _server_cpu(pid: int | None) -> float | None:
    return None if pid is None else proc_cpu_seconds(pid)


def run_step(system: str, n: int, settings: Settings, server: RtspServer) -> StepResult:
    """Run one worker process and judge what it measured."""
    from benchmarks.throughput_report import evaluate, failed_step
    from benchmarks.throughput_worker import StepMeasure, StepSpec

    spec = StepSpec(
        system=system,
        urls=[server.url(f"cam{i:03d}") for i in range(n)],
        interval_s=settings.interval_s,
        model_dir=str(settings.model_dir),
        threads=settings.threads,
        seconds=settings.seconds_per_step,
        warmup_max_s=settings.warmup_max_s,
        stagger_s=settings.interval_s if settings.stagger else 0.0,
        scoring_threads=settings.scoring_threads,
    )
    step_dir = settings.work_dir / "steps"
    step_dir.mkdir(parents=True, exist_ok=True)
    spec_file, out_file = step_dir / f"{system}-{n}.spec.json", step_dir / f"{system}-{n}.json"
    spec_file.write_text(json.dumps(asdict(spec)), encoding="utf-8")
    out_file.unlink(missing_ok=True)
    proc = getattr(server, "_proc", None)  # RtspServer exposes no pid; CPU is informational
    pid: int | None = None if proc is None else proc.pid
    cmd = [sys.executable, "-m", "benchmarks.throughput_worker", str(spec_file), str(out_file)]
    timeout = settings.warmup_max_s + settings.interval_s + settings.seconds_per_step + 120
    with (step_dir / f"{system}-{n}.log").open("w") as log:
        cpu0, t0 = _server_cpu(pid), time.monotonic()
        try:
            done = subprocess.run(cmd, cwd=REPO, stderr=log, timeout=timeout, check=False)
        except subprocess.TimeoutExpired:
            return failed_step(system, n, f"worker did not finish in {timeout:.0f} s")
        cpu1, t1 = _server_cpu(pid), time.monotonic()
    if done.returncode != 0 or not out_file.is_file():
        tail = (step_dir / f"{system}-{n}.log").read_text().strip().splitlines()[-1:]
        return failed_step(system, n, f"worker failed ({done.returncode}): {' '.join(tail)}")
    measure = StepMeasure(**json.loads(out_file.read_text(encoding="utf-8")))
    server_cores = None if cpu0 is None or cpu1 is None else (cpu1 - cpu0) / (t1 - t0)
    return evaluate(
        measure,
        interval_s=settings.interval_s,
        gop_s=GOP_S,
        fps=CLIP_FPS,
        server_cores=server_cores,
    )


Step = Callable[[str, int], "StepResult"]


def ramp_system(system: str, settings: Settings, step: Step) -> list[StepResult]:
    """Steps up the ramp until the first N not sustained; bisect below it with ``refine``."""
    results: list[StepResult] = []
    good, bad = 0, None
    for n in settings.streams:
        result = step(system, n)
        results.append(result)
        if not result.sustained:
            bad = n
            break
        good = n
    while settings.refine and bad is not None and bad - good > max(1, good // 8):
        n = (good + bad) // 2
        result = step(system, n)
        results.append(result)
        good, bad = (n, bad) if result.sustained else (good, n)
    return sorted(results, key=lambda r: r.streams)


@contextmanager
def display(enabled: bool, total: int) -> Iterator[Callable[[str, StepResult | None], None]]:
    """A progress bar and a line per finished step, on stderr."""
    with progress_bar(total, enabled) as bar:

        def show(description: str, result: StepResult | None) -> None:
            if result is None:
                bar.working(description)
                return
            bar.done()
            p95 = "-" if result.latency_p95_s is None else f"{result.latency_p95_s:.2f}"
            verdict = "[green]ok[/]" if result.sustained else f"[red]{result.reason}[/]"
            bar.say(
                f"{result.system:>10} N={result.streams:<4} "
                f"{result.cores:5.2f} cores ({100 * result.cores_per_stream:5.2f} per 100) "
                f"p95 {p95} s  {result.rss_mb:6.0f} MiB  "
                f"{result.analysed_per_s:5.2f} analysed/s  {verdict}"
            )

        yield show


def benchmark(settings: Settings, show_progress: bool = True) -> dict[str, Any]:
    """Run the whole benchmark and return the ``--json`` document."""
    from benchmarks.rtsp import RtspServer
    from benchmarks.throughput_report import summarize

    settings.work_dir.mkdir(parents=True, exist_ok=True)
    clip = clip_path(settings.work_dir, settings.size)
    mounts = {f"cam{i:03d}": clip for i in range(max(settings.streams))}
    load_before = os.getloadavg()
    results: list[StepResult] = []
    total = len(settings.streams) * len(settings.systems)
    with RtspServer(mounts, fps=CLIP_FPS) as server, display(show_progress, total) as show:

        def step(system: str, n: int) -> StepResult:
            show(f"{system}: {n} stream(s), {settings.seconds_per_step:g} s", None)
            result = run_step(system, n, settings, server)
            show("", result)
            return result

        for system in settings.systems:
            results += ramp_system(system, settings, step)
    return summarize(results, _settings_json(settings, load_before))


def _settings_json(settings: Settings, load_before: tuple[float, float, float]) -> dict[str, Any]:
    return {
        "model": settings.model_dir.name,
        "ramp": list(settings.streams),
        "seconds_per_step": settings.seconds_per_step,
        "interval_s": settings.interval_s,
        "onnxruntime_threads": settings.threads,
        "stagger": settings.stagger,
        "scoring_threads": settings.scoring_threads,
        "clip": {
            "width": settings.size[0],
            "height": settings.size[1],
            "fps": CLIP_FPS,
            "gop": CLIP_GOP,
            "bitrate": CLIP_BITRATE,
        },
        "cpus": os.cpu_count(),
        "load_average_before": load_before[0],
        "load_average_after": os.getloadavg()[0],
    }
