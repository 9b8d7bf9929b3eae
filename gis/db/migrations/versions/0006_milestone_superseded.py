"""milestones: superseded by a rebound; a township's claim that one is met, until confirmed

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("milestones", sa.Column("superseded_on", sa.Date(), nullable=True))
    op.add_column("milestones", sa.Column("claimed_on", sa.Date(), nullable=True))
    op.add_column("milestones", sa.Column("claimed_by", sa.Text(), nullable=True))


def downgrade() -> None:
    op.drop_column("milestones", "claimed_by")
    op.drop_column("milestones", "claimed_on")
    op.drop_column("milestones", "superseded_on")
