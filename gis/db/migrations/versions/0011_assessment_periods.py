"""stored assessment periods (考核期结果): a closed period and its results per township and unit

Revision ID: 0011
Revises: 0010
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "assessment_periods",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("period_end", sa.Date(), nullable=False),
        sa.Column("rules", postgresql.JSONB(), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closed_by", sa.Text(), nullable=False),
        sa.CheckConstraint("period_end >= period_start", name="assessment_period_order"),
    )
    op.create_index(
        "assessment_periods_span", "assessment_periods", ["period_start", "period_end"],
        unique=True,
    )
    op.create_table(
        "assessment_results",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "period_id",
            sa.Integer(),
            sa.ForeignKey("assessment_periods.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("scored", sa.String(16), nullable=False),
        sa.Column("key", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("rank", sa.Integer(), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("counts", postgresql.JSONB(), nullable=False),
        sa.Column("points", postgresql.JSONB(), nullable=False),
        sa.CheckConstraint("scored IN ('township', 'unit')", name="assessment_result_scored_valid"),
    )
    op.create_index(
        "assessment_results_key", "assessment_results", ["period_id", "scored", "key"],
        unique=True,
    )


def downgrade() -> None:
    op.drop_table("assessment_results")
    op.drop_table("assessment_periods")
