"""The ``publish`` section of the service configuration (alert delivery and locations)."""

from __future__ import annotations

from datetime import tzinfo
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator

from streams.config import expand_env


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class LocationConfig(_Strict):
    """Pairing of events from two cameras into an estimated fire location."""

    pair_window_s: float = Field(
        300.0, gt=0, description="Events of two cameras pair when they start this close in time."
    )
    max_distance_km: float = Field(
        40.0, gt=0, description="A crossing farther than this from either camera is ignored."
    )
    min_angle_deg: float = Field(
        10.0,
        ge=1,
        lt=90,
        description="Rays closer to parallel than this (or to opposite) give no location.",
    )


class SmtpConfig(_Strict):
    """The mail server that carries alerts to e-mail departments."""

    host: str = Field(min_length=1, description="SMTP server name or address.")
    port: int = Field(587, ge=1, le=65535, description="587 (STARTTLS), 465 (TLS) or 25.")
    security: Literal["starttls", "tls", "none"] = Field(
        "starttls", description="starttls: upgrade after connecting; tls: TLS from the start."
    )
    username: str | None = Field(None, description="Log in with this user when set.")
    password: str | None = Field(
        None, repr=False, description="Its password (${VAR} expands from the environment)."
    )
    from_address: str = Field(
        min_length=3, description="Sender address, e.g. Emberwatch <alerts@example.org>."
    )

    @field_validator("password", mode="before")
    @classmethod
    def _expand(cls, value: object) -> object:
        return expand_env(value) if isinstance(value, str) else value


class MqttConfig(_Strict):
    """The MQTT broker that carries alerts to departments subscribed to a topic."""

    host: str = Field(min_length=1, description="Broker name or address.")
    port: int = Field(1883, ge=1, le=65535, description="1883, or 8883 with tls.")
    tls: bool = Field(False, description="Connect with TLS (the system's CA certificates).")
    username: str | None = Field(None, description="Log in with this user when set.")
    password: str | None = Field(
        None, repr=False, description="Its password (${VAR} expands from the environment)."
    )
    client_id: str = Field("emberwatch", min_length=1, max_length=64)
    qos: Literal[1, 2] = Field(1, description="1: at least once; 2: exactly once.")

    @field_validator("password", mode="before")
    @classmethod
    def _expand(cls, value: object) -> object:
        return expand_env(value) if isinstance(value, str) else value


class PublishConfig(_Strict):
    """Alert delivery to departments: links in payloads, retries, snapshot URL signing."""

    public_url: str | None = Field(
        None,
        description="Base URL departments use to reach this server (ack and snapshot links), "
        "e.g. https://emberwatch.example.org. Default: http://<server.host>:<server.port>.",
    )
    signing_key: str | None = Field(
        None,
        min_length=32,
        description="Server key for signed snapshot URLs (${VAR} expands from the environment). "
        "Default: a random key kept in <data_dir>/publish-signing.key.",
    )
    snapshot_url_ttl_s: float = Field(
        7 * 24 * 3600.0, gt=0, description="Lifetime of signed snapshot URLs in payloads."
    )
    inline_snapshot: bool = Field(True, description="Embed the snapshot JPEG (base64).")
    retry_initial_s: float = Field(2.0, gt=0, description="First retry delay after a failure.")
    retry_max_s: float = Field(300.0, gt=0, description="Cap of the doubling retry delay.")
    request_timeout_s: float = Field(
        10.0, gt=0, description="Timeout of one webhook request, e-mail or MQTT publish."
    )
    poll_interval_s: float = Field(
        1.0, gt=0, description="How often the sender looks for due retries and escalations."
    )
    workers: int = Field(8, ge=1, le=64, description="Webhook requests sent in parallel.")
    proxy_from_environment: bool = Field(
        True, description="Send through HTTP(S)_PROXY when set (NO_PROXY is honoured)."
    )
    max_escalations: int = Field(
        3, ge=0, description="Re-sends of an unacknowledged alert per department, at most."
    )
    message_timezone: str = Field(
        "UTC",
        description="Time zone of the times in chat robot and SMS messages, e.g. Asia/Shanghai.",
    )
    location: LocationConfig = LocationConfig()
    smtp: SmtpConfig | None = Field(
        None, description="Mail server for departments that receive alerts by e-mail."
    )
    mqtt: MqttConfig | None = Field(
        None, description="Broker for departments that receive alerts on an MQTT topic."
    )

    @field_validator("signing_key", mode="before")
    @classmethod
    def _expand(cls, value: object) -> object:
        # Before the length check, so that a short ${VAR} reference is measured expanded.
        return expand_env(value) if isinstance(value, str) else value

    @field_validator("message_timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r} (e.g. Asia/Shanghai, UTC)") from None
        return value

    def message_zone(self) -> tzinfo:
        return ZoneInfo(self.message_timezone)

    @field_validator("public_url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/")
