"""The alert as text for people: chat group robots (DingTalk, WeCom, Feishu) and SMS templates.

:func:`alert_text` reads a publication's stored payload (see :mod:`alerts.payload`) and the
delivery's own part into :class:`AlertText`; one function per channel lays it out in that
service's documented message format. Labels are Chinese and English, side by side.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Any

from alerts.payload import DeliveryInfo

#: The operator's message is cut to this many characters in chat messages and SMS.
MESSAGE_CHARS = 500
#: WeCom refuses markdown content longer than this (UTF-8 bytes).
WECOM_MAX_BYTES = 4096
_CLASSES = {"smoke": "烟雾", "flame": "明火"}


@dataclass(frozen=True, slots=True)
class AlertText:
    """The parts of one department's copy that a person reads."""

    title: str
    camera: str
    cls: str
    score: str
    time: str
    location: str
    message: str
    link: str  # signed snapshot URL, or "" without a snapshot
    ack_link: str
    event_id: int
    department: str
    note: str  # reminder / automatic, or ""


def _time(iso_text: str | None, tz: tzinfo) -> str:
    if not iso_text:
        return "未知 unknown"
    local = datetime.fromisoformat(iso_text).astimezone(tz)
    return f"{local:%Y-%m-%d %H:%M:%S} {local.tzname()}"


def _location(payload: Mapping[str, Any]) -> str:
    loc = payload.get("location")
    if loc:
        where = f"{loc['latitude']:.5f}, {loc['longitude']:.5f}"
        km = loc.get("distance_km")
        return where if km is None else f"{where}（距摄像头 {km:.1f} km from the camera）"
    bearing = payload.get("bearing_deg")
    if bearing is not None:
        return f"摄像头方位 bearing {bearing:.0f}°（未交汇定位 no fix yet）"
    return "未知 unknown"


def _note(payload: Mapping[str, Any], info: DeliveryInfo) -> str:
    notes = []
    if info.escalation:
        notes.append(f"第 {info.escalation} 次提醒 reminder {info.escalation}")
    if payload.get("automatic"):
        status = payload["event"]["status"]
        notes.append("自动发布，未经确认 automatic, unconfirmed" if status == "open" else
                     "自动发布 automatic")  # fmt: skip
    return "；".join(notes)


def _cut(text: str, limit: int = MESSAGE_CHARS) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def alert_text(payload: Mapping[str, Any], info: DeliveryInfo, tz: tzinfo) -> AlertText:
    event, camera = payload["event"], payload["camera"]
    cls = str(event["class"])
    zh = _CLASSES.get(cls, cls)
    snapshot = payload.get("snapshot") or {}
    return AlertText(
        title=f"Emberwatch 火情警报：{zh} {cls} · {camera['name']}",
        camera=f"{camera['name']} ({camera['id']})",
        cls=cls if zh == cls else f"{zh} {cls}",
        score=f"{event['peak_score']:.2f}",
        time=_time(event.get("started_at"), tz),
        location=_location(payload),
        message=_cut(str(payload.get("message") or "")),
        link=str(snapshot.get("url") or ""),
        ack_link=info.ack_url,
        event_id=int(event["id"]),
        department=info.department,
        note=_note(payload, info),
    )


def _rows(text: AlertText) -> list[str]:
    rows = [
        f"**摄像头 Camera**：{text.camera}",
        f"**类别 Class**：{text.cls}（峰值 peak {text.score}）",
        f"**开始 Started**：{text.time}",
        f"**估计位置 Location**：{text.location}",
    ]
    if text.message:
        rows.append(f"**值班员留言 Message**：{text.message}")
    links = [f"[快照 Snapshot]({text.link})"] if text.link else []
    links.append(f"[确认收到 Acknowledge]({text.ack_link})")
    rows.append(" · ".join(links))
    if text.note:
        rows.insert(0, f"**{text.note}**")
    return rows


def dingtalk_message(text: AlertText) -> dict[str, Any]:
    """A DingTalk robot's markdown message (a paragraph per line: DingTalk joins single
    newlines)."""
    body = "\n\n".join([f"### {text.title}", *_rows(text), f"事件 Event {text.event_id}"])
    return {"msgtype": "markdown", "markdown": {"title": text.title, "text": body}}


def _fit_bytes(content: str, limit: int) -> str:
    data = content.encode("utf-8")
    if len(data) <= limit:
        return content
    return data[: limit - 3].decode("utf-8", errors="ignore") + "…"


def wecom_message(text: AlertText) -> dict[str, Any]:
    """A WeCom group robot's markdown message (at most :data:`WECOM_MAX_BYTES`)."""
    body = "\n".join([f"### {text.title}", *(f"> {r}" for r in _rows(text))])
    return {"msgtype": "markdown", "markdown": {"content": _fit_bytes(body, WECOM_MAX_BYTES)}}


def feishu_message(text: AlertText) -> dict[str, Any]:
    """A Feishu custom bot's interactive card (the signature is added by the sender)."""
    card = {
        "config": {"wide_screen_mode": True},
        "header": {"title": {"tag": "plain_text", "content": text.title}, "template": "red"},
        "elements": [{"tag": "div", "text": {"tag": "lark_md", "content": "\n".join(_rows(text))}}],
    }
    return {"msg_type": "interactive", "card": card}


def template_values(text: AlertText) -> dict[str, str]:
    """The values of a template's fields (see :data:`alerts.template.FIELDS`)."""
    parts = [f"【Emberwatch】{text.cls} {text.camera} {text.time}", f"位置 {text.location}"]
    if text.message:
        parts.append(text.message)
    if text.link:
        parts.append(f"快照 {text.link}")
    return {
        "summary": "；".join(parts),
        "camera": text.camera,
        "cls": text.cls,
        "time": text.time,
        "location": text.location,
        "link": text.link,
        "message": text.message,
        "ack_link": text.ack_link,
        "event_id": str(text.event_id),
        "score": text.score,
        "department": text.department,
    }
