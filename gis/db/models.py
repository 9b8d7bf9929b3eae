"""The data model: townships, sites, problems and everything that hangs off a problem.

Geometries are stored in CGCS2000 (EPSG:4490), which for phone GPS is the same as WGS-84 to within
centimetres. Distances and areas are always computed in metres (geography or a Gauss–Krüger zone).
Vocabulary columns are text with CHECK constraints listing the values in :mod:`gis.vocab`.
"""

from __future__ import annotations

import uuid as uuid_mod
from datetime import date, datetime
from typing import Any

from geoalchemy2 import Geometry
from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    Uuid,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from gis import vocab
from gis.db.secrets import EncryptedSecrets

SRID = 4490


def geometry(kind: str = "GEOMETRY") -> Geometry:
    """A geometry column in :data:`SRID`; the GiST index is declared explicitly per table."""
    return Geometry(kind, srid=SRID, spatial_index=False)


def one_of(column: str, enum: type, nullable: bool = False) -> CheckConstraint:
    listed = ", ".join(f"'{v}'" for v in vocab.values(enum))
    condition = f"{column} IN ({listed})"
    if nullable:
        condition = f"{column} IS NULL OR {condition}"
    return CheckConstraint(condition, name=f"{column}_valid")


class Base(DeclarativeBase):
    pass


class Township(Base):
    """A township, street office or development zone (乡镇/街道/开发区) with its 12-digit code."""

    __tablename__ = "townships"
    __table_args__ = (
        CheckConstraint("code ~ '^[0-9]{12}$'", name="code_12_digits"),
        Index("townships_geom_gist", "geom", postgresql_using="gist"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(12), unique=True)
    name: Mapped[str] = mapped_column(Text)
    geom: Mapped[Any] = mapped_column(geometry("MULTIPOLYGON"))


class Site(Base):
    """A place the ledger refers to: a plant, a mining site, a protection zone, an air station…"""

    __tablename__ = "sites"
    __table_args__ = (
        one_of("kind", vocab.SiteKind),
        one_of("zone_level", vocab.ZoneLevel, nullable=True),
        CheckConstraint(
            "(kind = 'protection_zone') = (zone_level IS NOT NULL)", name="zone_level_for_zones"
        ),
        Index("sites_geom_gist", "geom", postgresql_using="gist"),
        Index("sites_kind", "kind"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(Text)
    zone_level: Mapped[str | None] = mapped_column(String(8))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("sites.id", ondelete="SET NULL"))
    township_code: Mapped[str | None] = mapped_column(
        ForeignKey("townships.code", onupdate="CASCADE")
    )
    properties: Mapped[dict] = mapped_column(JSONB, default=dict, server_default="{}")
    geom: Mapped[Any] = mapped_column(geometry())


class Problem(Base):
    """A rectification item (问题/整改事项) of the ledger (台账)."""

    __tablename__ = "problems"
    __table_args__ = (
        one_of("source", vocab.Source),
        one_of("category", vocab.Category),
        one_of("deadline_kind", vocab.DeadlineKind),
        one_of("status", vocab.Status),
        CheckConstraint(
            "deadline_kind = 'long_term' OR status IN ('reported') OR deadline IS NOT NULL",
            name="deadline_set_once_assigned",
        ),
        Index("problems_geom_gist", "geom", postgresql_using="gist"),
        Index("problems_geog_gist", text("(geom::geography)"), postgresql_using="gist"),
        Index("problems_township_status", "township_code", "status"),
        Index("problems_deadline", "deadline"),
        Index("problems_updated_at", "updated_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(Text, unique=True)
    source: Mapped[str] = mapped_column(String(32))
    category: Mapped[str] = mapped_column(String(32))
    township_code: Mapped[str | None] = mapped_column(
        ForeignKey("townships.code", onupdate="CASCADE")
    )
    township_override_reason: Mapped[str | None] = mapped_column(Text)
    description: Mapped[str] = mapped_column(Text, default="", server_default="")
    responsible_unit: Mapped[str] = mapped_column(Text, default="", server_default="")
    responsible_person: Mapped[str] = mapped_column(Text, default="", server_default="")
    supervising_leader: Mapped[str] = mapped_column(Text, default="", server_default="")
    target: Mapped[str] = mapped_column(Text, default="", server_default="")
    measures: Mapped[str] = mapped_column(Text, default="", server_default="")
    progress: Mapped[str] = mapped_column(Text, default="", server_default="")
    deadline_kind: Mapped[str] = mapped_column(String(16))
    deadline: Mapped[date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(32), default=vocab.Status.REPORTED.value)
    reported_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    assigned_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    notice_ends_on: Mapped[date | None] = mapped_column(Date)
    rebound_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    site_id: Mapped[int | None] = mapped_column(ForeignKey("sites.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )
    geom: Mapped[Any | None] = mapped_column(geometry())

    milestones: Mapped[list[Milestone]] = relationship(
        back_populates="problem", order_by="Milestone.due_date", cascade="all, delete-orphan"
    )


class Milestone(Base):
    """A staged target (阶段性目标) of a long-term problem, reconciled monthly."""

    __tablename__ = "milestones"

    id: Mapped[int] = mapped_column(primary_key=True)
    problem_id: Mapped[int] = mapped_column(
        ForeignKey("problems.id", ondelete="CASCADE"), index=True
    )
    title: Mapped[str] = mapped_column(Text)
    due_date: Mapped[date] = mapped_column(Date)
    met_on: Mapped[date | None] = mapped_column(Date)
    # set when a rebound gives the problem a new deadline: an unmet old stage no longer counts
    superseded_on: Mapped[date | None] = mapped_column(Date)
    # a township's report that the stage is met: a claim, until the office confirms (met_on)
    claimed_on: Mapped[date | None] = mapped_column(Date)
    claimed_by: Mapped[str | None] = mapped_column(Text)
    note: Mapped[str] = mapped_column(Text, default="", server_default="")

    problem: Mapped[Problem] = relationship(back_populates="milestones")


class Inspection(Base):
    """A GPS point an inspector logged, optionally against a problem. Idempotent on ``uuid``."""

    __tablename__ = "inspections"
    __table_args__ = (
        one_of("finding", vocab.Finding),
        one_of("category", vocab.Category, nullable=True),
        CheckConstraint("accuracy_m IS NULL OR accuracy_m >= 0", name="accuracy_non_negative"),
        Index("inspections_geom_gist", "geom", postgresql_using="gist"),
        Index("inspections_received_at", "received_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    uuid: Mapped[uuid_mod.UUID] = mapped_column(Uuid, unique=True)
    problem_id: Mapped[int | None] = mapped_column(
        ForeignKey("problems.id", ondelete="SET NULL"), index=True
    )
    inspector: Mapped[str] = mapped_column(Text, default="", server_default="")
    finding: Mapped[str] = mapped_column(String(16))
    category: Mapped[str | None] = mapped_column(String(32))
    note: Mapped[str] = mapped_column(Text, default="", server_default="")
    accuracy_m: Mapped[float | None] = mapped_column(Float)
    observed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    received_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    source_crs: Mapped[str] = mapped_column(String(16), default="wgs84", server_default="wgs84")
    source_lon: Mapped[float | None] = mapped_column(Float)
    source_lat: Mapped[float | None] = mapped_column(Float)
    township_code: Mapped[str | None] = mapped_column(
        ForeignKey("townships.code", onupdate="CASCADE")
    )
    payload_sha256: Mapped[str] = mapped_column(String(64), default="", server_default="")
    flags: Mapped[list] = mapped_column(JSONB, default=list, server_default="[]")
    geom: Mapped[Any] = mapped_column(geometry("POINT"))


class Complaint(Base):
    """A public complaint (信访件) with a feedback deadline; one file per case (一案一档)."""

    __tablename__ = "complaints"
    __table_args__ = (
        one_of("channel", vocab.ComplaintChannel),
        one_of("kind", vocab.ComplaintKind),
        one_of("category", vocab.Category, nullable=True),
        Index("complaints_geom_gist", "geom", postgresql_using="gist"),
        Index("complaints_received_at", "received_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(Text, unique=True)
    channel: Mapped[str] = mapped_column(String(32))
    kind: Mapped[str] = mapped_column(String(16))
    category: Mapped[str | None] = mapped_column(String(32))
    text: Mapped[str] = mapped_column(Text, default="", server_default="")
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    feedback_due: Mapped[date] = mapped_column(Date)
    feedback_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    problem_id: Mapped[int | None] = mapped_column(ForeignKey("problems.id", ondelete="SET NULL"))
    township_code: Mapped[str | None] = mapped_column(
        ForeignKey("townships.code", onupdate="CASCADE")
    )
    geom: Mapped[Any | None] = mapped_column(geometry("POINT"))


# Kinds of a problem's evidence documents (证据材料); labels in gis.ledger.evidence.
EVIDENCE_KINDS = ("before_photo", "after_photo", "plan", "acceptance", "other")


class Attachment(Base):
    """A photo or document, stored on disk by content hash, linked to what it evidences."""

    __tablename__ = "attachments"
    __table_args__ = (
        CheckConstraint(
            "num_nonnulls(problem_id, inspection_id, complaint_id) >= 1", name="linked_to_something"
        ),
        Index("attachments_sha256", "sha256"),
        Index(
            "attachments_inspection_sha",
            "inspection_id",
            "sha256",
            unique=True,
            postgresql_where="inspection_id IS NOT NULL",
        ),
        # evidence documents (migration 0009): typed, one per content per problem
        CheckConstraint(
            "kind IS NULL OR kind IN (" + ", ".join(f"'{k}'" for k in EVIDENCE_KINDS) + ")",
            name="evidence_kind_valid",
        ),
        CheckConstraint(
            "kind IS NULL OR (problem_id IS NOT NULL AND inspection_id IS NULL)",
            name="evidence_of_a_problem",
        ),
        Index(
            "attachments_problem_evidence_sha",
            "problem_id",
            "sha256",
            unique=True,
            postgresql_where="kind IS NOT NULL",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64))
    filename: Mapped[str] = mapped_column(Text)
    media_type: Mapped[str] = mapped_column(Text)
    size_bytes: Mapped[int] = mapped_column(Integer)
    problem_id: Mapped[int | None] = mapped_column(ForeignKey("problems.id", ondelete="CASCADE"))
    inspection_id: Mapped[int | None] = mapped_column(
        ForeignKey("inspections.id", ondelete="CASCADE")
    )
    complaint_id: Mapped[int | None] = mapped_column(
        ForeignKey("complaints.id", ondelete="CASCADE")
    )
    exif_lon: Mapped[float | None] = mapped_column(Float)
    exif_lat: Mapped[float | None] = mapped_column(Float)
    uploaded_by: Mapped[str] = mapped_column(Text, default="", server_default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    # NULL for an inspection's photo; one of EVIDENCE_KINDS for a problem's evidence document
    kind: Mapped[str | None] = mapped_column(String(16))
    note: Mapped[str] = mapped_column(Text, default="", server_default="")
    uploader_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))


class Event(Base):
    """One step of a problem's history (逐个环节留痕). Append-only: a trigger refuses changes."""

    __tablename__ = "events"
    __table_args__ = (Index("events_problem_at", "problem_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    problem_id: Mapped[int] = mapped_column(ForeignKey("problems.id", ondelete="RESTRICT"))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    actor: Mapped[str] = mapped_column(Text)
    action: Mapped[str] = mapped_column(String(32))
    reason: Mapped[str] = mapped_column(Text, default="", server_default="")
    before: Mapped[dict | None] = mapped_column(JSONB)
    after: Mapped[dict | None] = mapped_column(JSONB)


class Closure(Base):
    """One closure application (申请销号) and its acceptance steps: check, approval, notice."""

    __tablename__ = "closures"
    __table_args__ = (
        CheckConstraint(
            "outcome IN ('pending', 'in_notice', 'closed', 'rejected')", name="outcome_valid"
        ),
        Index(
            "closures_one_pending", "problem_id", unique=True,
            postgresql_where="outcome IN ('pending', 'in_notice')",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    problem_id: Mapped[int] = mapped_column(ForeignKey("problems.id", ondelete="CASCADE"))
    applied_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    applied_by: Mapped[str] = mapped_column(Text)
    evidence: Mapped[dict] = mapped_column(JSONB, default=dict, server_default="{}")
    checked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    checked_by: Mapped[str | None] = mapped_column(Text)
    check_passed: Mapped[bool | None] = mapped_column()
    check_note: Mapped[str] = mapped_column(Text, default="", server_default="")
    approved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    approved_by: Mapped[str | None] = mapped_column(Text)
    notice_ends_on: Mapped[date | None] = mapped_column(Date)
    outcome: Mapped[str] = mapped_column(String(16), default="pending", server_default="pending")


class LookbackRound(Base):
    """A look-back round (回头看) over a set of closed problems."""

    __tablename__ = "lookback_rounds"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    created_by: Mapped[str] = mapped_column(Text)
    due_date: Mapped[date | None] = mapped_column(Date)
    criteria: Mapped[dict] = mapped_column(JSONB, default=dict, server_default="{}")


class LookbackTask(Base):
    """One problem to re-inspect in a look-back round."""

    __tablename__ = "lookback_tasks"
    __table_args__ = (
        CheckConstraint("result IN ('pending', 'passed', 'rebounded')", name="result_valid"),
        Index("lookback_tasks_round_problem", "round_id", "problem_id", unique=True),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("lookback_rounds.id", ondelete="CASCADE"))
    problem_id: Mapped[int] = mapped_column(ForeignKey("problems.id", ondelete="CASCADE"))
    result: Mapped[str] = mapped_column(String(16), default="pending", server_default="pending")
    inspection_id: Mapped[int | None] = mapped_column(
        ForeignKey("inspections.id", ondelete="SET NULL")
    )
    done_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    note: Mapped[str] = mapped_column(Text, default="", server_default="")


class SuspectedRebound(Base):
    """A new complaint or finding near a recently closed problem of the same category."""

    __tablename__ = "suspected_rebounds"
    __table_args__ = (
        CheckConstraint("status IN ('open', 'confirmed', 'dismissed')", name="status_valid"),
        CheckConstraint(
            "num_nonnulls(complaint_id, inspection_id) = 1", name="one_trigger"
        ),
        Index("suspected_rebounds_complaint", "problem_id", "complaint_id", unique=True,
              postgresql_where="complaint_id IS NOT NULL"),
        Index("suspected_rebounds_inspection", "problem_id", "inspection_id", unique=True,
              postgresql_where="inspection_id IS NOT NULL"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    problem_id: Mapped[int] = mapped_column(ForeignKey("problems.id", ondelete="CASCADE"))
    complaint_id: Mapped[int | None] = mapped_column(
        ForeignKey("complaints.id", ondelete="CASCADE")
    )
    inspection_id: Mapped[int | None] = mapped_column(
        ForeignKey("inspections.id", ondelete="CASCADE")
    )
    distance_m: Mapped[float] = mapped_column(Float)
    days_since_closed: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), default="open", server_default="open")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    decided_by: Mapped[str | None] = mapped_column(Text)
    reason: Mapped[str] = mapped_column(Text, default="", server_default="")


class User(Base):
    """A person or kiosk that signs in; ``townships`` scopes township/inspector/viewer roles."""

    __tablename__ = "users"
    __table_args__ = (
        CheckConstraint(
            "role IN ('admin', 'office', 'township', 'inspector', 'viewer')", name="role_valid"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(Text, unique=True)
    role: Mapped[str] = mapped_column(String(16))
    townships: Mapped[list] = mapped_column(JSONB, default=list, server_default="[]")
    password_hash: Mapped[str | None] = mapped_column(Text)
    disabled: Mapped[bool] = mapped_column(default=False, server_default="false")
    failed_logins: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    locked_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class ApiToken(Base):
    """A bearer token for scripts, the field app and walls; only its SHA-256 is stored."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    label: Mapped[str] = mapped_column(Text, default="", server_default="")
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class WebSession(Base):
    """A browser session; the cookie holds a random id whose SHA-256 is stored here."""

    __tablename__ = "web_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    session_hash: Mapped[str] = mapped_column(String(64), unique=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    last_seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class AuthEvent(Base):
    """Audit trail of logins, failed logins, role and token changes."""

    __tablename__ = "auth_events"
    __table_args__ = (Index("auth_events_at", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    actor: Mapped[str] = mapped_column(Text)
    action: Mapped[str] = mapped_column(String(32))
    subject: Mapped[str] = mapped_column(Text, default="", server_default="")
    ip: Mapped[str] = mapped_column(Text, default="", server_default="")
    detail: Mapped[dict] = mapped_column(JSONB, default=dict, server_default="{}")


# ---------------------------------------------------------------------------------------------
# Escalation notices (提醒函 / 预警函 / 督办函 / 约谈通知): rules, contacts, channels, the numbered
# notices themselves and their delivery log. Migration 0004; the logic lives in gis.notices.
# ---------------------------------------------------------------------------------------------

NOTICE_TRIGGERS = (
    "warning",  # the problem's four-colour warning is ``colour`` (gis.ledger.deadlines.warning_sql)
    "days_before",  # ``days`` or fewer days before the due date, not yet overdue
    "days_after",  # ``days`` or more days past the due date
    "rebound",  # the problem rebounded (反弹) within the last ``days`` days
    "suspected_rebound",  # an open suspected rebound (疑似反弹) awaits the office's decision
    "off_site",  # an inspection of the problem was logged far from it (off_site flag)
    "complaint_due",  # a complaint without feedback is due within ``days`` days
)
NOTICE_KINDS = ("reminder", "warning", "supervision", "summons")
NOTICE_RECIPIENT_ROLES = ("responsible_person", "township_head", "office")
NOTICE_CHANNEL_KINDS = ("email", "dingtalk", "wecom", "webhook")
NOTICE_DELIVERY_STATUSES = ("pending", "sent", "failed", "skipped")


def _listed(column: str, values: tuple[str, ...], name: str, nullable: bool = False) -> Any:
    condition = f"{column} IN ({', '.join(repr(v) for v in values)})"
    if nullable:
        condition = f"{column} IS NULL OR {condition}"
    return CheckConstraint(condition, name=name)


class NoticeRule(Base):
    """Which trigger sends which notice kind to whom, through which channels, how often at most."""

    __tablename__ = "notice_rules"
    __table_args__ = (
        _listed("trigger", NOTICE_TRIGGERS, "trigger_valid"),
        _listed("kind", NOTICE_KINDS, "kind_valid"),
        _listed("colour", ("blue", "yellow", "orange", "red"), "colour_valid", nullable=True),
        CheckConstraint("(trigger = 'warning') = (colour IS NOT NULL)", name="colour_for_warning"),
        CheckConstraint("days IS NULL OR days >= 0", name="days_non_negative"),
        CheckConstraint(
            "min_interval_days IS NULL OR min_interval_days >= 1", name="interval_positive"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(Text, unique=True)
    trigger: Mapped[str] = mapped_column(String(32))
    colour: Mapped[str | None] = mapped_column(String(16))
    days: Mapped[int | None] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(16))
    recipients: Mapped[list] = mapped_column(JSONB, default=list, server_default="[]")
    channels: Mapped[list] = mapped_column(JSONB, default=list, server_default="[]")
    min_interval_days: Mapped[int | None] = mapped_column(Integer)
    enabled: Mapped[bool] = mapped_column(default=True, server_default="true")
    description: Mapped[str] = mapped_column(Text, default="", server_default="")


class NoticeContact(Base):
    """A person notices go to: a responsible person, a township head or the office."""

    __tablename__ = "notice_contacts"
    __table_args__ = (
        _listed("role", NOTICE_RECIPIENT_ROLES, "contact_role_valid"),
        Index("notice_contacts_role_name", "role", "name"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    role: Mapped[str] = mapped_column(String(32))
    township_code: Mapped[str | None] = mapped_column(
        ForeignKey("townships.code", onupdate="CASCADE", ondelete="SET NULL")
    )
    unit: Mapped[str] = mapped_column(Text, default="", server_default="")
    email: Mapped[str] = mapped_column(Text, default="", server_default="")
    phone: Mapped[str] = mapped_column(Text, default="", server_default="")
    enabled: Mapped[bool] = mapped_column(default=True, server_default="true")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class NoticeChannel(Base):
    """An SMTP server or a group-chat robot / webhook, with its credentials in ``config``."""

    __tablename__ = "notice_channels"
    __table_args__ = (_listed("kind", NOTICE_CHANNEL_KINDS, "channel_kind_valid"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(Text, unique=True)
    kind: Mapped[str] = mapped_column(String(16))
    # credentials encrypted at rest (gis.db.secrets)
    config: Mapped[dict] = mapped_column(EncryptedSecrets, default=dict, server_default="{}")
    township_code: Mapped[str | None] = mapped_column(
        ForeignKey("townships.code", onupdate="CASCADE", ondelete="SET NULL")
    )
    enabled: Mapped[bool] = mapped_column(default=True, server_default="true")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class NoticeCounter(Base):
    """The last number issued per notice kind and year (gap-free: bumped in the issuing txn)."""

    __tablename__ = "notice_counters"

    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    last_number: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class Notice(Base):
    """One numbered notice document, e.g. 〔2026〕督办第3号, attached to a problem's history."""

    __tablename__ = "notices"
    __table_args__ = (
        _listed("kind", NOTICE_KINDS, "notice_kind_valid"),
        Index("notices_kind_year_seq", "kind", "year", "seq", unique=True),
        Index("notices_dedup_day", "dedup_key", "issued_on", unique=True),
        Index("notices_problem", "problem_id"),
        Index("notices_township_issued", "township_code", "issued_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    year: Mapped[int] = mapped_column(Integer)
    seq: Mapped[int] = mapped_column(Integer)
    number: Mapped[str] = mapped_column(Text, unique=True)
    title: Mapped[str] = mapped_column(Text)
    rule_id: Mapped[int | None] = mapped_column(
        ForeignKey("notice_rules.id", ondelete="SET NULL")
    )
    rule_name: Mapped[str] = mapped_column(Text)
    trigger: Mapped[str] = mapped_column(String(32))
    colour: Mapped[str | None] = mapped_column(String(16))
    dedup_key: Mapped[str] = mapped_column(Text)
    problem_id: Mapped[int | None] = mapped_column(
        ForeignKey("problems.id", ondelete="RESTRICT")
    )
    complaint_id: Mapped[int | None] = mapped_column(
        ForeignKey("complaints.id", ondelete="SET NULL")
    )
    township_code: Mapped[str | None] = mapped_column(
        ForeignKey("townships.code", onupdate="CASCADE")
    )
    event_id: Mapped[int | None] = mapped_column(ForeignKey("events.id", ondelete="RESTRICT"))
    issued_on: Mapped[date] = mapped_column(Date)
    issued_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    recipients: Mapped[list] = mapped_column(JSONB, default=list, server_default="[]")
    context: Mapped[dict] = mapped_column(JSONB, default=dict, server_default="{}")
    html: Mapped[str] = mapped_column(Text)
    text: Mapped[str] = mapped_column(Text, default="", server_default="")


class NoticeDelivery(Base):
    """One notice through one channel: recipients, payload, attempts and the result."""

    __tablename__ = "notice_deliveries"
    __table_args__ = (
        _listed("status", NOTICE_DELIVERY_STATUSES, "delivery_status_valid"),
        Index("notice_deliveries_due", "status", "next_attempt_at"),
        Index("notice_deliveries_notice", "notice_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    notice_id: Mapped[int] = mapped_column(ForeignKey("notices.id", ondelete="CASCADE"))
    channel_id: Mapped[int | None] = mapped_column(
        ForeignKey("notice_channels.id", ondelete="SET NULL")
    )
    channel_name: Mapped[str] = mapped_column(Text)
    channel_kind: Mapped[str] = mapped_column(String(16))
    recipients: Mapped[list] = mapped_column(JSONB, default=list, server_default="[]")
    payload: Mapped[dict] = mapped_column(JSONB, default=dict, server_default="{}")
    status: Mapped[str] = mapped_column(String(16), default="pending", server_default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    max_attempts: Mapped[int] = mapped_column(Integer, default=5, server_default="5")
    next_attempt_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_attempt_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    result: Mapped[str] = mapped_column(Text, default="", server_default="")
    attempt_log: Mapped[list] = mapped_column(JSONB, default=list, server_default="[]")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class NoticeRun(Base):
    """One evaluation of the rules (scheduler, CLI or API); dry runs are not recorded."""

    __tablename__ = "notice_runs"
    __table_args__ = (Index("notice_runs_started_at", "started_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    today: Mapped[date] = mapped_column(Date)
    trigger: Mapped[str] = mapped_column(String(16))
    host: Mapped[str] = mapped_column(Text, default="", server_default="")
    issued: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    sent: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    failed: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class OfficialDay(Base):
    """A day of a year's official schedule (国务院办公厅节假日安排) that an admin loaded: a holiday
    (放假) or a make-up workday (调休上班). Days of a loaded year not listed follow the week."""

    __tablename__ = "official_calendar"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    year: Mapped[int] = mapped_column(Integer, index=True)
    workday: Mapped[bool] = mapped_column(Boolean)
    name: Mapped[str] = mapped_column(Text, default="", server_default="")
    source: Mapped[str] = mapped_column(Text, default="", server_default="")
    loaded_by: Mapped[str] = mapped_column(Text, default="", server_default="")
    loaded_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )



# ---------------------------------------------------------------------------------------------
# Inspection campaigns (督察进驻): transferred-case batches, daily dispatch, assessment rules and
# summons on record. Migration 0008; the logic lives in gis.campaigns.
# ---------------------------------------------------------------------------------------------

CAMPAIGN_LEVELS = ("central", "provincial", "municipal")
REPLY_DAY_KINDS = ("calendar", "working")
CASE_FINDINGS = ("true", "partly_true", "untrue")
ASSESSMENT_ITEMS = (
    "base",
    "overdue_day",
    "rebound",
    "red_warning",
    "late_reply",
    "closed_on_time",
    "summons",
    "accountability",
)
ACCOUNTABILITY_KINDS = ("summons", "accountability")


class Campaign(Base):
    """An inspection team's stay (督察进驻): name, level, dates and the reply deadline of cases."""

    __tablename__ = "campaigns"
    __table_args__ = (
        _listed("level", CAMPAIGN_LEVELS, "campaign_level_valid"),
        _listed("reply_day_kind", REPLY_DAY_KINDS, "reply_day_kind_valid"),
        CheckConstraint("reply_days >= 1", name="reply_days_positive"),
        CheckConstraint("stationed_to >= stationed_from", name="stationed_in_order"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(Text, unique=True)
    level: Mapped[str] = mapped_column(String(16))
    stationed_from: Mapped[date] = mapped_column(Date)
    stationed_to: Mapped[date] = mapped_column(Date)
    reply_days: Mapped[int] = mapped_column(Integer)
    reply_day_kind: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class CampaignBatch(Base):
    """A numbered batch of transferred cases (第N批转办件)."""

    __tablename__ = "campaign_batches"
    __table_args__ = (
        Index("campaign_batches_number", "campaign_id", "number", unique=True),
        CheckConstraint("number >= 1", name="batch_number_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column(Integer)
    received_on: Mapped[date] = mapped_column(Date)


class CampaignCase(Base):
    """A transferred case: a complaint of a batch and its handling (核查、办理、反馈)."""

    __tablename__ = "campaign_cases"
    __table_args__ = (
        _listed("finding", CASE_FINDINGS, "case_finding_valid", nullable=True),
        CheckConstraint(
            "orders >= 0 AND penalties >= 0 AND summonses >= 0 AND accountabilities >= 0",
            name="case_counts_non_negative",
        ),
        Index("campaign_cases_batch", "batch_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("campaign_batches.id", ondelete="CASCADE"))
    complaint_id: Mapped[int] = mapped_column(
        ForeignKey("complaints.id", ondelete="CASCADE"), unique=True
    )
    pollution_type: Mapped[str] = mapped_column(Text, default="", server_default="")
    checked_on: Mapped[date | None] = mapped_column(Date)
    check_note: Mapped[str] = mapped_column(Text, default="", server_default="")
    finding: Mapped[str | None] = mapped_column(String(16))
    measures: Mapped[str] = mapped_column(Text, default="", server_default="")
    responsible_unit: Mapped[str] = mapped_column(Text, default="", server_default="")
    responsible_person: Mapped[str] = mapped_column(Text, default="", server_default="")
    orders: Mapped[int] = mapped_column(Integer, default=0, server_default="0")  # 责令整改
    penalties: Mapped[int] = mapped_column(Integer, default=0, server_default="0")  # 立案处罚
    summonses: Mapped[int] = mapped_column(Integer, default=0, server_default="0")  # 约谈
    accountabilities: Mapped[int] = mapped_column(Integer, default=0, server_default="0")  # 问责
    reply_text: Mapped[str] = mapped_column(Text, default="", server_default="")
    result: Mapped[str] = mapped_column(Text, default="", server_default="")
    closed_on: Mapped[date | None] = mapped_column(Date)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )


class CampaignCaseEvent(Base):
    """One step of a transferred case (received, updated, handled, replied, closed): who, when,
    what changed. Append-only by use."""

    __tablename__ = "campaign_case_events"
    __table_args__ = (Index("campaign_case_events_case", "case_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("campaign_cases.id", ondelete="CASCADE"))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    actor: Mapped[str] = mapped_column(Text)
    action: Mapped[str] = mapped_column(String(16))
    changes: Mapped[dict] = mapped_column(JSONB, default=dict, server_default="{}")


class DispatchReport(Base):
    """A township's report of the day on its cases (一天一调度); one per township and day."""

    __tablename__ = "dispatch_reports"
    __table_args__ = (
        Index("dispatch_reports_day", "campaign_id", "day", "township_code", unique=True),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    township_code: Mapped[str] = mapped_column(ForeignKey("townships.code", onupdate="CASCADE"))
    day: Mapped[date] = mapped_column(Date)
    progress: Mapped[str] = mapped_column(Text)
    reported_by: Mapped[str] = mapped_column(Text)
    reported_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class AssessmentRule(Base):
    """Points of one assessment item (考核): signed, e.g. −0.5 per overdue day, +1 per closure."""

    __tablename__ = "assessment_rules"
    __table_args__ = (_listed("item", ASSESSMENT_ITEMS, "assessment_item_valid"),)

    item: Mapped[str] = mapped_column(String(32), primary_key=True)
    points: Mapped[float] = mapped_column(Float)
    updated_by: Mapped[str] = mapped_column(Text, default="", server_default="")
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )


class AccountabilityRecord(Base):
    """A summons (约谈) or accountability (问责) held: who, which unit, why, linked problems."""

    __tablename__ = "accountability_records"
    __table_args__ = (
        _listed("kind", ACCOUNTABILITY_KINDS, "accountability_kind_valid"),
        Index("accountability_records_held", "held_on"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    held_on: Mapped[date] = mapped_column(Date)
    person: Mapped[str] = mapped_column(Text)
    unit: Mapped[str] = mapped_column(Text)
    township_code: Mapped[str | None] = mapped_column(
        ForeignKey("townships.code", onupdate="CASCADE")
    )
    reason: Mapped[str] = mapped_column(Text)
    outcome: Mapped[str] = mapped_column(Text, default="", server_default="")
    problem_codes: Mapped[list] = mapped_column(JSONB, default=list, server_default="[]")
    notice_numbers: Mapped[list] = mapped_column(JSONB, default=list, server_default="[]")
    recorded_by: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


# Stored assessment periods (考核期结果): migration 0011; the rules live in
# gis.campaigns.assessment.
ASSESSMENT_SCORED = ("township", "unit")


class AssessmentPeriod(Base):
    """A closed assessment period (e.g. 2026年第三季度): its results are stored, not recomputed,
    with the rules they were computed with and when."""

    __tablename__ = "assessment_periods"
    __table_args__ = (
        CheckConstraint("period_end >= period_start", name="assessment_period_order"),
        Index("assessment_periods_span", "period_start", "period_end", unique=True),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    period_start: Mapped[date] = mapped_column(Date)
    period_end: Mapped[date] = mapped_column(Date)
    rules: Mapped[dict] = mapped_column(JSONB)
    closed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    closed_by: Mapped[str] = mapped_column(Text)
    results: Mapped[list[AssessmentResult]] = relationship(
        back_populates="period", cascade="all, delete-orphan", order_by="AssessmentResult.id"
    )


class AssessmentResult(Base):
    """One township's or one responsible unit's stored result of a closed period: score, the
    count and points of each item, the county rank."""

    __tablename__ = "assessment_results"
    __table_args__ = (
        _listed("scored", ASSESSMENT_SCORED, "assessment_result_scored_valid"),
        Index("assessment_results_key", "period_id", "scored", "key", unique=True),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    period_id: Mapped[int] = mapped_column(
        ForeignKey("assessment_periods.id", ondelete="CASCADE")
    )
    scored: Mapped[str] = mapped_column(String(16))
    key: Mapped[str] = mapped_column(Text)
    name: Mapped[str] = mapped_column(Text)
    rank: Mapped[int] = mapped_column(Integer)
    score: Mapped[float] = mapped_column(Float)
    counts: Mapped[dict] = mapped_column(JSONB)
    points: Mapped[dict] = mapped_column(JSONB)
    period: Mapped[AssessmentPeriod] = relationship(back_populates="results")


# Complaint case file (一案一档): migration 0010; the rules live in gis.ledger.complaints.
COMPLAINT_STEP_KINDS = ("handling", "reply", "conclusion", "follow_up")
FOLLOW_UP_OUTCOMES = ("satisfied", "basically_satisfied", "unsatisfied", "unreachable")


class ComplaintStep(Base):
    """One step of a complaint's case: a handling step (办理), the reply (答复), the conclusion
    (办结) or a follow-up call (回访) with its outcome. Append-only by use."""

    __tablename__ = "complaint_steps"
    __table_args__ = (
        _listed("kind", COMPLAINT_STEP_KINDS, "complaint_step_kind_valid"),
        _listed("outcome", FOLLOW_UP_OUTCOMES, "complaint_step_outcome_valid", nullable=True),
        Index("complaint_steps_complaint", "complaint_id", "at"),
        Index(
            "complaint_steps_one_conclusion",
            "complaint_id",
            unique=True,
            postgresql_where=text("kind = 'conclusion'"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    complaint_id: Mapped[int] = mapped_column(ForeignKey("complaints.id", ondelete="CASCADE"))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    actor: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(16))
    text: Mapped[str] = mapped_column(Text, default="", server_default="")
    outcome: Mapped[str | None] = mapped_column(String(32))
