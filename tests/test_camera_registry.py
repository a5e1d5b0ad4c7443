"""The camera registry is the one list of cameras: it persists each change, applies it to the
pipeline it runs on and tells who must know (the event store's display names)."""

from __future__ import annotations

from pathlib import Path

import pytest

from service.camera_registry import CameraExists, CameraIn, CameraNotFound, CameraRegistry
from store.db import init_db, make_engine
from streams.config import CameraConfig
from tests.fixtures.app import FakePipeline


def _camera(camera_id: str, name: str = "") -> CameraIn:
    return CameraIn(id=camera_id, name=name, url=f"rtsp://127.0.0.1:8554/{camera_id}")


@pytest.fixture
def registry(tmp_path: Path) -> CameraRegistry:
    engine = make_engine(f"sqlite:///{tmp_path / 'cams.db'}")
    init_db(engine)
    return CameraRegistry(engine)


def test_changes_reach_the_pipeline_and_the_listener_through_the_registry_alone(
    registry: CameraRegistry,
) -> None:
    yaml_cams = [CameraConfig(id="ridge", url="rtsp://127.0.0.1:8554/ridge")]
    pipeline = FakePipeline(registry.load(yaml_cams))
    changed: list[str] = []
    registry.run_on(pipeline, lambda cam: changed.append(cam.display_name))

    registry.create(_camera("valley", "Valley"))
    registry.replace(_camera("ridge", "Ridge 2"))
    registry.set_masks("valley", [[(0.0, 0.0), (0.5, 0.0), (0.5, 0.5)]])
    registry.delete("ridge")

    assert [cam.id for cam in registry.cameras()] == ["valley"]
    assert sorted(pipeline.configs) == ["valley"]
    assert pipeline.configs["valley"].masks == registry.cameras()[0].masks
    assert changed == ["Valley", "Ridge 2"]
    with pytest.raises(CameraExists):
        registry.create(_camera("valley"))
    with pytest.raises(CameraNotFound):
        registry.delete("ridge")


def test_a_change_before_the_pipeline_runs_is_refused_and_not_stored(
    registry: CameraRegistry,
) -> None:
    registry.load([])
    with pytest.raises(RuntimeError, match="no pipeline"):
        registry.create(_camera("valley"))
    assert registry.load([]) == []  # nothing was persisted
