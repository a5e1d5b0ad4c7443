"""The whole service configuration: one YAML file, validated once in main() and passed down."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from detector.config import DEFAULT_MODEL, DetectorConfig, SmoothingConfig
from service.alert_config import PublishConfig
from service.auth_config import AuthConfig
from streams.config import CameraConfig, StreamSettings
from streams.validation import describe, yaml_problem


class ConfigError(Exception):
    """The configuration file is missing or invalid; the message names the key at fault."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class StorageConfig(_Strict):
    database_url: str | None = Field(
        None, description="SQLAlchemy URL. Default: sqlite file emberwatch.db in the data dir."
    )
    snapshot_dir: Path | None = Field(None, description="Default: snapshots/ in the data dir.")


class MapConfig(_Strict):
    """The console's slippy map of cameras, bearing rays and estimated fire positions."""

    tile_url: str | None = Field(
        None,
        description="Map tiles, {z}/{x}/{y} in the URL: an operator's own tile server or a "
        "provincial map service, e.g. https://tiles.example.org/{z}/{x}/{y}.png. "
        "None: the offline schematic map only.",
    )
    attribution: str = Field("", max_length=200, description="Credit the tiles require.")
    max_zoom: int = Field(18, ge=1, le=22, description="Highest zoom level the tiles have.")

    @field_validator("tile_url")
    @classmethod
    def _placeholders(cls, value: str | None) -> str | None:
        if value is not None and not all(p in value for p in ("{z}", "{x}", "{y}")):
            raise ValueError("must contain {z}, {x} and {y}")
        return value


class ServerConfig(_Strict):
    host: str = "127.0.0.1"
    port: int = Field(8000, ge=0, le=65535)
    forwarded_allow_ips: list[str] = Field(
        default_factory=list,
        description="Reverse proxies whose X-Forwarded-For/-Proto are believed (e.g. "
        "[127.0.0.1]); from anyone else they are ignored, so a client cannot choose the address "
        "the login limit counts.",
    )


class AppConfig(_Strict):
    data_dir: Path = Field(Path("data"), description="Database, snapshots and demo footage.")
    cameras: list[CameraConfig] = Field(default_factory=list)
    streams: StreamSettings = StreamSettings()
    detector: DetectorConfig = DetectorConfig()
    smoothing: SmoothingConfig = SmoothingConfig()
    storage: StorageConfig = StorageConfig()
    server: ServerConfig = ServerConfig()
    auth: AuthConfig = Field(AuthConfig(), description="Login limits and API token lifetime.")
    map: MapConfig = MapConfig()
    publish: PublishConfig = Field(
        PublishConfig(), description="Alert delivery to departments (docs/alerts.md)."
    )

    @field_validator("cameras")
    @classmethod
    def _unique_ids(cls, cameras: list[CameraConfig]) -> list[CameraConfig]:
        seen: set[str] = set()
        for cam in cameras:
            if cam.id in seen:
                raise ValueError(f"camera id {cam.id!r} is used twice")
            seen.add(cam.id)
        return cameras

    @property
    def database_url(self) -> str:
        return self.storage.database_url or f"sqlite:///{self.data_dir / 'emberwatch.db'}"

    @property
    def snapshot_dir(self) -> Path:
        return self.storage.snapshot_dir or self.data_dir / "snapshots"

    @property
    def model_dir(self) -> Path:
        return self.detector.model_dir or DEFAULT_MODEL


def parse_config(raw: dict[str, Any], *, source: str = "config") -> AppConfig:
    try:
        return AppConfig.model_validate(raw)
    except ValidationError as exc:
        lines = describe(exc.errors(), raw)
        raise ConfigError(
            f"{source} is invalid:\n" + "\n".join(f"  {line}" for line in lines)
        ) from exc


def _read_yaml(path: Path) -> Any:
    try:
        with path.open(encoding="utf-8") as stream:
            return yaml.safe_load(stream)
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}") from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path} is not UTF-8 text (byte {exc.start})") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(yaml_problem(path, exc)) from exc


def load_config(path: Path | None, **overrides: Any) -> AppConfig:
    """Read ``path`` (YAML) if given, apply non-None top-level ``overrides``, validate.

    Raises:
        ConfigError: with one line per problem, each naming the key (e.g.
            ``cameras.ridge-north.url``).
    """
    raw: dict[str, Any] = {}
    if path is not None:
        loaded = _read_yaml(path)
        if loaded is not None and not isinstance(loaded, dict):
            raise ConfigError(f"{path} must hold a mapping at the top level")
        raw = loaded or {}
    raw.update({k: v for k, v in overrides.items() if v is not None})
    return parse_config(raw, source=str(path) if path else "config")
