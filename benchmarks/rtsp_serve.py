"""RTSP test server: serve looping H.264 Annex-B files on loopback with gst-rtsp-server.

Runs under the system interpreter that has GObject introspection (Debian's ``/usr/bin/python3``
with ``gir1.2-gst-rtsp-server-1.0``), not the project's virtual environment, so it imports
nothing from the project. :class:`benchmarks.rtsp.RtspServer` starts it as a subprocess::

    /usr/bin/python3 benchmarks/rtsp_serve.py --port 0 --fps 10 --mount smoke=smoke.h264

It prints ``READY <port>`` on stdout once it accepts connections, then runs until SIGTERM or
SIGINT. With ``--user NAME`` every mount requires HTTP basic authentication; the password is
read from the environment variable named by ``--password-env`` so it never shows in ``ps``.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
from typing import Any

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstRtspServer  # noqa: E402

# A raw Annex-B file carries no timestamps. h264parse splits it into access units; a probe on
# its source pad stamps each one at 1/fps so the sinks pace the stream in real time (without
# this the stream runs at the wrong rate and clients take seconds to open it).
LAUNCH = (
    "( multifilesrc location={location} loop=true "
    "! h264parse config-interval=-1 name=parse ! video/x-h264,alignment=au "
    "! rtph264pay name=pay0 pt=96 config-interval=-1 )"
)
ROLE = "viewer"


def _quote(path: str) -> str:
    return '"' + path.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _stamp_probe(frame_ns: int) -> Any:
    """A probe that gives every access unit pts = dts = n * frame_ns.

    The server prerolls the pipeline, then seeks to the start when a client plays; the seek's
    flush restarts the file, so it restarts the count too (else the first frame would carry
    the time of the prerolled ones and the client would wait that long for it).
    """
    count = [0]

    def probe(_pad: Any, info: Any) -> Any:
        if info.type & Gst.PadProbeType.BUFFER:
            buf = info.get_buffer()
            buf.pts = buf.dts = count[0] * frame_ns
            buf.duration = frame_ns
            count[0] += 1
        elif info.get_event().type == Gst.EventType.FLUSH_STOP:
            count[0] = 0
        return Gst.PadProbeReturn.OK

    return probe


def _on_media_configure(frame_ns: int) -> Any:
    def configure(_factory: Any, media: Any) -> None:
        parse = media.get_element().get_by_name("parse")
        pad = parse.get_static_pad("src")
        pad.add_probe(
            Gst.PadProbeType.BUFFER | Gst.PadProbeType.EVENT_FLUSH, _stamp_probe(frame_ns)
        )

    return configure


def _factory(location: str, frame_ns: int, auth: bool) -> Any:
    factory = GstRtspServer.RTSPMediaFactory()
    factory.set_launch(LAUNCH.format(location=_quote(location)))
    # One pipeline per mount, shared by every client: N readers cost one file reader.
    factory.set_shared(True)
    factory.connect("media-configure", _on_media_configure(frame_ns))
    if auth:
        permissions = GstRtspServer.RTSPPermissions()
        permissions.add_permission_for_role(ROLE, "media.factory.access", True)
        permissions.add_permission_for_role(ROLE, "media.factory.construct", True)
        factory.set_permissions(permissions)
    return factory


def _auth(user: str, password: str) -> Any:
    auth = GstRtspServer.RTSPAuth()
    token = GstRtspServer.RTSPToken()
    token.set_string("media.factory.role", ROLE)
    auth.add_basic(GstRtspServer.RTSPAuth.make_basic(user, password), token)
    return auth


def _parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Serve looping .h264 files over RTSP (loopback).")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--fps", type=float, default=25.0, help="frame rate to stamp")
    parser.add_argument("--mount", action="append", default=[], help="NAME=FILE.h264, repeatable")
    parser.add_argument("--user", default=None, help="require basic auth with this user name")
    parser.add_argument("--password-env", default="RTSP_TEST_PASSWORD")
    args = parser.parse_args(argv)
    if not args.mount:
        parser.error("at least one --mount NAME=FILE is required")
    return args


def main(argv: list[str] | None = None) -> int:
    args = _parse(sys.argv[1:] if argv is None else argv)
    Gst.init(None)
    server = GstRtspServer.RTSPServer()
    server.set_address("127.0.0.1")
    server.set_service(str(args.port))
    if args.user is not None:
        server.set_auth(_auth(args.user, os.environ.get(args.password_env, "")))
    frame_ns = round(Gst.SECOND / args.fps)
    mounts = server.get_mount_points()
    for spec in args.mount:
        name, sep, location = spec.partition("=")
        if not sep or not os.path.isfile(location):
            print(f"bad mount {spec!r}: expected NAME=FILE with an existing file", file=sys.stderr)
            return 2
        mounts.add_factory(
            "/" + name.strip("/"), _factory(location, frame_ns, args.user is not None)
        )
    if server.attach(None) == 0:
        print(f"cannot listen on 127.0.0.1:{args.port}", file=sys.stderr)
        return 1
    loop = GLib.MainLoop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, sig, loop.quit)
    print(f"READY {server.get_bound_port()}", flush=True)
    loop.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
