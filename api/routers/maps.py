"""What the console's slippy map needs: where its tiles come from, how long a bearing ray is."""

from __future__ import annotations

from fastapi import APIRouter

from api.auth import AUTH_RESPONSES, RequireViewer
from api.deps import ConfigDep
from api.routers.console import STATIC_DIR
from api.schemas.maps import MapSettingsOut

router = APIRouter(prefix="/api/map", tags=["map"])

LEAFLET = STATIC_DIR / "vendor" / "leaflet" / "leaflet.js"


@router.get("/settings", summary="Settings of the console's slippy map", responses=AUTH_RESPONSES)
def map_settings(config: ConfigDep, _user: RequireViewer) -> MapSettingsOut:
    tiles = config.map
    return MapSettingsOut(
        tile_url=tiles.tile_url,
        attribution=tiles.attribution,
        max_zoom=tiles.max_zoom,
        ray_km=config.publish.location.max_distance_km,
        available=tiles.tile_url is not None and LEAFLET.is_file(),
    )
