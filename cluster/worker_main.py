"""Running a worker process: signals, the metrics endpoint, the loop."""

from __future__ import annotations

import asyncio
import logging
import signal

from prometheus_client import start_http_server

from cluster.settings import ClusterSettings
from cluster.worker import Worker
from service.config import AppConfig
from service.metrics import Metrics

log = logging.getLogger(__name__)


async def _serve(worker: Worker) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await worker.run(stop)


def run_worker(
    settings: ClusterSettings, config: AppConfig, metrics_address: tuple[str, int] | None
) -> None:
    """Run until SIGTERM or Ctrl+C; serve /metrics on ``metrics_address`` when given."""
    metrics = Metrics()
    worker = Worker(settings, config, metrics)
    if metrics_address is not None:
        host, port = metrics_address
        start_http_server(port, addr=host, registry=metrics.registry)
        log.info("worker %s: metrics on http://%s:%d/metrics", settings.name, host, port)
    asyncio.run(_serve(worker))
    log.info("worker %s stopped", settings.name)
