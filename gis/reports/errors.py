"""Errors of report assembly, worded in Chinese and English."""

from __future__ import annotations


class UnknownTownship(LookupError):
    """No township has this code."""

    def __init__(self, code: str) -> None:
        self.code = code
        super().__init__(f"没有代码为 {code} 的乡镇 / no township with code {code}")
