"""Notice settings, read from ``LOOKBACK_NOTICES_*`` environment variables."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_TEMPLATES = Path(__file__).resolve().parent / "templates"


class NoticeSettings(BaseSettings):
    """How often the scheduler runs, how deliveries are retried, how notices are numbered."""

    model_config = SettingsConfigDict(env_prefix="LOOKBACK_NOTICES_", extra="ignore")

    interval_s: float = Field(0.0, ge=0, description="scheduler interval in seconds; 0 = off")
    max_attempts: int = Field(5, ge=1, le=50, description="delivery attempts before 'failed'")
    retry_base_s: float = Field(60.0, ge=0, description="first retry delay; doubles each time")
    retry_max_s: float = Field(3600.0, ge=0, description="longest retry delay")
    timeout_s: float = Field(10.0, gt=0, description="network timeout of one delivery attempt")
    number_prefix: str = Field("", description="text before the kind in numbers, e.g. 县环")
    issuer: str = Field("县环保督察整改工作领导小组办公室", description="who signs the notices")
    actor: str = Field("notices", description="actor recorded in the problem's history")
    link_base: str = Field("", description="app URL for links in messages, e.g. http://lookback")
    templates: Path = Field(DEFAULT_TEMPLATES, description="folder of the notice_*.html templates")
    allow_hosts: str = Field(
        "",
        description="comma-separated webhook/robot/SMTP hosts that may be internal addresses",
    )


@lru_cache
def get_notice_settings() -> NoticeSettings:
    """The process-wide notice settings (``get_notice_settings.cache_clear()`` re-reads them)."""
    return NoticeSettings()
