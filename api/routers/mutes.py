"""Muted regions: what dismissals muted (viewers read), and lifting a mute (operators)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, status

from api.auth import AUTH_RESPONSES, RequireOperator, require
from api.deps import StoreDep
from api.schemas.common import RowId, responses
from api.schemas.mutes import MuteOut
from store.mutes import MuteAlreadyLifted, MuteNotFound
from store.roles import Role

MUTES_PATH = "/api/mutes"
router = APIRouter(
    prefix=MUTES_PATH,
    tags=["mutes"],
    dependencies=[Depends(require(Role.VIEWER))],
    responses=AUTH_RESPONSES,
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
