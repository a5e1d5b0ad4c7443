"""Start and stop the loopback RTSP test server (``benchmarks/rtsp_serve.py``) from Python.

gst-rtsp-server's Python bindings import only under the system interpreter, so the server runs
as a subprocess of ``/usr/bin/python3``; this module is what tests and benchmarks use::

    with RtspServer({"smoke": Path("smoke.h264")}, fps=10) as server:
        url = server.url("smoke")  # rtsp://127.0.0.1:PORT/smoke
"""

from __future__ import annotations

import functools
import os
import select
import signal
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType
from typing import IO
from urllib.parse import quote

SYSTEM_PYTHON = "/usr/bin/python3"
SERVE_SCRIPT = Path(__file__).resolve().with_name("rtsp_serve.py")
PASSWORD_ENV = "RTSP_TEST_PASSWORD"
_PROBE = (
    "import gi; gi.require_version('Gst', '1.0'); gi.require_version('GstRtspServer', '1.0'); "
    "from gi.repository import Gst, GstRtspServer"
)


class RtspServerError(RuntimeError):
    """The server could not be started (missing bindings, port taken, bad file)."""


@functools.lru_cache(maxsize=4)
def unavailable_reason(python: str = SYSTEM_PYTHON) -> str | None:
    """None when gst-rtsp-server can run under ``python``; otherwise why not (for pytest.skip)."""
    if not Path(python).exists():
        return f"{python} not found (install python3-gi and gir1.2-gst-rtsp-server-1.0)"
    probe = subprocess.run(
        [python, "-c", _PROBE], capture_output=True, text=True, timeout=30, env=_clean_env()
    )
    if probe.returncode != 0:
        last = (probe.stderr.strip().splitlines() or ["unknown error"])[-1]
        return f"gst-rtsp-server is not importable under {python}: {last}"
    return None


def _clean_env() -> dict[str, str]:
    # The system interpreter must not see the virtual environment's packages.
    drop = {"PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV"}
    return {k: v for k, v in os.environ.items() if k not in drop}


class RtspServer:
    """gst-rtsp-server on 127.0.0.1 serving each ``.h264`` file in a loop at ``fps``.

    Args:
        mounts: mount name -> raw Annex-B H.264 file (e.g. from ``benchmarks.synth.write_clip``).
        port: TCP port; None picks a free one at the first start and keeps it for restarts.
        fps: frame rate at which every file is played.
        credentials: ``(user, password)`` to require basic authentication on every mount.
        ready_timeout_s: how long :meth:`start` waits for the server to listen.
    """

    def __init__(
        self,
        mounts: dict[str, Path],
        *,
        port: int | None = None,
        fps: float = 25.0,
        credentials: tuple[str, str] | None = None,
        ready_timeout_s: float = 20.0,
    ) -> None:
        if not mounts:
            raise ValueError("RtspServer needs at least one mount")
        for name, path in mounts.items():
            if not name or "/" in name.strip("/") or "=" in name:
                raise ValueError(f"bad mount name {name!r}")
            if Path(path).suffix.lower() not in (".h264", ".264"):
                raise ValueError(f"mount {name!r}: {path} is not a raw .h264 stream")
        self.mounts = {name.strip("/"): Path(path).resolve() for name, path in mounts.items()}
        self.fps = fps
        self.credentials = credentials
        self.ready_timeout_s = ready_timeout_s
        self._port = port
        self._proc: subprocess.Popen[str] | None = None
        self._log: IO[str] | None = None

    @property
    def port(self) -> int:
        if self._port is None:
            raise RtspServerError("the server has not been started yet")
        return self._port

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def url(self, mount: str, *, with_credentials: bool = True) -> str:
        """``rtsp://[user:pass@]127.0.0.1:PORT/mount``."""
        if mount not in self.mounts:
            raise KeyError(f"no mount {mount!r}; have {sorted(self.mounts)}")
        auth = ""
        if self.credentials is not None and with_credentials:
            user, password = self.credentials
            auth = f"{quote(user, safe='')}:{quote(password, safe='')}@"
        return f"rtsp://{auth}127.0.0.1:{self.port}/{mount}"

    def start(self) -> RtspServer:
        """Launch the server and wait until it accepts connections."""
        reason = unavailable_reason()
        if reason is not None:
            raise RtspServerError(reason)
        if self.running:
            return self
        cmd = [SYSTEM_PYTHON, str(SERVE_SCRIPT), "--port", str(self._port or 0)]
        cmd += ["--fps", repr(float(self.fps))]
        cmd += [arg for name, path in self.mounts.items() for arg in ("--mount", f"{name}={path}")]
        env = _clean_env()
        if self.credentials is not None:
            cmd += ["--user", self.credentials[0], "--password-env", PASSWORD_ENV]
            env[PASSWORD_ENV] = self.credentials[1]
        if self._log is not None:
            self._log.close()
        self._log = tempfile.TemporaryFile("w+", prefix="rtsp-serve-")  # noqa: SIM115
        self._proc = subprocess.Popen(
            cmd, stdout=subprocess.PIPE, stderr=self._log, text=True, env=env
        )
        self._port = self._wait_ready(self._proc)
        return self

    def _wait_ready(self, proc: subprocess.Popen[str]) -> int:
        if proc.stdout is None:  # cannot happen with stdout=PIPE; keeps the type checker honest
            raise RtspServerError("no stdout pipe to the server")
        deadline = time.monotonic() + self.ready_timeout_s
        while time.monotonic() < deadline:
            ready, _, _ = select.select([proc.stdout], [], [], 0.05)
            if ready:
                line = proc.stdout.readline()
                if line.startswith("READY "):
                    return int(line.split()[1])
                if not line:  # EOF: the process is gone
                    break
        self.stop()
        raise RtspServerError(f"RTSP server did not start: {self._stderr_tail()}")

    def _stderr_tail(self) -> str:
        if self._log is None:
            return "no output"
        self._log.seek(0)
        lines = self._log.read().strip().splitlines()
        return " | ".join(lines[-5:]) or "no output"

    def stop(self, timeout: float = 5.0) -> None:
        """Terminate the server (SIGTERM, then SIGKILL); clients see the connection close."""
        proc, self._proc = self._proc, None
        if proc is not None:
            if proc.poll() is None:
                proc.send_signal(signal.SIGCONT)  # a paused process cannot act on SIGTERM
                proc.terminate()
                try:
                    proc.wait(timeout)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(timeout)
            if proc.stdout is not None:
                proc.stdout.close()

    def pause(self) -> None:
        """Freeze the server (SIGSTOP): connections stay open but no data flows, like a hung
        camera. Clients' reads then time out."""
        if self._proc is not None:
            self._proc.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        """Undo :meth:`pause` (SIGCONT)."""
        if self._proc is not None:
            self._proc.send_signal(signal.SIGCONT)

    def restart(self) -> RtspServer:
        """Stop, then start again on the same port (clients can reconnect to the same URL)."""
        self.stop()
        return self.start()

    def __enter__(self) -> RtspServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
        if self._log is not None:
            self._log.close()
            self._log = None

    def __del__(self) -> None:
        # A server must never outlive its owner; __init__ may have failed before _proc existed.
        proc = getattr(self, "_proc", None)
        if proc is not None and proc.poll() is None:
            proc.kill()
