"""geography index on problems for metre-radius searches (rebounds, nearby problems)

Revision ID: 0005
Revises: 0004
"""

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # ST_DWithin(geom::geography, …, metres) can use an index on the same expression.
    op.execute(
        "CREATE INDEX IF NOT EXISTS problems_geog_gist ON problems "
        "USING gist ((geom::geography))"
    )


def downgrade() -> None:
    op.execute("DROP INDEX IF EXISTS problems_geog_gist")
