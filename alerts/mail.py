"""Alerts by e-mail: the webhook's signed JSON body, in a message any mail program shows.

The message has a summary (message, camera, class, times, bearing, location, the acknowledgement
and snapshot links) as plain text and as HTML with the snapshot shown inline, and the exact JSON
body as ``alert.json``. ``X-Emberwatch-Signature`` signs ``alert.json`` as it does a webhook
body, and the ``Message-ID`` is the idempotency key, so a re-sent copy can be recognised.
"""

from __future__ import annotations

import base64
import binascii
import html
import json
import smtplib
import ssl
from collections.abc import Mapping
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Any

from alerts.records import DueDelivery
from alerts.signing import SIGNATURE_HEADER, sign_body
from service.alert_config import SmtpConfig


class MailError(Exception):
    """The mail server refused the message or could not be reached (the text says which)."""


def build_message(due: DueDelivery, body: bytes, from_address: str) -> EmailMessage:
    """The e-mail for one delivery attempt of ``body`` (the rendered JSON payload)."""
    payload: dict[str, Any] = json.loads(body)
    msg = EmailMessage()
    msg["From"] = from_address
    msg["To"] = ", ".join(due.email_to)
    msg["Subject"] = subject(payload)
    msg["Date"] = formatdate(localtime=False)
    msg["Message-ID"] = f"<{due.idempotency_key}@emberwatch>"
    msg[SIGNATURE_HEADER] = sign_body(due.secret, body)
    msg["X-Emberwatch-Delivery"] = due.uid
    msg["X-Emberwatch-Event"] = str(due.event_id)
    msg.set_content(summary(payload))
    jpeg = _snapshot_jpeg(payload.get("snapshot"))
    cid = make_msgid(domain="emberwatch") if jpeg is not None else None
    msg.add_alternative(summary_html(payload, cid), subtype="html")
    html_part = msg.get_body(preferencelist=("html",))
    if jpeg is not None and cid is not None and isinstance(html_part, EmailMessage):
        name = f"event-{due.event_id}.jpg"
        html_part.add_related(jpeg, maintype="image", subtype="jpeg", cid=cid, filename=name)
    msg.add_attachment(body, maintype="application", subtype="json", filename="alert.json")
    return msg


def subject(payload: Mapping[str, Any]) -> str:
    event, camera = payload["event"], payload["camera"]
    again = payload["delivery"]["escalation"]
    prefix = f"[Emberwatch, not acknowledged: re-sent {again}x] " if again else "[Emberwatch] "
    return f"{prefix}{event['class']} at {camera['name']} (event {event['id']})"


def summary(payload: Mapping[str, Any]) -> str:
    """The plain-text part: what a duty officer reads first."""
    delivery = payload["delivery"]
    lines = [payload.get("message") or "", ""]
    lines += [f"{label}: {value}" for label, value in _fields(payload)]
    lines += ["", f"Acknowledge receipt: {delivery['ack_url']}", "", f"Alert {payload['alert_id']}"]
    return "\n".join(lines).lstrip("\n") + "\n"


def summary_html(payload: Mapping[str, Any], snapshot_cid: str | None) -> str:
    """The HTML part: the same summary, the snapshot (``cid:`` of the related image) above it."""
    esc = html.escape
    rows = "".join(
        f'<tr><th style="text-align:left;padding:2px 12px 2px 0">{esc(label)}</th>'
        f"<td>{esc(value)}</td></tr>"
        for label, value in _fields(payload)
    )
    image = (
        f'<p><img src="cid:{esc(snapshot_cid.strip("<>"))}" alt="snapshot" '
        'style="max-width:100%;height:auto"></p>'
        if snapshot_cid
        else ""
    )
    ack = esc(payload["delivery"]["ack_url"])
    return (
        '<!DOCTYPE html><html><body style="font-family:sans-serif">'
        f"<h2>{esc(subject(payload))}</h2>"
        f"<p>{esc(payload.get('message') or '')}</p>{image}<table>{rows}</table>"
        f'<p><a href="{ack}" style="font-weight:bold">Acknowledge receipt</a></p>'
        f'<p style="color:#666">Alert {esc(str(payload["alert_id"]))}</p></body></html>'
    )


def _fields(payload: Mapping[str, Any]) -> list[tuple[str, str]]:
    event, camera = payload["event"], payload["camera"]
    fields = [
        ("Class", f"{event['class']} (peak score {event['peak_score']})"),
        ("Camera", f"{camera['name']} ({camera['id']})"),
        ("Started", str(event["started_at"])),
        ("Confirmed by", f"{event['decided_by'] or '-'} at {event['decided_at'] or '-'}"),
    ]
    if payload.get("bearing_deg") is not None:
        fields.append(("Bearing from the camera", f"{payload['bearing_deg']} deg"))
    if location := payload.get("location"):
        fields.append(("Estimated location", f"{location['latitude']}, {location['longitude']}"))
    if snapshot := payload.get("snapshot"):
        fields.append(("Snapshot", f"{snapshot['url']} (until {snapshot['expires_at']})"))
    return fields


def _snapshot_jpeg(snapshot: Mapping[str, Any] | None) -> bytes | None:
    inline = (snapshot or {}).get("jpeg_base64")
    if not inline:
        return None
    try:
        return base64.b64decode(inline, validate=True)
    except (binascii.Error, ValueError):
        return None


def send(msg: EmailMessage, config: SmtpConfig, timeout_s: float) -> list[str]:
    """Hand ``msg`` to the mail server; return the recipients it refused while it accepted
    others (a retry would send the others a second copy). Raises MailError when nothing was
    accepted, saying what went wrong."""
    context = ssl.create_default_context()
    try:
        if config.security == "tls":
            client: smtplib.SMTP = smtplib.SMTP_SSL(
                config.host, config.port, timeout=timeout_s, context=context
            )
        else:
            client = smtplib.SMTP(config.host, config.port, timeout=timeout_s)
        with client:
            if config.security == "starttls":
                client.starttls(context=context)
            if config.username:
                client.login(config.username, config.password or "")
            refused = client.send_message(msg)
    except smtplib.SMTPException as exc:
        raise MailError(f"{type(exc).__name__}: {exc}") from exc
    except OSError as exc:
        raise MailError(f"{config.host}:{config.port}: {exc.strerror or exc}") from exc
    return sorted(refused)
