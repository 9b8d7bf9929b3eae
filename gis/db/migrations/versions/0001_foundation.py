"""foundation: townships, sites, problems, ledger trail

Revision ID: 0001
Revises:
"""

import geoalchemy2
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


EVENTS_APPEND_ONLY = """
CREATE FUNCTION events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'events are append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END $$;
CREATE TRIGGER events_append_only BEFORE UPDATE OR DELETE ON events
    FOR EACH ROW EXECUTE FUNCTION events_append_only();
"""


def upgrade() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS postgis")
    op.create_table('townships',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=12), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('geom', geoalchemy2.types.Geometry(geometry_type='MULTIPOLYGON', srid=4490, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry', nullable=False), nullable=False),
    sa.CheckConstraint("code ~ '^[0-9]{12}$'", name='code_12_digits'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('code')
    )
    op.create_index('townships_geom_gist', 'townships', ['geom'], unique=False, postgresql_using='gist')
    op.create_table('sites',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('zone_level', sa.String(length=8), nullable=True),
    sa.Column('parent_id', sa.Integer(), nullable=True),
    sa.Column('township_code', sa.String(length=12), nullable=True),
    sa.Column('properties', postgresql.JSONB(astext_type=sa.Text()), server_default='{}', nullable=False),
    sa.Column('geom', geoalchemy2.types.Geometry(srid=4490, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry', nullable=False), nullable=False),
    sa.CheckConstraint("(kind = 'protection_zone') = (zone_level IS NOT NULL)", name='zone_level_for_zones'),
    sa.CheckConstraint("kind IN ('sewage_plant', 'sewage_network', 'sand_gravel', 'water_source', 'protection_zone', 'dust_source', 'landfill', 'river_outfall', 'black_odorous_water', 'air_station', 'enterprise', 'river')", name='kind_valid'),
    sa.CheckConstraint("zone_level IS NULL OR zone_level IN ('1', '2', 'quasi')", name='zone_level_valid'),
    sa.ForeignKeyConstraint(['parent_id'], ['sites.id'], ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['township_code'], ['townships.code'], onupdate='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('sites_geom_gist', 'sites', ['geom'], unique=False, postgresql_using='gist')
    op.create_index('sites_kind', 'sites', ['kind'], unique=False)
    op.create_table('problems',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.Text(), nullable=False),
    sa.Column('source', sa.String(length=32), nullable=False),
    sa.Column('category', sa.String(length=32), nullable=False),
    sa.Column('township_code', sa.String(length=12), nullable=True),
    sa.Column('township_override_reason', sa.Text(), nullable=True),
    sa.Column('description', sa.Text(), server_default='', nullable=False),
    sa.Column('responsible_unit', sa.Text(), server_default='', nullable=False),
    sa.Column('responsible_person', sa.Text(), server_default='', nullable=False),
    sa.Column('supervising_leader', sa.Text(), server_default='', nullable=False),
    sa.Column('target', sa.Text(), server_default='', nullable=False),
    sa.Column('measures', sa.Text(), server_default='', nullable=False),
    sa.Column('progress', sa.Text(), server_default='', nullable=False),
    sa.Column('deadline_kind', sa.String(length=16), nullable=False),
    sa.Column('deadline', sa.Date(), nullable=True),
    sa.Column('status', sa.String(length=32), nullable=False),
    sa.Column('reported_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('assigned_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('notice_ends_on', sa.Date(), nullable=True),
    sa.Column('rebound_count', sa.Integer(), server_default='0', nullable=False),
    sa.Column('site_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('geom', geoalchemy2.types.Geometry(srid=4490, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry'), nullable=True),
    sa.CheckConstraint("category IN ('sewage_plant', 'sewage_network', 'sand_gravel', 'water_source', 'dust', 'landfill', 'river_outfall', 'black_odorous_water', 'industrial', 'straw_burning', 'restaurant_fumes', 'other')", name='category_valid'),
    sa.CheckConstraint("deadline_kind = 'long_term' OR status IN ('reported') OR deadline IS NOT NULL", name='deadline_set_once_assigned'),
    sa.CheckConstraint("deadline_kind IN ('immediate', 'dated', 'long_term')", name='deadline_kind_valid'),
    sa.CheckConstraint("source IN ('central_1', 'central_2', 'central_lookback', 'provincial', 'municipal', 'self_check', 'unannounced', 'complaint', 'pushed_list', 'inspection')", name='source_valid'),
    sa.CheckConstraint("status IN ('reported', 'assigned', 'rectifying', 'awaiting_verification', 'closed', 'rebounded')", name='status_valid'),
    sa.ForeignKeyConstraint(['site_id'], ['sites.id'], ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['township_code'], ['townships.code'], onupdate='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('code')
    )
    op.create_index('problems_deadline', 'problems', ['deadline'], unique=False)
    op.create_index('problems_geom_gist', 'problems', ['geom'], unique=False, postgresql_using='gist')
    op.create_index('problems_township_status', 'problems', ['township_code', 'status'], unique=False)
    op.create_index('problems_updated_at', 'problems', ['updated_at'], unique=False)
    op.create_table('complaints',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.Text(), nullable=False),
    sa.Column('channel', sa.String(length=32), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('category', sa.String(length=32), nullable=True),
    sa.Column('text', sa.Text(), server_default='', nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('feedback_due', sa.Date(), nullable=False),
    sa.Column('feedback_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('problem_id', sa.Integer(), nullable=True),
    sa.Column('township_code', sa.String(length=12), nullable=True),
    sa.Column('geom', geoalchemy2.types.Geometry(geometry_type='POINT', srid=4490, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry'), nullable=True),
    sa.CheckConstraint("category IS NULL OR category IN ('sewage_plant', 'sewage_network', 'sand_gravel', 'water_source', 'dust', 'landfill', 'river_outfall', 'black_odorous_water', 'industrial', 'straw_burning', 'restaurant_fumes', 'other')", name='category_valid'),
    sa.CheckConstraint("channel IN ('hotline_12345', 'hotline_12369', 'letter', 'visit', 'online', 'transferred')", name='channel_valid'),
    sa.CheckConstraint("kind IN ('water', 'air', 'soil', 'ecology', 'noise', 'radiation', 'other')", name='kind_valid'),
    sa.ForeignKeyConstraint(['problem_id'], ['problems.id'], ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['township_code'], ['townships.code'], onupdate='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('code')
    )
    op.create_index('complaints_geom_gist', 'complaints', ['geom'], unique=False, postgresql_using='gist')
    op.create_index('complaints_received_at', 'complaints', ['received_at'], unique=False)
    op.create_table('events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('problem_id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('actor', sa.Text(), nullable=False),
    sa.Column('action', sa.String(length=32), nullable=False),
    sa.Column('reason', sa.Text(), server_default='', nullable=False),
    sa.Column('before', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.Column('after', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.ForeignKeyConstraint(['problem_id'], ['problems.id'], ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('events_problem_at', 'events', ['problem_id', 'at'], unique=False)
    op.execute(EVENTS_APPEND_ONLY)
    op.create_table('inspections',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('uuid', sa.Uuid(), nullable=False),
    sa.Column('problem_id', sa.Integer(), nullable=True),
    sa.Column('inspector', sa.Text(), server_default='', nullable=False),
    sa.Column('finding', sa.String(length=16), nullable=False),
    sa.Column('category', sa.String(length=32), nullable=True),
    sa.Column('note', sa.Text(), server_default='', nullable=False),
    sa.Column('accuracy_m', sa.Float(), nullable=True),
    sa.Column('observed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('source_crs', sa.String(length=16), server_default='wgs84', nullable=False),
    sa.Column('source_lon', sa.Float(), nullable=True),
    sa.Column('source_lat', sa.Float(), nullable=True),
    sa.Column('township_code', sa.String(length=12), nullable=True),
    sa.Column('payload_sha256', sa.String(length=64), server_default='', nullable=False),
    sa.Column('flags', postgresql.JSONB(astext_type=sa.Text()), server_default='[]', nullable=False),
    sa.Column('geom', geoalchemy2.types.Geometry(geometry_type='POINT', srid=4490, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry', nullable=False), nullable=False),
    sa.CheckConstraint("category IS NULL OR category IN ('sewage_plant', 'sewage_network', 'sand_gravel', 'water_source', 'dust', 'landfill', 'river_outfall', 'black_odorous_water', 'industrial', 'straw_burning', 'restaurant_fumes', 'other')", name='category_valid'),
    sa.CheckConstraint("finding IN ('checked', 'persists', 'new_problem', 'rebound')", name='finding_valid'),
    sa.CheckConstraint('accuracy_m IS NULL OR accuracy_m >= 0', name='accuracy_non_negative'),
    sa.ForeignKeyConstraint(['problem_id'], ['problems.id'], ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['township_code'], ['townships.code'], onupdate='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('uuid')
    )
    op.create_index('inspections_geom_gist', 'inspections', ['geom'], unique=False, postgresql_using='gist')
    op.create_index('inspections_received_at', 'inspections', ['received_at'], unique=False)
    op.create_index(op.f('ix_inspections_problem_id'), 'inspections', ['problem_id'], unique=False)
    op.create_table('milestones',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('problem_id', sa.Integer(), nullable=False),
    sa.Column('title', sa.Text(), nullable=False),
    sa.Column('due_date', sa.Date(), nullable=False),
    sa.Column('met_on', sa.Date(), nullable=True),
    sa.Column('note', sa.Text(), server_default='', nullable=False),
    sa.ForeignKeyConstraint(['problem_id'], ['problems.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_milestones_problem_id'), 'milestones', ['problem_id'], unique=False)
    op.create_table('attachments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('filename', sa.Text(), nullable=False),
    sa.Column('media_type', sa.Text(), nullable=False),
    sa.Column('size_bytes', sa.Integer(), nullable=False),
    sa.Column('problem_id', sa.Integer(), nullable=True),
    sa.Column('inspection_id', sa.Integer(), nullable=True),
    sa.Column('complaint_id', sa.Integer(), nullable=True),
    sa.Column('exif_lon', sa.Float(), nullable=True),
    sa.Column('exif_lat', sa.Float(), nullable=True),
    sa.Column('uploaded_by', sa.Text(), server_default='', nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint('num_nonnulls(problem_id, inspection_id, complaint_id) >= 1', name='linked_to_something'),
    sa.ForeignKeyConstraint(['complaint_id'], ['complaints.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['inspection_id'], ['inspections.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['problem_id'], ['problems.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('attachments_inspection_sha', 'attachments', ['inspection_id', 'sha256'], unique=True, postgresql_where='inspection_id IS NOT NULL')
    op.create_index('attachments_sha256', 'attachments', ['sha256'], unique=False)


def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS events_append_only ON events")
    op.execute("DROP FUNCTION IF EXISTS events_append_only()")
    op.drop_index('attachments_sha256', table_name='attachments')
    op.drop_index('attachments_inspection_sha', table_name='attachments', postgresql_where='inspection_id IS NOT NULL')
    op.drop_table('attachments')
    op.drop_index(op.f('ix_milestones_problem_id'), table_name='milestones')
    op.drop_table('milestones')
    op.drop_index(op.f('ix_inspections_problem_id'), table_name='inspections')
    op.drop_index('inspections_received_at', table_name='inspections')
    op.drop_index('inspections_geom_gist', table_name='inspections', postgresql_using='gist')
    op.drop_table('inspections')
    op.drop_index('events_problem_at', table_name='events')
    op.drop_table('events')
    op.drop_index('complaints_received_at', table_name='complaints')
    op.drop_index('complaints_geom_gist', table_name='complaints', postgresql_using='gist')
    op.drop_table('complaints')
    op.drop_index('problems_updated_at', table_name='problems')
    op.drop_index('problems_township_status', table_name='problems')
    op.drop_index('problems_geom_gist', table_name='problems', postgresql_using='gist')
    op.drop_index('problems_deadline', table_name='problems')
    op.drop_table('problems')
    op.drop_index('sites_kind', table_name='sites')
    op.drop_index('sites_geom_gist', table_name='sites', postgresql_using='gist')
    op.drop_table('sites')
    op.drop_index('townships_geom_gist', table_name='townships', postgresql_using='gist')
    op.drop_table('townships')
