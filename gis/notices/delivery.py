"""The delivery log: one row per notice and channel, sent with retries and exponential backoff.

A delivery is queued ``pending`` in the transaction that issues the notice, then attempted in its
own short transaction (row locked with ``SKIP LOCKED``, so several processes never send it twice).
A failed attempt is logged and retried after ``retry_base_s × 2^(attempt-1)`` seconds (capped at
``retry_max_s``) until ``max_attempts``, when it becomes ``failed``. One channel failing never
stops the others: each delivery is attempted on its own, in a small pool of threads.
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from gis.db.models import Notice, NoticeChannel, NoticeDelivery
from gis.ledger.writes import LedgerError, NotFound
from gis.notices.channels import ChannelError, build_payload, send
from gis.notices.config import NoticeSettings, get_notice_settings

log = logging.getLogger("lookback.notices")
WORKERS = 4


@dataclass
class DeliverySummary:
    """What one pass over the due deliveries did."""

    sent: int = 0
    failed: int = 0
    retrying: int = 0
    skipped: int = 0
    attempted: list[int] = field(default_factory=list)

    def add(self, status: str, delivery_id: int) -> None:
        """Count one attempted delivery by its new status."""
        self.attempted.append(delivery_id)
        if status == "sent":
            self.sent += 1
        elif status == "failed":
            self.failed += 1
        elif status == "skipped":
            self.skipped += 1
        else:
            self.retrying += 1

    def as_dict(self) -> dict[str, int]:
        """Counts as JSON-ready values."""
        return {
            "sent": self.sent,
            "failed": self.failed,
            "retrying": self.retrying,
            "skipped": self.skipped,
        }


def backoff_s(attempts: int, settings: NoticeSettings | None = None) -> float:
    """Seconds to wait after the ``attempts``-th failed attempt."""
    s = settings or get_notice_settings()
    return min(s.retry_base_s * 2 ** max(attempts - 1, 0), s.retry_max_s)


def queue_deliveries(
    session: Session,
    notice: Notice,
    channels: list[NoticeChannel],
    *,
    view: dict[str, Any],
    markdown: str,
    recipients: list[dict[str, Any]],
    now: datetime,
    settings: NoticeSettings | None = None,
) -> list[NoticeDelivery]:
    """Queue one delivery of ``notice`` per channel (an e-mail nobody can receive is skipped)."""
    s = settings or get_notice_settings()
    queued = []
    for channel in channels:
        payload = build_payload(
            channel.kind, channel.config, notice=view, markdown=markdown, recipients=recipients
        )
        reached = (
            [r for r in recipients if r.get("email")] if channel.kind == "email" else recipients
        )
        pending = not (channel.kind == "email" and not payload["to"])
        delivery = NoticeDelivery(
            notice_id=notice.id,
            channel_id=channel.id,
            channel_name=channel.name,
            channel_kind=channel.kind,
            recipients=[
                {k: r.get(k, "") for k in ("name", "role", "unit", "email", "phone")}
                for r in reached
            ],
            payload=payload,
            status="pending" if pending else "skipped",
            attempts=0,
            max_attempts=s.max_attempts,
            next_attempt_at=now if pending else None,
            result="" if pending else "no recipient has an e-mail address",
            attempt_log=[],
        )
        session.add(delivery)
        queued.append(delivery)
    session.flush()
    return queued


def attempt(
    session: Session, delivery: NoticeDelivery, *, now: datetime, settings: NoticeSettings
) -> str:
    """Try ``delivery`` once and record the outcome on it; returns its new status."""
    channel = session.get(NoticeChannel, delivery.channel_id) if delivery.channel_id else None
    if channel is None or not channel.enabled:
        delivery.status, delivery.next_attempt_at = "skipped", None
        delivery.result = "the channel was removed or disabled"
        return delivery.status
    html = None
    if channel.kind == "email":
        notice = session.get(Notice, delivery.notice_id)
        html = notice.html if notice is not None else None
    delivery.attempts += 1
    delivery.last_attempt_at = now
    try:
        result = send(
            channel.kind,
            channel.config,
            delivery.payload,
            html=html,
            timeout=settings.timeout_s,
            delivery_id=delivery.id,
            allow_hosts=settings.allow_hosts,
        )
        ok = True
    except ChannelError as exc:
        result, ok = str(exc), False
    except Exception as exc:  # noqa: BLE001 - a bug in one channel must not stop the others
        log.exception("notice delivery %s crashed", delivery.id)
        result, ok = f"internal error {type(exc).__name__}", False
    delivery.result = result[:2000]
    delivery.attempt_log = [
        *delivery.attempt_log,
        {"attempt": delivery.attempts, "at": now.isoformat(), "ok": ok, "result": result[:500]},
    ]
    if ok:
        delivery.status, delivery.delivered_at, delivery.next_attempt_at = "sent", now, None
    elif delivery.attempts >= delivery.max_attempts:
        delivery.status, delivery.next_attempt_at = "failed", None
        log.warning(
            "notice delivery %s via %s failed after %s attempts: %s",
            delivery.id,
            delivery.channel_name,
            delivery.attempts,
            result,
        )
    else:
        delivery.status = "pending"
        delivery.next_attempt_at = now + timedelta(seconds=backoff_s(delivery.attempts, settings))
    return delivery.status


def _attempt_by_id(
    engine: Engine, delivery_id: int, now: datetime, settings: NoticeSettings
) -> str | None:
    with Session(engine, expire_on_commit=False) as session, session.begin():
        delivery = session.scalars(
            select(NoticeDelivery)
            .where(
                NoticeDelivery.id == delivery_id,
                NoticeDelivery.status == "pending",
                NoticeDelivery.next_attempt_at <= now,
            )
            .with_for_update(skip_locked=True)
        ).first()
        if delivery is None:
            return None  # done meanwhile, or another process holds it
        return attempt(session, delivery, now=now, settings=settings)


def due_ids(
    session: Session, now: datetime, *, notice_ids: list[int] | None = None, limit: int = 500
) -> list[int]:
    """Ids of the pending deliveries due at ``now``, oldest first."""
    stmt = select(NoticeDelivery.id).where(
        NoticeDelivery.status == "pending", NoticeDelivery.next_attempt_at <= now
    )
    if notice_ids is not None:
        stmt = stmt.where(NoticeDelivery.notice_id.in_(notice_ids))
    return list(session.scalars(stmt.order_by(NoticeDelivery.id).limit(limit)))


def deliver_due(
    engine: Engine,
    *,
    now: datetime | None = None,
    settings: NoticeSettings | None = None,
    notice_ids: list[int] | None = None,
    limit: int = 500,
) -> DeliverySummary:
    """Attempt every delivery due at ``now`` once; failures are rescheduled with backoff."""
    at = now or datetime.now(UTC)
    s = settings or get_notice_settings()
    with Session(engine) as session:
        ids = due_ids(session, at, notice_ids=notice_ids, limit=limit)
    summary = DeliverySummary()
    if not ids:
        return summary
    with ThreadPoolExecutor(max_workers=min(WORKERS, len(ids))) as pool:
        outcomes = list(pool.map(lambda i: (i, _attempt_by_id(engine, i, at, s)), ids))
    for delivery_id, status in outcomes:
        if status is not None:
            summary.add(status, delivery_id)
    return summary


def requeue(session: Session, delivery_id: int, *, now: datetime | None = None) -> NoticeDelivery:
    """Give a failed or skipped delivery a fresh set of attempts, due now."""
    delivery = session.get(NoticeDelivery, delivery_id, with_for_update=True)
    if delivery is None:
        raise NotFound(f"no delivery {delivery_id}")
    if delivery.status == "sent":
        raise LedgerError("the delivery was already sent", field="status")
    delivery.status = "pending"
    delivery.max_attempts = delivery.attempts + get_notice_settings().max_attempts
    delivery.next_attempt_at = now or datetime.now(UTC)
    return delivery


def retry(
    engine: Engine,
    delivery_id: int,
    *,
    now: datetime | None = None,
    settings: NoticeSettings | None = None,
) -> NoticeDelivery:
    """Requeue a failed or skipped delivery and attempt it once now; returns it as it stands.

    The one retry the JSON API, the notices page and the CLI share. Raises :class:`NotFound`
    for an unknown id and :class:`LedgerError` for a delivery already sent.
    """
    at = now or datetime.now(UTC)
    with Session(engine) as session, session.begin():
        requeue(session, delivery_id, now=at)
    _attempt_by_id(engine, delivery_id, at, settings or get_notice_settings())
    with Session(engine, expire_on_commit=False) as session:
        delivery = session.get(NoticeDelivery, delivery_id)
        assert delivery is not None
        return delivery


def pending_count(session: Session) -> int:
    """How many deliveries are waiting to be sent (due now or awaiting a retry)."""
    return int(session.scalar(select(func.count()).where(NoticeDelivery.status == "pending")) or 0)
