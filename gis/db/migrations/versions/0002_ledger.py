"""ledger: closures, look-back rounds, suspected rebounds

Revision ID: 0002
Revises: 0001
"""

from alembic import op
import sqlalchemy as sa
import geoalchemy2
from sqlalchemy.dialects import postgresql

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('lookback_rounds',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('created_by', sa.Text(), nullable=False),
    sa.Column('due_date', sa.Date(), nullable=True),
    sa.Column('criteria', postgresql.JSONB(astext_type=sa.Text()), server_default='{}', nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('closures',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('problem_id', sa.Integer(), nullable=False),
    sa.Column('applied_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('applied_by', sa.Text(), nullable=False),
    sa.Column('evidence', postgresql.JSONB(astext_type=sa.Text()), server_default='{}', nullable=False),
    sa.Column('checked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('checked_by', sa.Text(), nullable=True),
    sa.Column('check_passed', sa.Boolean(), nullable=True),
    sa.Column('check_note', sa.Text(), server_default='', nullable=False),
    sa.Column('approved_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('approved_by', sa.Text(), nullable=True),
    sa.Column('notice_ends_on', sa.Date(), nullable=True),
    sa.Column('outcome', sa.String(length=16), server_default='pending', nullable=False),
    sa.CheckConstraint("outcome IN ('pending', 'in_notice', 'closed', 'rejected')", name='outcome_valid'),
    sa.ForeignKeyConstraint(['problem_id'], ['problems.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('closures_one_pending', 'closures', ['problem_id'], unique=True, postgresql_where="outcome IN ('pending', 'in_notice')")
    op.create_table('lookback_tasks',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('round_id', sa.Integer(), nullable=False),
    sa.Column('problem_id', sa.Integer(), nullable=False),
    sa.Column('result', sa.String(length=16), server_default='pending', nullable=False),
    sa.Column('inspection_id', sa.Integer(), nullable=True),
    sa.Column('done_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('note', sa.Text(), server_default='', nullable=False),
    sa.CheckConstraint("result IN ('pending', 'passed', 'rebounded')", name='result_valid'),
    sa.ForeignKeyConstraint(['inspection_id'], ['inspections.id'], ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['problem_id'], ['problems.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['round_id'], ['lookback_rounds.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('lookback_tasks_round_problem', 'lookback_tasks', ['round_id', 'problem_id'], unique=True)
    op.create_table('suspected_rebounds',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('problem_id', sa.Integer(), nullable=False),
    sa.Column('complaint_id', sa.Integer(), nullable=True),
    sa.Column('inspection_id', sa.Integer(), nullable=True),
    sa.Column('distance_m', sa.Float(), nullable=False),
    sa.Column('days_since_closed', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=16), server_default='open', nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('decided_by', sa.Text(), nullable=True),
    sa.Column('reason', sa.Text(), server_default='', nullable=False),
    sa.CheckConstraint("status IN ('open', 'confirmed', 'dismissed')", name='status_valid'),
    sa.CheckConstraint('num_nonnulls(complaint_id, inspection_id) = 1', name='one_trigger'),
    sa.ForeignKeyConstraint(['complaint_id'], ['complaints.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['inspection_id'], ['inspections.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['problem_id'], ['problems.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('suspected_rebounds_complaint', 'suspected_rebounds', ['problem_id', 'complaint_id'], unique=True, postgresql_where='complaint_id IS NOT NULL')
    op.create_index('suspected_rebounds_inspection', 'suspected_rebounds', ['problem_id', 'inspection_id'], unique=True, postgresql_where='inspection_id IS NOT NULL')


def downgrade() -> None:
    op.drop_index('suspected_rebounds_inspection', table_name='suspected_rebounds', postgresql_where='inspection_id IS NOT NULL')
    op.drop_index('suspected_rebounds_complaint', table_name='suspected_rebounds', postgresql_where='complaint_id IS NOT NULL')
    op.drop_table('suspected_rebounds')
    op.drop_index('lookback_tasks_round_problem', table_name='lookback_tasks')
    op.drop_table('lookback_tasks')
    op.drop_index('closures_one_pending', table_name='closures', postgresql_where="outcome IN ('pending', 'in_notice')")
    op.drop_table('closures')
    op.drop_table('lookback_rounds')
