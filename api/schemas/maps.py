"""What the console's slippy map needs: where its tiles come from, how long a bearing ray is."""

from __future__ import annotations

from pydantic import BaseModel, Field


class MapSettingsOut(BaseModel):
    tile_url: str | None = Field(description="Tile URL template; null: no slippy map.")
    attribution: str
    max_zoom: int
    ray_km: float = Field(description="Length of a bearing ray: the farthest fix considered.")
    available: bool = Field(
        description="True when tiles are configured and the map library was built in "
        "(otherwise the console shows the schematic /api/map.svg)."
    )
