"""Notice numbers: 〔2026〕督办第3号, per kind per year, gap-free and safe under concurrency.

The counter row is bumped with ``INSERT … ON CONFLICT DO UPDATE … RETURNING`` in the transaction
that writes the notice: the row lock serialises concurrent issuers, and a transaction that rolls
back returns its number, so committed numbers never leave a gap.
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.orm import Session

from gis.notices.config import get_notice_settings
from gis.notices.rules import KINDS


def format_number(kind: str, year: int, seq: int, prefix: str | None = None) -> str:
    """The printed number, e.g. ``〔2026〕督办第3号``."""
    lead = get_notice_settings().number_prefix if prefix is None else prefix
    return f"〔{year}〕{lead}{KINDS[kind][1]}第{seq}号"


def next_number(session: Session, kind: str, year: int) -> tuple[int, str]:
    """Take the next number of ``kind`` in ``year`` (inside the caller's transaction)."""
    if kind not in KINDS:
        raise ValueError(f"unknown notice kind {kind!r}")
    seq = session.execute(
        text(
            "INSERT INTO notice_counters (kind, year, last_number) VALUES (:k, :y, 1)"
            " ON CONFLICT (kind, year) DO UPDATE"
            " SET last_number = notice_counters.last_number + 1"
            " RETURNING last_number"
        ),
        {"k": kind, "y": year},
    ).scalar_one()
    return int(seq), format_number(kind, year, int(seq))


def peek_number(session: Session, kind: str, year: int, ahead: int = 1) -> str:
    """The number the ``ahead``-th next notice of ``kind`` would get (writes nothing)."""
    last = session.execute(
        text("SELECT last_number FROM notice_counters WHERE kind = :k AND year = :y"),
        {"k": kind, "y": year},
    ).scalar()
    return format_number(kind, year, int(last or 0) + ahead)
