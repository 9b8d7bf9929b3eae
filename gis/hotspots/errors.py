"""The bilingual input error and the bilingual explanation every automatic choice carries."""

from __future__ import annotations

from dataclasses import dataclass, field

from gis.errors import LookbackError


class HotspotInputError(LookbackError, ValueError):
    """The input cannot support a hot spot analysis; ``zh`` and ``en`` say why."""

    def __init__(self, zh: str, en: str) -> None:
        super().__init__(f"{zh} / {en}")
        self.zh = zh
        self.en = en


@dataclass(frozen=True)
class Explanation:
    """One reported setting or finding, worded in Chinese and English (OHSA's "auto mode" log)."""

    key: str
    zh: str
    en: str
    value: float | int | str | None = None
    details: dict[str, float | int | str | None] = field(default_factory=dict)
