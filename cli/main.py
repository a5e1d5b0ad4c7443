"""The ``emberwatch`` command line: serve, validate-config, bench."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from cli.bench import bench_app
from cli.cluster import LeaseOpt, NameOpt, bus_pipeline, cluster_settings, worker
from cli.export import export_dataset
from cli.support import ConfigOpt, database, load_or_exit, setup_logging
from cli.users import users_app
from detector.config import DEMO_MODEL
from detector.modelspec import ModelError, load_spec
from service.config import AppConfig
from streams.config import CameraConfig
from streams.redact import redact_url

if TYPE_CHECKING:
    from benchmarks.synth import SynthSpec

# Help as plain text: rich's option tables cut option names and descriptions short at 80
# columns, plain help wraps them. Commands have a short_help where the first sentence of their
# help would be cut in the list of commands.
app = typer.Typer(
    help="Emberwatch: wildfire smoke and flame detection on camera streams.",
    rich_markup_mode=None,
)
app.add_typer(bench_app, name="bench", short_help="Benchmark models and throughput.")
app.add_typer(users_app, name="users")
app.command("export-dataset", short_help="Decided events as a training data set.")(export_dataset)
app.command("worker", short_help="Analyse a share of the cameras on a NATS bus.")(worker)
log = logging.getLogger("emberwatch")

# The demo camera: a synthetic hillside where a plume rises 20 s into a 3-minute loop and is
# gone 70 s later. The 110 s without it outlast what closing the event takes with the default
# smoothing (the average decaying below the close threshold, then quiet_s and two frame
# intervals), so a first look sees an event open and close on every loop.
DEMO_CLIP = "demo/plume-demo-v2.mp4"  # a new name whenever the footage changes
DEMO_SECONDS = 180.0
DEMO_PLUME_START_S = 20.0
DEMO_PLUME_END_S = 90.0
DEMO_INTERVAL_S = 2.0


def _has_runtime_cameras(config: AppConfig) -> bool:
    """True when cameras were added through the API (stored in the database)."""
    from service.camera_registry import CameraRegistry

    with database(config) as engine:
        return bool(CameraRegistry(engine).load([]))


def demo_spec() -> SynthSpec:
    """The demo camera's footage."""
    from benchmarks.synth import SynthSpec

    return SynthSpec(
        seconds=DEMO_SECONDS, plume_start_s=DEMO_PLUME_START_S, plume_end_s=DEMO_PLUME_END_S
    )


def with_demo_camera(config: AppConfig) -> AppConfig:
    """Watch the synthetic demo camera when no camera is configured anywhere.

    The demo footage is synthetic, so unless a model is configured the demo camera has its own
    model, the colour rule ``models/demo-plume`` that knows the synthetic plume; cameras added
    through the API while it runs use the configured or shipped model, side by side with it.
    """
    if config.cameras or _has_runtime_cameras(config):
        return config
    from benchmarks.synth import write_clip

    clip = config.data_dir / DEMO_CLIP
    if not clip.exists():
        clip.parent.mkdir(parents=True, exist_ok=True)
        log.info("writing the demo clip %s", clip)
        write_clip(clip, demo_spec())
    demo = CameraConfig(
        id="demo",
        name="Demo hillside (synthetic)",
        url=str(clip),
        loop=True,
        interval_s=DEMO_INTERVAL_S,
        model_dir=DEMO_MODEL if config.detector.model_dir is None else None,
    )
    log.warning(
        "no camera configured: demo mode, watching a synthetic hillside scored by %s "
        "(add cameras to the config or through the API to watch real ones)",
        demo.model_dir or config.model_dir,
    )
    return config.model_copy(update={"cameras": [demo]})


@app.command()
def serve(
    config: ConfigOpt = None,
    host: Annotated[str | None, typer.Option(help="Listen address.")] = None,
    port: Annotated[int | None, typer.Option(help="Listen port.")] = None,
    data_dir: Annotated[
        Path | None,
        typer.Option(help="Database, snapshots, demo footage.", envvar="EMBERWATCH_DATA_DIR"),
    ] = None,
    log_level: Annotated[str, typer.Option(help="DEBUG, INFO, WARNING or ERROR.")] = "INFO",
    bus: Annotated[
        str | None,
        typer.Option(help="NATS server URL: cameras run on workers (docs/scale-out.md)."),
    ] = None,
    database: Annotated[
        str | None, typer.Option(help="SQLAlchemy database URL (storage.database_url).")
    ] = None,
    name: NameOpt = None,
    lease_ttl: LeaseOpt = 10.0,
) -> None:
    """Run the service: cameras, detector, API and console.

    With --bus the cameras are analysed by workers (emberwatch worker) and this process
    records their events; several such replicas may share one PostgreSQL database.
    """
    import uvicorn

    from api.app import create_app

    setup_logging(log_level)
    cfg = load_or_exit(config, data_dir=data_dir)
    if database is not None:
        storage = cfg.storage.model_copy(update={"database_url": database})
        cfg = cfg.model_copy(update={"storage": storage})
    settings = cluster_settings(bus, name, lease_ttl) if bus is not None else None
    server = cfg.server.model_copy(
        update={k: v for k, v in {"host": host, "port": port}.items() if v is not None}
    )
    cfg = with_demo_camera(cfg.model_copy(update={"server": server}))
    try:  # fail here with one line, not inside the server's startup
        for model_dir in {cfg.model_dir, *(c.model_dir for c in cfg.cameras if c.model_dir)}:
            load_spec(model_dir)
    except ModelError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    for cam in cfg.cameras:
        log.info("camera %s: %s", cam.id, redact_url(cam.url))
    log.info("serving on http://%s:%d", server.host, server.port)
    # A console keeps its live feed open: stop waiting for it after 5 s on Ctrl+C or SIGTERM.
    app = (
        create_app(cfg)
        if settings is None
        else create_app(cfg, pipeline_factory=bus_pipeline(settings), close_stale=False)
    )
    uvicorn.run(
        app,
        host=server.host,
        port=server.port,
        log_config=None,
        timeout_graceful_shutdown=5,
        # uvicorn would believe X-Forwarded-For from 127.0.0.1; the app itself believes it only
        # from server.forwarded_allow_ips (create_app).
        proxy_headers=False,
    )


@app.command("validate-config", short_help="Check a configuration file.")
def validate_config(
    path: Annotated[Path, typer.Argument(help="YAML configuration file to check.")],
) -> None:
    """Check a configuration file: print what is wrong, or that it is fine."""
    cfg = load_or_exit(path)
    problems = []
    if not (cfg.model_dir / "model.yaml").is_file():
        problems.append(f"detector.model_dir: {cfg.model_dir} has no model.yaml")
    for cam in cfg.cameras:
        if cam.model_dir and not (cam.model_dir / "model.yaml").is_file():
            problems.append(f"cameras.{cam.id}.model_dir: {cam.model_dir} has no model.yaml")
        if "://" not in cam.url and not Path(cam.url).is_file():
            problems.append(f"cameras.{cam.id}.url: file {cam.url} does not exist")
    if problems:
        typer.echo(f"error: {path} is invalid:\n" + "\n".join(f"  {p}" for p in problems), err=True)
        raise typer.Exit(2)
    typer.echo(f"{path} is valid: {len(cfg.cameras)} camera(s), model {cfg.model_dir.name}")


def main() -> None:
    app()
