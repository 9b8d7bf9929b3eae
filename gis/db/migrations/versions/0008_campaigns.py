"""inspection campaigns: batches of transferred cases, daily dispatch, assessment rules, summons

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def _in(column: str, values: tuple[str, ...], nullable: bool = False) -> str:
    condition = f"{column} IN ({', '.join(repr(v) for v in values)})"
    return f"{column} IS NULL OR {condition}" if nullable else condition


def _now() -> sa.Column:
    return sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now())


ITEMS = ("base", "overdue_day", "rebound", "red_warning", "late_reply", "closed_on_time", "summons", "accountability")
DEFAULT_RULES = {
    "base": 100.0,
    "overdue_day": -0.5,
    "rebound": -5.0,
    "red_warning": -3.0,
    "late_reply": -2.0,
    "closed_on_time": 1.0,
    "summons": -5.0,
    "accountability": -10.0,
}


def upgrade() -> None:
    op.create_table(
        "campaigns",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.Text(), nullable=False, unique=True),
        sa.Column("level", sa.String(16), nullable=False),
        sa.Column("stationed_from", sa.Date(), nullable=False),
        sa.Column("stationed_to", sa.Date(), nullable=False),
        sa.Column("reply_days", sa.Integer(), nullable=False),
        sa.Column("reply_day_kind", sa.String(16), nullable=False),
        _now(),
        sa.CheckConstraint(_in("level", ("central", "provincial", "municipal")), name="campaign_level_valid"),
        sa.CheckConstraint(_in("reply_day_kind", ("calendar", "working")), name="reply_day_kind_valid"),
        sa.CheckConstraint("reply_days >= 1", name="reply_days_positive"),
        sa.CheckConstraint("stationed_to >= stationed_from", name="stationed_in_order"),
    )
    op.create_table(
        "campaign_batches",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("campaign_id", sa.Integer(), sa.ForeignKey("campaigns.id", ondelete="CASCADE"), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("received_on", sa.Date(), nullable=False),
        sa.CheckConstraint("number >= 1", name="batch_number_positive"),
    )
    op.create_index("campaign_batches_number", "campaign_batches", ["campaign_id", "number"], unique=True)
    op.create_table(
        "campaign_cases",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("batch_id", sa.Integer(), sa.ForeignKey("campaign_batches.id", ondelete="CASCADE"), nullable=False),
        sa.Column("complaint_id", sa.Integer(), sa.ForeignKey("complaints.id", ondelete="CASCADE"), nullable=False, unique=True),
        sa.Column("pollution_type", sa.Text(), nullable=False, server_default=""),
        sa.Column("checked_on", sa.Date()),
        sa.Column("check_note", sa.Text(), nullable=False, server_default=""),
        sa.Column("finding", sa.String(16)),
        sa.Column("measures", sa.Text(), nullable=False, server_default=""),
        sa.Column("responsible_unit", sa.Text(), nullable=False, server_default=""),
        sa.Column("responsible_person", sa.Text(), nullable=False, server_default=""),
        sa.Column("orders", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("penalties", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("summonses", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("accountabilities", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("reply_text", sa.Text(), nullable=False, server_default=""),
        sa.Column("result", sa.Text(), nullable=False, server_default=""),
        sa.Column("closed_on", sa.Date()),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.CheckConstraint(_in("finding", ("true", "partly_true", "untrue"), nullable=True), name="case_finding_valid"),
        sa.CheckConstraint(
            "orders >= 0 AND penalties >= 0 AND summonses >= 0 AND accountabilities >= 0",
            name="case_counts_non_negative",
        ),
    )
    op.create_index("campaign_cases_batch", "campaign_cases", ["batch_id"])
    op.create_table(
        "campaign_case_events",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("case_id", sa.Integer(), sa.ForeignKey("campaign_cases.id", ondelete="CASCADE"), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.Text(), nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("changes", JSONB(), nullable=False, server_default="{}"),
    )
    op.create_index("campaign_case_events_case", "campaign_case_events", ["case_id", "at"])
    op.create_table(
        "dispatch_reports",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("campaign_id", sa.Integer(), sa.ForeignKey("campaigns.id", ondelete="CASCADE"), nullable=False),
        sa.Column("township_code", sa.String(12), sa.ForeignKey("townships.code", onupdate="CASCADE"), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("progress", sa.Text(), nullable=False),
        sa.Column("reported_by", sa.Text(), nullable=False),
        sa.Column("reported_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("dispatch_reports_day", "dispatch_reports", ["campaign_id", "day", "township_code"], unique=True)
    rules = op.create_table(
        "assessment_rules",
        sa.Column("item", sa.String(32), primary_key=True),
        sa.Column("points", sa.Float(), nullable=False),
        sa.Column("updated_by", sa.Text(), nullable=False, server_default=""),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.CheckConstraint(_in("item", ITEMS), name="assessment_item_valid"),
    )
    op.bulk_insert(rules, [{"item": k, "points": v, "updated_by": "default"} for k, v in DEFAULT_RULES.items()])
    op.create_table(
        "accountability_records",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("held_on", sa.Date(), nullable=False),
        sa.Column("person", sa.Text(), nullable=False),
        sa.Column("unit", sa.Text(), nullable=False),
        sa.Column("township_code", sa.String(12), sa.ForeignKey("townships.code", onupdate="CASCADE")),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("outcome", sa.Text(), nullable=False, server_default=""),
        sa.Column("problem_codes", JSONB(), nullable=False, server_default="[]"),
        sa.Column("notice_numbers", JSONB(), nullable=False, server_default="[]"),
        sa.Column("recorded_by", sa.Text(), nullable=False),
        _now(),
        sa.CheckConstraint(_in("kind", ("summons", "accountability")), name="accountability_kind_valid"),
    )
    op.create_index("accountability_records_held", "accountability_records", ["held_on"])


def downgrade() -> None:
    for table in (
        "accountability_records",
        "assessment_rules",
        "dispatch_reports",
        "campaign_case_events",
        "campaign_cases",
        "campaign_batches",
        "campaigns",
    ):
        op.drop_table(table)
