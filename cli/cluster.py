"""``emberwatch worker`` and the ``--bus`` side of ``serve`` (docs/scale-out.md).

The cluster package (and the NATS client) is imported only here, only when asked for: the
single-node service never loads it.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from pydantic import ValidationError

from cli.support import ConfigOpt, load_or_exit, setup_logging

if TYPE_CHECKING:
    from api.app import PipelineFactory
    from cluster.settings import ClusterSettings

log = logging.getLogger("emberwatch")

BusOpt = Annotated[str, typer.Option(help="NATS server URL, nats://HOST:PORT.")]
NameOpt = Annotated[
    str | None, typer.Option(help="This node's name in the cluster (default: the host name).")
]
LeaseOpt = Annotated[
    float, typer.Option(help="Seconds a camera lease lives without renewal (hand-over bound).")
]


def cluster_settings(
    bus: str, name: str | None, lease_ttl: float, **extra: float
) -> ClusterSettings:
    """Validated settings, or the error on stderr and exit status 2."""
    try:
        from cluster.settings import ClusterSettings
    except ImportError as exc:  # the cluster extra is not installed
        typer.echo(f"error: --bus needs the cluster extra (pip install 'emberwatch[cluster]'): "
                   f"{exc.name} is missing", err=True)  # fmt: skip
        raise typer.Exit(2) from exc
    values: dict[str, object] = {"bus": bus, "lease_ttl_s": lease_ttl, **extra}
    if name is not None:
        values["name"] = name
    try:
        return ClusterSettings.model_validate(values)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        typer.echo(f"error: {problems}", err=True)
        raise typer.Exit(2) from exc


def bus_pipeline(settings: ClusterSettings) -> PipelineFactory:
    """The API's pipeline on the bus: cameras on workers, events from the stream."""
    from cluster.remote import ClusterPipeline

    return lambda config, store, metrics: ClusterPipeline(settings, config.cameras, store, metrics)


def worker(
    bus: BusOpt,
    config: ConfigOpt = None,
    name: NameOpt = None,
    data_dir: Annotated[
        Path | None,
        typer.Option(help="Demo footage and model files.", envvar="EMBERWATCH_DATA_DIR"),
    ] = None,
    capacity: Annotated[
        float, typer.Option(help="Relative share of cameras (a GPU worker declares more).")
    ] = 1.0,
    lease_ttl: LeaseOpt = 10.0,
    metrics_port: Annotated[
        int | None, typer.Option(help="Serve /metrics on this port (default: not served).")
    ] = None,
    metrics_host: Annotated[str, typer.Option(help="Listen address of /metrics.")] = "127.0.0.1",
    log_level: Annotated[str, typer.Option(help="DEBUG, INFO, WARNING or ERROR.")] = "INFO",
) -> None:
    """Analyse a share of the cameras on the bus: streams, detector, smoothing, snapshots.

    Needs no database: transitions and snapshot frames go to the bus, where an API replica
    (serve --bus) records them. Cameras come from the API; the configuration file gives the
    detector, stream and smoothing settings.
    """
    from cluster.worker_main import run_worker

    setup_logging(log_level)
    cfg = load_or_exit(config, data_dir=data_dir)
    settings = cluster_settings(bus, name, lease_ttl, capacity=capacity)
    address = (metrics_host, metrics_port) if metrics_port is not None else None
    run_worker(settings, cfg, address)
