"""What the API shows of cameras on workers, and what a single node never loads."""

from __future__ import annotations

import subprocess
import sys

from typer.testing import CliRunner

from cli.main import app
from cluster.leases import Lease
from cluster.remote import BusView, camera_views
from cluster.state import decode_cameras, decode_mutes, encode_camera, encode_mutes
from cluster.status import CameraStatus
from detector.types import Mute
from streams.config import CameraConfig
from streams.state import StreamState

RIDGE = CameraConfig(id="ridge", url="rtsp://user:pw@10.0.0.5/stream")
VALLEY = CameraConfig(id="valley", url="rtsp://10.0.0.6/stream")
OFF = CameraConfig(id="off", url="rtsp://10.0.0.7/stream", enabled=False)


def _status(holder: str) -> CameraStatus:
    return CameraStatus(holder=holder, since=100.0, state=StreamState.STREAMING,
                        url="rtsp://***@10.0.0.5/stream", analysed=7)  # fmt: skip


def test_a_camera_shows_its_worker_or_that_it_is_in_hand_over() -> None:
    view = BusView(
        cameras={c.id: c for c in (RIDGE, VALLEY, OFF)},
        leases={
            "ridge": Lease("ridge", "w1", "i1", 100.0),
            "valley": Lease("valley", "w2", "i2", 5.0),
        },
        status={"ridge": _status("w1"), "valley": _status("w3")},  # valley: a stale holder's
    )
    got = {v.config.id: v for v in camera_views(view)}
    ridge, valley, off = got["ridge"], got["valley"], got["off"]
    assert (ridge.holder, ridge.held_since, ridge.handover, ridge.analysed) == (
        "w1",
        100.0,
        False,
        7,
    )
    assert ridge.stats.state is StreamState.STREAMING
    assert (valley.holder, valley.handover) == ("w2", True)
    assert valley.stats.state is StreamState.CONNECTING and valley.analysed == 0
    assert off.stats.state is StreamState.STOPPED and not off.handover
    assert "pw" not in ridge.stats.url + valley.stats.url


def test_a_bad_bus_address_is_named() -> None:
    result = CliRunner().invoke(app, ["worker", "--bus", "http://127.0.0.1:4222"])
    assert result.exit_code == 2
    assert "bus: Value error, must be nats://HOST:PORT" in result.output


def test_the_single_node_service_never_loads_the_cluster_code() -> None:
    loaded = "sorted(m for m in sys.modules if m.split('.')[0] in ('cluster', 'nats'))"
    probe = f"import sys, cli.main, api.app; print({loaded})"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_muted_regions_and_cameras_travel_as_written_and_bad_entries_are_skipped() -> None:
    mutes = (Mute(event_id=7, cls="smoke", box=(0.1, 0.2, 0.3, 0.4), level=0.6, since=100.0),)
    raw = {"ridge": encode_mutes(mutes), "bad": b"[{]"}
    assert decode_mutes(raw) == {"ridge": mutes}
    cams = decode_cameras({"ridge": encode_camera(RIDGE), "bad": b'{"id": "x"}'})
    assert cams == {"ridge": RIDGE}
