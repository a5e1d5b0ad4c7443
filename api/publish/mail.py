"""Alerts by e-mail: the webhook's signed JSON body, in a message any mail program shows.

The message has a plain-text summary (message, camera, class, times, bearing, location, the
acknowledgement and snapshot links), the exact JSON body as ``alert.json`` and the snapshot as a
JPEG attachment. ``X-Emberwatch-Signature`` signs ``alert.json`` as it does a webhook body, and
the ``Message-ID`` is the idempotency key, so a re-sent copy can be recognised.
"""

from __future__ import annotations

import base64
import binascii
import json
import smtplib
import ssl
from collections.abc import Mapping
from email.message import EmailMessage
from email.utils import formatdate
from typing import Any

from api.publish.records import DueDelivery
from api.publish.settings import SmtpConfig
from api.publish.signing import SIGNATURE_HEADER, sign_body


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
    msg.add_attachment(body, maintype="application", subtype="json", filename="alert.json")
    jpeg = _snapshot_jpeg(payload.get("snapshot"))
    if jpeg is not None:
        name = f"event-{due.event_id}.jpg"
        msg.add_attachment(jpeg, maintype="image", subtype="jpeg", filename=name)
    return msg


def subject(payload: Mapping[str, Any]) -> str:
    event, camera = payload["event"], payload["camera"]
    again = payload["delivery"]["escalation"]
    prefix = f"[Emberwatch, not acknowledged: re-sent {again}x] " if again else "[Emberwatch] "
    return f"{prefix}{event['class']} at {camera['name']} (event {event['id']})"


def summary(payload: Mapping[str, Any]) -> str:
    """The plain-text part: what a duty officer reads first."""
    event, camera, delivery = payload["event"], payload["camera"], payload["delivery"]
    lines = [
        payload.get("message") or "",
        "",
        f"Class: {event['class']} (peak score {event['peak_score']})",
        f"Camera: {camera['name']} ({camera['id']})",
        f"Started: {event['started_at']}",
        f"Confirmed by: {event['decided_by'] or '-'} at {event['decided_at'] or '-'}",
    ]
    if payload.get("bearing_deg") is not None:
        lines.append(f"Bearing from the camera: {payload['bearing_deg']} deg")
    location = payload.get("location")
    if location:
        lines.append(f"Estimated location: {location['latitude']}, {location['longitude']}")
    snapshot = payload.get("snapshot")
    if snapshot:
        lines.append(f"Snapshot: {snapshot['url']} (until {snapshot['expires_at']})")
    lines += ["", f"Acknowledge receipt: {delivery['ack_url']}", "", f"Alert {payload['alert_id']}"]
    return "\n".join(lines).lstrip("\n") + "\n"


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
