"""evidence documents: a kind, a note and the uploader on attachments; one per content per problem

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

KINDS = ("before_photo", "after_photo", "plan", "acceptance", "other")


def upgrade() -> None:
    op.add_column("attachments", sa.Column("kind", sa.String(16), nullable=True))
    op.add_column("attachments", sa.Column("note", sa.Text(), nullable=False, server_default=""))
    op.add_column(
        "attachments",
        sa.Column("uploader_id", sa.Integer(), sa.ForeignKey("users.id", ondelete="SET NULL"), nullable=True),
    )
    op.create_check_constraint(
        "evidence_kind_valid",
        "attachments",
        "kind IS NULL OR kind IN (" + ", ".join(f"'{k}'" for k in KINDS) + ")",
    )
    op.create_check_constraint(
        "evidence_of_a_problem",
        "attachments",
        "kind IS NULL OR (problem_id IS NOT NULL AND inspection_id IS NULL)",
    )
    op.create_index(
        "attachments_problem_evidence_sha",
        "attachments",
        ["problem_id", "sha256"],
        unique=True,
        postgresql_where=sa.text("kind IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_index("attachments_problem_evidence_sha", table_name="attachments")
    op.drop_constraint("evidence_of_a_problem", "attachments", type_="check")
    op.drop_constraint("evidence_kind_valid", "attachments", type_="check")
    op.drop_column("attachments", "uploader_id")
    op.drop_column("attachments", "note")
    op.drop_column("attachments", "kind")
