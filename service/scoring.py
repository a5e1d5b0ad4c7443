"""The models of a running service and their schedulers, one of each per model directory.

Most services run one model. A camera may name its own (``model_dir`` in its configuration):
in demo mode the synthetic camera is scored by the demo colour rule while real cameras, added
in the file or through the API, are scored by the configured or shipped model, side by side.
Cameras of one model share its batches; a model is loaded when the first camera needs it.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from detector.model import OnnxModel
from detector.scheduler import Scheduler

log = logging.getLogger(__name__)

LoadModel = Callable[[Path], OnnxModel]
# Builds the scheduler of a model: its cameras are those whose model directory is the key.
MakeScheduler = Callable[[OnnxModel, Path], Scheduler]


@dataclass(frozen=True, slots=True)
class ScoringGroup:
    """One model and the scheduler that batches its cameras' frames."""

    key: Path
    model: OnnxModel
    scheduler: Scheduler


def model_key(model_dir: Path) -> Path:
    """The same directory however it is written (relative, with ``..``)."""
    return model_dir.resolve()


class ScoringGroups:
    """The scoring groups, created on first use and started with the pipeline."""

    def __init__(self, load: LoadModel, make_scheduler: MakeScheduler) -> None:
        self._load = load
        self._make_scheduler = make_scheduler
        self._lock = threading.Lock()
        self._groups: dict[Path, ScoringGroup] = {}
        self._running = False

    def add_loaded(self, model_dir: Path, model: OnnxModel) -> ScoringGroup:
        """Use ``model``, already loaded, for ``model_dir``."""
        with self._lock:
            return self._add(model_key(model_dir), model)

    def get(self, model_dir: Path) -> ScoringGroup:
        """The group of ``model_dir``, loading the model first if no camera used it yet.

        Raises:
            ModelError: the model directory is missing or invalid.
        """
        key = model_key(model_dir)
        with self._lock:
            group = self._groups.get(key)
            if group is None:
                group = self._add(key, self._load(model_dir))
                log.info("model %s loaded from %s", group.model.spec.name, model_dir)
            return group

    def _add(self, key: Path, model: OnnxModel) -> ScoringGroup:
        group = ScoringGroup(key, model, self._make_scheduler(model, key))
        self._groups[key] = group
        if self._running:
            group.scheduler.start()
        return group

    def all(self) -> list[ScoringGroup]:
        with self._lock:
            return list(self._groups.values())

    def start(self) -> None:
        with self._lock:
            self._running = True
            groups = list(self._groups.values())
        for group in groups:
            group.scheduler.start()

    def stop(self) -> None:
        with self._lock:
            self._running = False
            groups = list(self._groups.values())
        for group in groups:
            group.scheduler.stop()
