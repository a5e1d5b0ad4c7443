"""Request and response bodies of the departments endpoints (admins)."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)
from pydantic.config import JsonDict, JsonValue

from alerts.departments import AutoPolicy, Department, DepartmentSpec
from alerts.formats import TemplateIn, TemplateOut
from alerts.robots import shown_url
from store.alert_tables import WebhookFormat

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
Secret = Annotated[str, StringConstraints(min_length=16, max_length=200)]
Label = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]


def _at(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, tz=UTC)


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AutoPolicyIO(_In):
    """Automatic publishing to this department; off while ``classes`` is empty."""

    classes: list[Label] = Field(
        default_factory=list, description="Classes that publish automatically, e.g. [flame]."
    )
    cameras: list[Label] = Field(
        default_factory=list, description="Only events of these camera ids; empty: any camera."
    )
    min_score: float = Field(0.0, ge=0, le=1, description="Lowest peak score that publishes.")
    unconfirmed: bool = Field(
        False,
        description="true: publish as soon as a matching event opens, before any operator "
        "confirmed it; false: publish automatically when an operator confirms it.",
    )

    def policy(self) -> AutoPolicy:
        return AutoPolicy(
            tuple(self.classes), tuple(self.cameras), self.min_score, self.unconfirmed
        )

    @classmethod
    def of(cls, policy: AutoPolicy) -> AutoPolicyIO:
        return cls(
            classes=list(policy.classes),
            cameras=list(policy.cameras),
            min_score=policy.min_score,
            unconfirmed=policy.unconfirmed,
        )


def _check_url(value: str | None) -> str | None:
    if value is not None and not value.startswith(("http://", "https://")):
        raise ValueError("must be an http:// or https:// URL")
    return value


# One plain address (no display name): something@host.domain, nothing else.
_ADDRESS = re.compile(r"^[^@\s,<>\"]+@[^@\s,<>\"]+\.[^@\s,<>\".]+$")


def _check_addresses(value: list[str] | None) -> list[str] | None:
    if value is None:
        return None
    cleaned = [a.strip() for a in value]
    bad = [a for a in cleaned if not _ADDRESS.match(a)]
    if bad:
        raise ValueError(f"not an e-mail address: {', '.join(bad)}")
    if len(", ".join(cleaned)) > 2000:
        raise ValueError("too many addresses (2000 characters at most)")
    return cleaned


def _check_topic(value: str | None) -> str | None:
    if value is not None and (not value or any(c in value for c in "+#\0")):
        raise ValueError("an MQTT topic to publish on: not empty, no wildcards (+ #)")
    return value


# The channel rule of _one_channel in JSON Schema terms, so the OpenAPI schema states it: a
# channel is given when its value is a non-empty string or list.
_GIVEN: dict[str, JsonDict] = {
    "webhook_url": {"type": "string", "minLength": 1},
    "email_to": {"type": "array", "minItems": 1},
    "mqtt_topic": {"type": "string", "minLength": 1},
}


def _given(*names: str) -> JsonDict:
    required: list[JsonValue] = [*names]
    properties: JsonDict = {n: _GIVEN[n] for n in names}
    return {"required": required, "properties": properties}


ONE_CHANNEL_SCHEMA: JsonDict = {"oneOf": [_given(name) for name in _GIVEN]}
AT_MOST_ONE_CHANNEL_SCHEMA: JsonDict = {
    "not": {"anyOf": [_given(a, b) for a, b in (("webhook_url", "email_to"),
                      ("webhook_url", "mqtt_topic"), ("email_to", "mqtt_topic"))]}
}  # fmt: skip


def _one_channel(
    webhook_url: str | None, email_to: list[str] | tuple[str, ...], mqtt_topic: str | None
) -> None:
    if sum(map(bool, (webhook_url, email_to, mqtt_topic))) != 1:
        raise ValueError(
            "give one of webhook_url, email_to and mqtt_topic (one channel per department)"
        )


class DepartmentIn(_In):
    """Body of ``POST /api/departments``: a webhook, e-mail addresses or an MQTT topic."""

    model_config = ConfigDict(extra="forbid", json_schema_extra=ONE_CHANNEL_SCHEMA)

    name: Name
    webhook_url: str | None = Field(None, max_length=2000, description="Where alerts are POSTed.")
    email_to: list[str] = Field(
        default_factory=list, description="Or: addresses that receive alerts by e-mail."
    )
    mqtt_topic: str | None = Field(
        None, max_length=500, description="Or: the MQTT topic alerts are published on."
    )
    webhook_format: WebhookFormat = Field(
        WebhookFormat.EMBERWATCH,
        description="What webhook_url gets: emberwatch (signed JSON), dingtalk, wecom or feishu "
        "(group robots), template (SMS gateways: see template).",
    )
    template: TemplateIn | None = Field(None, description="For webhook_format template.")
    secret: Secret | None = Field(
        None,
        description="HMAC key for X-Emberwatch-Signature, or the DingTalk (SEC…) or Feishu "
        "robot's signing secret; not needed for wecom and template. Write-only: never returned.",
    )
    enabled: bool = Field(True, description="A disabled department's pending alerts wait.")
    escalation_minutes: float | None = Field(
        None, gt=0, le=7 * 24 * 60, description="Re-send when not acknowledged in this time."
    )
    auto_publish: AutoPolicyIO = AutoPolicyIO()

    _url = field_validator("webhook_url")(_check_url)
    _addresses = field_validator("email_to")(_check_addresses)
    _topic = field_validator("mqtt_topic")(_check_topic)

    @model_validator(mode="after")
    def _channel(self) -> DepartmentIn:
        _one_channel(self.webhook_url, self.email_to, self.mqtt_topic)
        return self

    def spec(self) -> DepartmentSpec:
        return DepartmentSpec(
            name=self.name,
            webhook_url=self.webhook_url,
            email_to=tuple(self.email_to),
            mqtt_topic=self.mqtt_topic,
            webhook_format=self.webhook_format,
            template=self.template.build(None) if self.template else None,
            secret=self.secret or "",
            enabled=self.enabled,
            escalation_minutes=self.escalation_minutes,
            auto=self.auto_publish.policy(),
        )


class DepartmentUpdate(_In):
    """Body of ``PUT /api/departments/{id}``: omitted fields keep their stored value (the
    stored webhook URL is shown masked, so it is only replaced when sent)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra=AT_MOST_ONE_CHANNEL_SCHEMA)

    name: Name | None = None
    webhook_url: str | None = Field(None, max_length=2000)
    email_to: list[str] | None = Field(None, description="A channel sent replaces the other.")
    mqtt_topic: str | None = Field(None, max_length=500)
    webhook_format: WebhookFormat | None = Field(None, description="Omit to keep it.")
    template: TemplateIn | None = Field(None, description="Omit to keep it.")
    secret: Secret | None = Field(None, description="Write-only; omit to keep the current one.")
    enabled: bool | None = None
    escalation_minutes: float | None = Field(
        None, gt=0, le=7 * 24 * 60, description="null: no escalation (sent explicitly)."
    )
    auto_publish: AutoPolicyIO | None = None

    _url = field_validator("webhook_url")(_check_url)
    _addresses = field_validator("email_to")(_check_addresses)
    _topic = field_validator("mqtt_topic")(_check_topic)

    def merged(self, current: Department) -> DepartmentSpec:
        """The updated settings: a channel that is sent replaces the current one. Raises
        ValueError when more than one is sent."""
        sent = self.model_fields_set
        channel: tuple[str | None, tuple[str, ...], str | None] = (
            current.webhook_url, current.email_to, current.mqtt_topic)  # fmt: skip
        if self.webhook_url or self.email_to or self.mqtt_topic:
            _one_channel(self.webhook_url, self.email_to or (), self.mqtt_topic)
            channel = (self.webhook_url, tuple(self.email_to or ()), self.mqtt_topic)
        fmt = self.webhook_format or (
            current.webhook_format if channel[0] else WebhookFormat.EMBERWATCH
        )
        template = current.template if fmt is WebhookFormat.TEMPLATE else None
        return DepartmentSpec(
            name=self.name or current.name,
            webhook_url=channel[0],
            email_to=channel[1],
            mqtt_topic=channel[2],
            webhook_format=fmt,
            template=self.template.build(current.template) if self.template else template,
            secret=self.secret,
            enabled=current.enabled if self.enabled is None else self.enabled,
            escalation_minutes=(
                self.escalation_minutes
                if "escalation_minutes" in sent
                else current.escalation_minutes
            ),
            auto=self.auto_publish.policy() if self.auto_publish else current.auto,
        )


class DepartmentOut(BaseModel):
    id: int
    name: str
    webhook_url: str | None = Field(
        description="With any password, token or key masked; null for other channels."
    )
    webhook_format: WebhookFormat
    template: TemplateOut | None = Field(description="Of a template webhook; headers masked.")
    email_to: list[str] = Field(description="Addresses of an e-mail department.")
    mqtt_topic: str | None = Field(description="Topic of an MQTT department.")
    secret_set: bool = Field(description="The secret itself is never returned.")
    enabled: bool
    escalation_minutes: float | None
    auto_publish: AutoPolicyIO
    created_at: AwareDatetime
    updated_at: AwareDatetime

    @classmethod
    def of(cls, dep: Department) -> DepartmentOut:
        return cls(
            id=dep.id,
            name=dep.name,
            webhook_url=shown_url(dep.webhook_format, dep.webhook_url) if dep.webhook_url else None,
            webhook_format=dep.webhook_format,
            template=TemplateOut.of(dep.template),
            email_to=list(dep.email_to),
            mqtt_topic=dep.mqtt_topic,
            secret_set=bool(dep.secret),
            enabled=dep.enabled,
            escalation_minutes=dep.escalation_minutes,
            auto_publish=AutoPolicyIO.of(dep.auto),
            created_at=_at(dep.created_at),
            updated_at=_at(dep.updated_at),
        )
