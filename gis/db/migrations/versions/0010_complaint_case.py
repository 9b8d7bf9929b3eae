"""complaint case file (一案一档): handling steps, the reply, conclusion and follow-up call

Revision ID: 0010
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

KINDS = ("handling", "reply", "conclusion", "follow_up")
OUTCOMES = ("satisfied", "basically_satisfied", "unsatisfied", "unreachable")


def _in(column: str, values: tuple[str, ...], nullable: bool = False) -> str:
    condition = f"{column} IN ({', '.join(repr(v) for v in values)})"
    return f"{column} IS NULL OR {condition}" if nullable else condition


def upgrade() -> None:
    op.create_table(
        "complaint_steps",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "complaint_id",
            sa.Integer(),
            sa.ForeignKey("complaints.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("actor", sa.Text(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("text", sa.Text(), nullable=False, server_default=""),
        sa.Column("outcome", sa.String(32)),
        sa.CheckConstraint(_in("kind", KINDS), name="complaint_step_kind_valid"),
        sa.CheckConstraint(_in("outcome", OUTCOMES, nullable=True), name="complaint_step_outcome_valid"),
    )
    op.create_index("complaint_steps_complaint", "complaint_steps", ["complaint_id", "at"])
    # one conclusion (办结) per case
    op.create_index(
        "complaint_steps_one_conclusion",
        "complaint_steps",
        ["complaint_id"],
        unique=True,
        postgresql_where=sa.text("kind = 'conclusion'"),
    )


def downgrade() -> None:
    op.drop_table("complaint_steps")
