"""Settings read from the environment (prefix ``LOOKBACK_``), validated once at start."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class WarningThresholds(BaseSettings):
    """Four-colour warning thresholds, in days (四色预警). Local schemes differ: configure them."""

    model_config = SettingsConfigDict(env_prefix="LOOKBACK_WARNING_")

    blue_days_left: int = Field(7, ge=0, description="blue when due within this many days")
    yellow_days_overdue: int = Field(1, ge=1, description="yellow from this many days overdue")
    orange_days_overdue: int = Field(16, ge=1, description="orange from this many days overdue")
    red_days_overdue: int = Field(31, ge=1, description="red from this many days overdue")

    @field_validator("red_days_overdue")
    @classmethod
    def _ordered(cls, red: int, info) -> int:  # type: ignore[no-untyped-def]
        yellow = info.data.get("yellow_days_overdue", 1)
        orange = info.data.get("orange_days_overdue", 16)
        if not yellow <= orange <= red:
            raise ValueError("warning thresholds must satisfy yellow <= orange <= red")
        return red


class Settings(BaseSettings):
    """Application settings. Every field is an environment variable ``LOOKBACK_<NAME>``."""

    model_config = SettingsConfigDict(env_prefix="LOOKBACK_", extra="ignore")

    home: Path = Field(Path("var"), description="folder for the embedded cluster and attachments")
    database_url: str | None = Field(
        None,
        validation_alias="DATABASE_URL",
        repr=False,  # it may hold the password: never in a printed Settings
        description="external PostGIS URL; replaces the embedded cluster entirely",
    )
    pg_port: int = Field(
        54329, ge=1024, le=65535, description="loopback port of the embedded cluster"
    )
    pg_user: str = Field(
        "lookback", description="system user that runs the embedded cluster as root"
    )
    secret_key: str | None = Field(
        None,
        repr=False,  # a key: never in a printed Settings
        description="Fernet key(s) for secrets at rest, newest first, comma-separated;"
        " default: <home>/secret.key, created on first use",
    )
    timezone: str = Field("Asia/Shanghai", description="zone in which deadlines are local dates")
    immediate_window_days: int = Field(7, ge=1, description="deadline of 立行立改 problems")
    complaint_feedback_days: int = Field(7, ge=1, description="feedback deadline of complaints")
    public_notice_days: int = Field(0, ge=0, description="公示 period before closure takes effect")
    rebound_radius_m: float = Field(200.0, gt=0, description="suspected-rebound search radius")
    rebound_window_days: int = Field(180, ge=1, description="suspected-rebound look-back window")
    rebound_deadline_days: int = Field(
        30, ge=1, description="deadline of a rebounded problem when the office names none"
    )
    tile_url: str | None = Field(None, description="XYZ basemap URL; none by default")
    tile_attribution: str = Field("", description="attribution shown with the basemap")
    tile_crs: str = Field("wgs84", description="wgs84 or gcj02: datum of the basemap tiles")
    max_body_mb: int = Field(25, ge=1, description="largest request body accepted, MB")
    tls: bool = Field(False, description="served over HTTPS (Secure cookies, HSTS)")
    host: str = Field("127.0.0.1", description="address `lookback up` binds")
    port: int = Field(8000, ge=1, le=65535, description="port `lookback up` binds")

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        ZoneInfo(value)  # raises for an unknown zone
        return value

    @field_validator("tile_crs")
    @classmethod
    def _tile_crs(cls, value: str) -> str:
        if value not in {"wgs84", "gcj02"}:
            raise ValueError("LOOKBACK_TILE_CRS must be 'wgs84' or 'gcj02'")
        return value

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def pg_dir(self) -> Path:
        return self.home.resolve() / "pg"

    @property
    def attachments_dir(self) -> Path:
        return self.home.resolve() / "attachments"

    @property
    def secret_key_file(self) -> Path:
        return self.home.resolve() / "secret.key"


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings (cached; ``get_settings.cache_clear()`` re-reads them)."""
    return Settings()


@lru_cache
def get_warning_thresholds() -> WarningThresholds:
    return WarningThresholds()
