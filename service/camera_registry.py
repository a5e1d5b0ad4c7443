"""The cameras the service runs: the YAML cameras with the changes made through the API.

The YAML file stays the operator's declaration; what the API changed since is stored in the
``runtime_cameras`` table (:mod:`store.cameras`). :meth:`CameraRegistry.load` applies the stored
changes to the YAML cameras at start, so changes survive restarts.

Definitions are stored as the client sent them (:class:`CameraIn`). ``${VAR}`` references are
expanded only in the operator's YAML file, never in a definition sent through the API: otherwise
an admin could read any variable of the server's environment (another camera's password) back
through the camera's URL, which every viewer sees. A URL sent with ``${`` is refused (422).
Masks of a YAML camera are stored on their own: rewriting its whole definition would store its
expanded URL.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError, field_validator
from sqlalchemy import Engine

from store.cameras import CameraChange, CameraChanges, Masks
from streams.config import CameraConfig
from streams.validation import describe

if TYPE_CHECKING:
    from service.pipeline_types import PipelineLike

log = logging.getLogger(__name__)


ENV_REFERENCE_REFUSED = (
    "${...} is expanded only in the configuration file, not in URLs sent through the API; "
    "write the URL out (a literal '$' as %24)"
)


class CameraIn(CameraConfig):
    """A camera definition as a client sends it: :class:`CameraConfig` without env expansion."""

    @field_validator("url")
    @classmethod
    def _expand(cls, value: str) -> str:  # overrides CameraConfig's: never read the environment
        if "${" in value:
            raise ValueError(ENV_REFERENCE_REFUSED)
        return value

    @field_validator("model_dir")
    @classmethod
    def _no_model_dir(cls, value: Path | None) -> Path | None:
        # A client must not make the service load files of its choice as a model.
        if value is not None:
            raise ValueError("a camera's own model is set in the configuration file only")
        return value

    def to_config(self) -> CameraConfig:
        """The camera to run (the URL as sent: it holds no ``${VAR}``, see :meth:`_expand`)."""
        return CameraConfig.model_validate(self.model_dump())

    def stored(self) -> dict[str, Any]:
        """JSON to persist: only fields that differ from the defaults, so defaults can evolve."""
        return self.model_dump(mode="json", exclude_defaults=True)


class CameraExists(Exception):
    def __init__(self, camera_id: str) -> None:
        super().__init__(f"camera {camera_id!r} already exists")


class CameraNotFound(LookupError):
    def __init__(self, camera_id: str) -> None:
        super().__init__(f"camera {camera_id!r} is not configured")


def _from_definition(camera_id: str, definition: Mapping[str, Any]) -> CameraConfig | None:
    try:
        return CameraIn.model_validate(definition).to_config()
    except ValidationError as exc:
        # The messages are the validators' own and never quote the value (it may hold a
        # password); a definition stored with ${VAR} before they were refused lands here too.
        problems = "; ".join(describe(exc.errors(), definition))
        log.error("camera %s: stored definition is invalid (%s); not started", camera_id, problems)
        return None


class CameraRegistry:
    """The cameras the service runs (YAML + runtime changes): the one list, and its persistence.

    ``AppConfig.cameras`` is only the operator's declaration, read by :meth:`load`; the
    pipeline keeps each camera's running state, not a list of its own to keep in step. Writes
    go through :meth:`create`, :meth:`replace`, :meth:`delete` and :meth:`set_masks`, which
    persist the change, apply it to the pipeline given to :meth:`run_on` and tell ``on_change``,
    all under one lock so concurrent requests cannot interleave.
    """

    def __init__(self, engine: Engine) -> None:
        self._stored = CameraChanges(engine)
        self._lock = threading.Lock()
        self._yaml: dict[str, CameraConfig] = {}
        self._current: dict[str, CameraConfig] = {}
        self._pipeline: PipelineLike | None = None
        self._on_change: Callable[[CameraConfig], None] = lambda camera: None

    def run_on(
        self, pipeline: PipelineLike, on_change: Callable[[CameraConfig], None] | None = None
    ) -> None:
        """Apply every later change to ``pipeline`` (built from :meth:`load`'s cameras), and
        call ``on_change`` with each camera added or replaced (e.g. its display name)."""
        with self._lock:
            self._pipeline = pipeline
            if on_change is not None:
                self._on_change = on_change

    def _running(self) -> PipelineLike:
        if self._pipeline is None:
            raise RuntimeError("the camera registry runs on no pipeline yet (run_on)")
        return self._pipeline

    def load(self, yaml_cameras: Sequence[CameraConfig]) -> list[CameraConfig]:
        """The cameras to run: ``yaml_cameras`` with the stored changes applied, YAML first."""
        rows = {change.camera_id: change for change in self._stored.all()}
        out: list[CameraConfig] = []
        for cam in yaml_cameras:
            row = rows.pop(cam.id, None)
            merged = cam if row is None else self._merge(cam, row)
            if merged is not None:
                out.append(merged)
        for row in rows.values():
            if not row.deleted and row.definition is not None:
                added = _from_definition(row.camera_id, row.definition)
                if added is not None:
                    out.append(added)
        with self._lock:
            self._yaml = {cam.id: cam for cam in yaml_cameras}
            self._current = {cam.id: cam for cam in out}
        return out

    @staticmethod
    def _merge(cam: CameraConfig, row: CameraChange) -> CameraConfig | None:
        if row.deleted:
            return None
        if row.definition is not None:
            return _from_definition(row.camera_id, row.definition)
        if row.masks is not None:
            return cam.model_copy(update={"masks": row.masks})
        return cam

    def cameras(self) -> list[CameraConfig]:
        with self._lock:
            return list(self._current.values())

    def get(self, camera_id: str) -> CameraConfig | None:
        with self._lock:
            return self._current.get(camera_id)

    def create(self, camera: CameraIn) -> CameraConfig:
        """Add a camera. Raises CameraExists."""
        with self._lock:
            if camera.id in self._current:
                raise CameraExists(camera.id)
            return self._put(camera)

    def replace(self, camera: CameraIn) -> CameraConfig:
        """Replace a camera's whole definition. Raises CameraNotFound."""
        with self._lock:
            if camera.id not in self._current:
                raise CameraNotFound(camera.id)
            return self._put(camera)

    def _put(self, camera: CameraIn) -> CameraConfig:
        config = camera.to_config()
        pipeline = self._running()
        self._stored.save(camera.id, definition=camera.stored())
        self._current[camera.id] = config
        pipeline.add_camera(config)
        self._on_change(config)
        return config

    def delete(self, camera_id: str) -> None:
        """Remove a camera; a YAML camera is remembered as deleted. Raises CameraNotFound."""
        with self._lock:
            if camera_id not in self._current:
                raise CameraNotFound(camera_id)
            pipeline = self._running()
            if camera_id in self._yaml:
                self._stored.save(camera_id, deleted=True)
            else:
                self._stored.forget(camera_id)
            del self._current[camera_id]
            pipeline.remove_camera(camera_id)

    def set_masks(self, camera_id: str, masks: Masks) -> CameraConfig:
        """Replace a camera's masks (normalised polygons). Raises CameraNotFound."""
        with self._lock:
            current = self._current.get(camera_id)
            if current is None:
                raise CameraNotFound(camera_id)
            pipeline = self._running()
            row = self._stored.get(camera_id)
            if row is not None and row.definition is not None:
                definition = {**row.definition, "masks": masks}
                self._stored.save(
                    camera_id, definition=CameraIn.model_validate(definition).stored()
                )
            else:
                self._stored.save(camera_id, masks=masks)
            updated = current.model_copy(update={"masks": masks})
            self._current[camera_id] = updated
            pipeline.set_masks(camera_id, masks)
        return updated


def display_names(cameras: Iterable[CameraConfig]) -> dict[str, str]:
    return {cam.id: cam.display_name for cam in cameras}
