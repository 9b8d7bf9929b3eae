"""notices: escalation notice rules (seeded), contacts, channels, notices, deliveries, runs

Revision ID: 0004
Revises: 0003
"""

from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None

ALL = ["responsible_person", "township_head", "office"]
# The default rules (kept in step with gis.notices.rules.DEFAULT_RULES; frozen here on purpose).
DEFAULT_RULES = [
    {"name": "blue_reminder", "trigger": "warning", "colour": "blue", "days": None,
     "kind": "reminder", "recipients": ["responsible_person"],
     "description": "蓝色预警：临近整改期限，向责任人发提醒函"},
    {"name": "yellow_warning", "trigger": "warning", "colour": "yellow", "days": None,
     "kind": "warning", "recipients": ["responsible_person", "township_head"],
     "description": "黄色预警：已逾期，向责任人和属地乡镇发预警函"},
    {"name": "orange_supervision", "trigger": "warning", "colour": "orange", "days": None,
     "kind": "supervision", "recipients": ALL,
     "description": "橙色预警：逾期较长，发督办函，抄送督察整改办"},
    {"name": "red_summons", "trigger": "warning", "colour": "red", "days": None,
     "kind": "summons", "recipients": ALL,
     "description": "红色预警：严重逾期，约谈责任单位主要负责人"},
    {"name": "rebound_supervision", "trigger": "rebound", "colour": None, "days": 7,
     "kind": "supervision", "recipients": ALL,
     "description": "问题反弹（7日内记录的）：发督办函"},
    {"name": "suspected_rebound_reminder", "trigger": "suspected_rebound", "colour": None,
     "days": None, "kind": "reminder", "recipients": ["office", "township_head"],
     "description": "疑似反弹待核实：提醒督察整改办和属地乡镇"},
    {"name": "off_site_warning", "trigger": "off_site", "colour": None, "days": 7,
     "kind": "warning", "recipients": ["office", "township_head"],
     "description": "巡查打卡位置偏离问题点位（7日内）：预警"},
    {"name": "complaint_due_reminder", "trigger": "complaint_due", "colour": None, "days": 2,
     "kind": "reminder", "recipients": ["township_head", "office"],
     "description": "信访件2日内到反馈期限且未反馈：提醒"},
]


def upgrade() -> None:
    rules = op.create_table('notice_rules',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('trigger', sa.String(length=32), nullable=False),
    sa.Column('colour', sa.String(length=16), nullable=True),
    sa.Column('days', sa.Integer(), nullable=True),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('recipients', postgresql.JSONB(astext_type=sa.Text()), server_default='[]', nullable=False),
    sa.Column('channels', postgresql.JSONB(astext_type=sa.Text()), server_default='[]', nullable=False),
    sa.Column('min_interval_days', sa.Integer(), nullable=True),
    sa.Column('enabled', sa.Boolean(), server_default='true', nullable=False),
    sa.Column('description', sa.Text(), server_default='', nullable=False),
    sa.CheckConstraint("(trigger = 'warning') = (colour IS NOT NULL)", name='colour_for_warning'),
    sa.CheckConstraint("colour IS NULL OR colour IN ('blue', 'yellow', 'orange', 'red')", name='colour_valid'),
    sa.CheckConstraint("kind IN ('reminder', 'warning', 'supervision', 'summons')", name='kind_valid'),
    sa.CheckConstraint("trigger IN ('warning', 'days_before', 'days_after', 'rebound', 'suspected_rebound', 'off_site', 'complaint_due')", name='trigger_valid'),
    sa.CheckConstraint('days IS NULL OR days >= 0', name='days_non_negative'),
    sa.CheckConstraint('min_interval_days IS NULL OR min_interval_days >= 1', name='interval_positive'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('name')
    )
    op.create_table('notice_counters',
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('last_number', sa.Integer(), server_default='0', nullable=False),
    sa.PrimaryKeyConstraint('kind', 'year')
    )
    op.create_table('notice_runs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('today', sa.Date(), nullable=False),
    sa.Column('trigger', sa.String(length=16), nullable=False),
    sa.Column('host', sa.Text(), server_default='', nullable=False),
    sa.Column('issued', sa.Integer(), server_default='0', nullable=False),
    sa.Column('sent', sa.Integer(), server_default='0', nullable=False),
    sa.Column('failed', sa.Integer(), server_default='0', nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('notice_runs_started_at', 'notice_runs', ['started_at'], unique=False)
    op.create_table('notice_channels',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('config', postgresql.JSONB(astext_type=sa.Text()), server_default='{}', nullable=False),
    sa.Column('township_code', sa.String(length=12), nullable=True),
    sa.Column('enabled', sa.Boolean(), server_default='true', nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("kind IN ('email', 'dingtalk', 'wecom', 'webhook')", name='channel_kind_valid'),
    sa.ForeignKeyConstraint(['township_code'], ['townships.code'], onupdate='CASCADE', ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('name')
    )
    op.create_table('notice_contacts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('role', sa.String(length=32), nullable=False),
    sa.Column('township_code', sa.String(length=12), nullable=True),
    sa.Column('unit', sa.Text(), server_default='', nullable=False),
    sa.Column('email', sa.Text(), server_default='', nullable=False),
    sa.Column('phone', sa.Text(), server_default='', nullable=False),
    sa.Column('enabled', sa.Boolean(), server_default='true', nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("role IN ('responsible_person', 'township_head', 'office')", name='contact_role_valid'),
    sa.ForeignKeyConstraint(['township_code'], ['townships.code'], onupdate='CASCADE', ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('notice_contacts_role_name', 'notice_contacts', ['role', 'name'], unique=False)
    op.create_table('notices',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('number', sa.Text(), nullable=False),
    sa.Column('title', sa.Text(), nullable=False),
    sa.Column('rule_id', sa.Integer(), nullable=True),
    sa.Column('rule_name', sa.Text(), nullable=False),
    sa.Column('trigger', sa.String(length=32), nullable=False),
    sa.Column('colour', sa.String(length=16), nullable=True),
    sa.Column('dedup_key', sa.Text(), nullable=False),
    sa.Column('problem_id', sa.Integer(), nullable=True),
    sa.Column('complaint_id', sa.Integer(), nullable=True),
    sa.Column('township_code', sa.String(length=12), nullable=True),
    sa.Column('event_id', sa.Integer(), nullable=True),
    sa.Column('issued_on', sa.Date(), nullable=False),
    sa.Column('issued_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('recipients', postgresql.JSONB(astext_type=sa.Text()), server_default='[]', nullable=False),
    sa.Column('context', postgresql.JSONB(astext_type=sa.Text()), server_default='{}', nullable=False),
    sa.Column('html', sa.Text(), nullable=False),
    sa.Column('text', sa.Text(), server_default='', nullable=False),
    sa.CheckConstraint("kind IN ('reminder', 'warning', 'supervision', 'summons')", name='notice_kind_valid'),
    sa.ForeignKeyConstraint(['complaint_id'], ['complaints.id'], ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['event_id'], ['events.id'], ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['problem_id'], ['problems.id'], ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['rule_id'], ['notice_rules.id'], ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['township_code'], ['townships.code'], onupdate='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('number')
    )
    op.create_index('notices_dedup_day', 'notices', ['dedup_key', 'issued_on'], unique=True)
    op.create_index('notices_kind_year_seq', 'notices', ['kind', 'year', 'seq'], unique=True)
    op.create_index('notices_problem', 'notices', ['problem_id'], unique=False)
    op.create_index('notices_township_issued', 'notices', ['township_code', 'issued_at'], unique=False)
    op.create_table('notice_deliveries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('notice_id', sa.Integer(), nullable=False),
    sa.Column('channel_id', sa.Integer(), nullable=True),
    sa.Column('channel_name', sa.Text(), nullable=False),
    sa.Column('channel_kind', sa.String(length=16), nullable=False),
    sa.Column('recipients', postgresql.JSONB(astext_type=sa.Text()), server_default='[]', nullable=False),
    sa.Column('payload', postgresql.JSONB(astext_type=sa.Text()), server_default='{}', nullable=False),
    sa.Column('status', sa.String(length=16), server_default='pending', nullable=False),
    sa.Column('attempts', sa.Integer(), server_default='0', nullable=False),
    sa.Column('max_attempts', sa.Integer(), server_default='5', nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_attempt_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('delivered_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('result', sa.Text(), server_default='', nullable=False),
    sa.Column('attempt_log', postgresql.JSONB(astext_type=sa.Text()), server_default='[]', nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("status IN ('pending', 'sent', 'failed', 'skipped')", name='delivery_status_valid'),
    sa.ForeignKeyConstraint(['channel_id'], ['notice_channels.id'], ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['notice_id'], ['notices.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('notice_deliveries_due', 'notice_deliveries', ['status', 'next_attempt_at'], unique=False)
    op.create_index('notice_deliveries_notice', 'notice_deliveries', ['notice_id'], unique=False)
    op.bulk_insert(rules, [
        {**rule, "channels": [], "min_interval_days": None, "enabled": True}
        for rule in DEFAULT_RULES
    ])


def downgrade() -> None:
    op.drop_index('notice_deliveries_notice', table_name='notice_deliveries')
    op.drop_index('notice_deliveries_due', table_name='notice_deliveries')
    op.drop_table('notice_deliveries')
    op.drop_index('notices_township_issued', table_name='notices')
    op.drop_index('notices_problem', table_name='notices')
    op.drop_index('notices_kind_year_seq', table_name='notices')
    op.drop_index('notices_dedup_day', table_name='notices')
    op.drop_table('notices')
    op.drop_index('notice_contacts_role_name', table_name='notice_contacts')
    op.drop_table('notice_contacts')
    op.drop_table('notice_channels')
    op.drop_index('notice_runs_started_at', table_name='notice_runs')
    op.drop_table('notice_runs')
    op.drop_table('notice_counters')
    op.drop_table('notice_rules')
