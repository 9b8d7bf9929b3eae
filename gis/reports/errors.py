"""Errors of report assembly, worded in Chinese and English."""

from __future__ import annotations

from gis.errors import LookbackError


class UnknownTownship(LookbackError, LookupError):
    """No township has this code."""

    kind = "not_found"

    def __init__(self, code: str) -> None:
        self.code = code
        super().__init__(f"没有代码为 {code} 的乡镇 / no township with code {code}")
