"""Acknowledging an alert with the department's link; no account needed (the token is the key).

Only a ``POST`` acknowledges. Mail and chat programs open links to preview or scan them, so a
``GET`` of the link shows a page with the alert and an "Acknowledge" button, whose form posts
back to the same URL; a form post is answered with a page, any other post with JSON.
"""

from __future__ import annotations

import html
import time

from fastapi import APIRouter, HTTPException, Request, Response, status
from fastapi.responses import HTMLResponse

from alerts.outbox import DeliveryNotFound
from alerts.records import DeliveryRecord
from api.deps import PublishDep
from api.schemas.common import responses, to_datetime
from api.schemas.publish import AckOut

ACKS_PATH = "/api/acks/{token}"
router = APIRouter(tags=["publishing"])

_NO_ALERT = responses({404: "No alert has this token."})
_FORM = "application/x-www-form-urlencoded"
_NO_STORE = {"Cache-Control": "no-store"}

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body style="font-family: sans-serif; margin: 3em">
<h1>{title}</h1>
<p>{text}</p>
{form}
</body></html>
"""
_BUTTON = """<form method="post">
<button type="submit" style="font-size: 1.3em; padding: .5em 1.5em">Acknowledge</button>
</form>"""


def _found(publish: PublishDep, token: str, *, acknowledge: bool) -> DeliveryRecord:
    try:
        if not acknowledge:
            return publish.outbox.by_ack_token(token)
        record = publish.outbox.acknowledge(token)
    except DeliveryNotFound as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from exc
    publish.sender.wake()
    return record


def _page(record: DeliveryRecord) -> HTMLResponse:
    department = html.escape(record.department_name)
    when = to_datetime(record.acknowledged_at)
    if when is None:
        title = "Acknowledge this alert?"
        text = f"Emberwatch alert for event {record.event_id}, sent to {department}."
        return HTMLResponse(_PAGE.format(title=title, text=text, form=_BUTTON), headers=_NO_STORE)
    text = (
        f"{department} acknowledged Emberwatch alert for event {record.event_id} "
        f"at {when:%Y-%m-%d %H:%M:%S} UTC."
    )
    page = _PAGE.format(title="Acknowledged", text=text, form="")
    return HTMLResponse(page, headers=_NO_STORE)


@router.post(
    ACKS_PATH,
    summary="Acknowledge an alert (the department's token from the payload)",
    response_model=AckOut,
    responses=_NO_ALERT
    | {200: {"content": {"text/html": {}}, "description": "JSON; a page for a form post."}},
)
def acknowledge(token: str, publish: PublishDep, request: Request) -> AckOut | HTMLResponse:
    """No account needed. Repeating it is harmless: the first time is kept. A form post (the
    button of the link's page) is answered with a page."""
    record = _found(publish, token, acknowledge=True)
    if request.headers.get("content-type", "").startswith(_FORM):
        return _page(record)
    return AckOut(
        delivery_id=record.uid,
        event_id=record.event_id,
        department=record.department_name,
        acknowledged_at=to_datetime(record.acknowledged_at) or to_datetime(time.time()),
    )


@router.get(
    ACKS_PATH,
    summary="The page an ack link opens: the alert and an Acknowledge button (changes nothing)",
    # Response, not HTMLResponse: that would document the JSON 404 as text/html.
    response_class=Response,
    responses=_NO_ALERT | {200: {"content": {"text/html": {}}, "description": "The page."}},
)
def acknowledge_page(token: str, publish: PublishDep) -> HTMLResponse:
    """Opening the link never acknowledges: link scanners of mail and chat programs open it."""
    return _page(_found(publish, token, acknowledge=False))
