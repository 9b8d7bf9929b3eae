"""How each notice's deliveries stand, for the notices page (通知): counts by status per notice."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gis.db.models import NOTICE_DELIVERY_STATUSES, NoticeDelivery


def delivery_counts(session: Session, notice_ids: list[int]) -> dict[int, dict[str, int]]:
    """For each notice id: how many of its deliveries are pending, sent, failed, skipped."""
    out = {i: dict.fromkeys(NOTICE_DELIVERY_STATUSES, 0) for i in notice_ids}
    if not notice_ids:
        return out
    rows = session.execute(
        select(NoticeDelivery.notice_id, NoticeDelivery.status, func.count())
        .where(NoticeDelivery.notice_id.in_(notice_ids))
        .group_by(NoticeDelivery.notice_id, NoticeDelivery.status)
    )
    for notice_id, status, n in rows:
        out[notice_id][status] = int(n)
    return out
