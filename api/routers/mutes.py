"""Muted regions: what dismissals muted (viewers read), and lifting a mute (operators)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, status
from pydantic import AwareDatetime, BaseModel, Field

from api.auth import AUTH_RESPONSES, RequireOperator, require
from api.deps import StoreDep
from api.schemas.common import Box, RowId, responses, to_datetime
from store.mutes import MuteAlreadyLifted, MuteNotFound, MuteRecord
from store.roles import Role

MUTES_PATH = "/api/mutes"
router = APIRouter(
    prefix=MUTES_PATH,
    tags=["mutes"],
    dependencies=[Depends(require(Role.VIEWER))],
    responses=AUTH_RESPONSES,
)


class MuteOut(BaseModel):
    id: int
    camera_id: str
    cls: str = Field(description="The class muted in the region, e.g. smoke.")
    box: Box = Field(description="The muted region, x0, y0, x1, y1 in 0..1 of the frame.")
    level: float = Field(
        description="The dismissed event's peak smoothed score. Inside the region only evidence "
        "clearly above this level (which decays over hours) or spreading beyond the region "
        "alerts, as a new event linked to the dismissed one."
    )
    event_id: int = Field(description="The dismissed event that muted the region.")
    created_at: AwareDatetime = Field(description="When the event was dismissed.")
    created_by: str = Field(description="Who dismissed it.")
    fades_at: AwareDatetime | None = Field(
        description="When its decaying level stops mattering and it is no longer in force "
        "(null: never)."
    )
    lifted_at: AwareDatetime | None
    lifted_by: str | None

    @classmethod
    def of(cls, mute: MuteRecord, half_life_s: float | None) -> MuteOut:
        return cls(
            id=mute.id,
            camera_id=mute.camera_id,
            cls=mute.cls,
            box=mute.box,
            level=mute.level,
            event_id=mute.event_id,
            created_at=datetime.fromtimestamp(mute.created_at, tz=UTC),
            created_by=mute.created_by,
            fades_at=to_datetime(mute.fades_at(half_life_s)),
            lifted_at=to_datetime(mute.lifted_at),
            lifted_by=mute.lifted_by,
        )


@router.get("", summary="Muted regions in force, oldest first", responses=responses({}))
def list_mutes(
    store: StoreDep,
    camera: Annotated[str | None, Query(description="Only this camera's.")] = None,
) -> list[MuteOut]:
    """Regions muted by dismissing an event, neither lifted nor faded since, with who muted them
    and when."""
    return [MuteOut.of(mute, store.mute_half_life_s) for mute in store.mutes(camera)]


@router.post(
    "/{mute_id}/lift",
    summary="Lift a muted region (operator)",
    responses=responses(
        {
            403: "The caller is not an operator, or a console request lacks its CSRF token.",
            404: "No such mute.",
            409: "Already lifted.",
        }
    ),
)
def lift_mute(mute_id: RowId, store: StoreDep, user: RequireOperator) -> MuteOut:
    """The region alerts at the camera's ordinary threshold again, from its next frame. Any
    operator may lift any mute; who lifted it is recorded."""
    try:
        return MuteOut.of(store.lift_mute(mute_id, user.name), store.mute_half_life_s)
    except MuteNotFound as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from exc
    except MuteAlreadyLifted as exc:
        when = exc.mute.lifted_at
        at = f" at {datetime.fromtimestamp(when, tz=UTC):%Y-%m-%dT%H:%M:%SZ}" if when else ""
        raise HTTPException(status.HTTP_409_CONFLICT, f"{exc}{at}") from exc
