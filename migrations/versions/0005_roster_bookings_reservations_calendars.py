"""roster, bookings, reservations, calendars

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29 17:31:44.998189
"""

import uuid
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('availability_exceptions',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('user_id', sa.Uuid(), nullable=False),
    sa.Column('on_date', sa.Date(), nullable=False),
    sa.Column('unavailable', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_availability_exceptions_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_availability_exceptions')),
    sa.UniqueConstraint('user_id', 'on_date', name=op.f('uq_availability_exceptions_user_id_on_date'))
    )
    op.create_table('availability_windows',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('user_id', sa.Uuid(), nullable=False),
    sa.Column('weekday', sa.Integer(), nullable=False),
    sa.Column('start_time', sa.Time(), nullable=False),
    sa.Column('end_time', sa.Time(), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_availability_windows_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_availability_windows'))
    )
    with op.batch_alter_table('availability_windows', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_availability_windows_user_id'), ['user_id'], unique=False)

    op.create_table('calendar_feeds',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('user_id', sa.Uuid(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_calendar_feeds_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_calendar_feeds')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_calendar_feeds_token_hash'))
    )
    with op.batch_alter_table('calendar_feeds', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_calendar_feeds_user_id'), ['user_id'], unique=False)

    op.create_table('facilitator_conflicts',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('user_id', sa.Uuid(), nullable=False),
    sa.Column('docket_number', sa.String(length=64), nullable=False),
    sa.Column('declared_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_facilitator_conflicts_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_facilitator_conflicts')),
    sa.UniqueConstraint('user_id', 'docket_number', name=op.f('uq_facilitator_conflicts_user_id_docket_number'))
    )
    with op.batch_alter_table('facilitator_conflicts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_facilitator_conflicts_docket_number'), ['docket_number'], unique=False)

    op.create_table('party_unavailability',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('party_id', sa.Uuid(), nullable=False),
    sa.Column('starts_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ends_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['party_id'], ['parties.id'], name=op.f('fk_party_unavailability_party_id_parties')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_party_unavailability'))
    )
    with op.batch_alter_table('party_unavailability', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_party_unavailability_party_id'), ['party_id'], unique=False)

    op.create_table('session_facilitators',
    sa.Column('session_id', sa.Uuid(), nullable=False),
    sa.Column('user_id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['session_id'], ['sessions.id'], name=op.f('fk_session_facilitators_session_id_sessions')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_session_facilitators_user_id_users')),
    sa.PrimaryKeyConstraint('session_id', 'user_id', name=op.f('pk_session_facilitators'))
    )
    with op.batch_alter_table('session_facilitators', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_session_facilitators_user_id'), ['user_id'], unique=False)

    op.create_table('session_participants',
    sa.Column('session_id', sa.Uuid(), nullable=False),
    sa.Column('party_id', sa.Uuid(), nullable=False),
    sa.Column('arrive_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('leave_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('response', sa.String(length=12), nullable=False),
    sa.Column('responded_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('attended', sa.Boolean(), nullable=True),
    sa.ForeignKeyConstraint(['party_id'], ['parties.id'], name=op.f('fk_session_participants_party_id_parties')),
    sa.ForeignKeyConstraint(['session_id'], ['sessions.id'], name=op.f('fk_session_participants_session_id_sessions')),
    sa.PrimaryKeyConstraint('session_id', 'party_id', name=op.f('pk_session_participants'))
    )
    with op.batch_alter_table('session_participants', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_session_participants_party_id'), ['party_id'], unique=False)

    op.create_table('session_reservations',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('session_id', sa.Uuid(), nullable=False),
    sa.Column('resource_type', sa.String(length=12), nullable=False),
    sa.Column('resource_id', sa.Uuid(), nullable=False),
    sa.Column('starts_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ends_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['session_id'], ['sessions.id'], name=op.f('fk_session_reservations_session_id_sessions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_session_reservations'))
    )
    with op.batch_alter_table('session_reservations', schema=None) as batch_op:
        batch_op.create_index('ix_session_reservations_resource_id_starts_at', ['resource_id', 'starts_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_session_reservations_session_id'), ['session_id'], unique=False)

    with op.batch_alter_table('sessions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('venue_id', sa.Uuid(), nullable=True))
        batch_op.add_column(sa.Column('interpreter', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column('ical_uid', sa.Uuid(), nullable=True))
        batch_op.add_column(sa.Column('updated_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_sessions_venue_id_venues'), 'venues', ['venue_id'], ['id'])
    # Sessions booked before calendars existed get their random calendar UID now.
    sessions = sa.table('sessions', sa.column('id', sa.Uuid()), sa.column('ical_uid', sa.Uuid()))
    bind = op.get_bind()
    for (session_id,) in bind.execute(sa.select(sessions.c.id)).all():
        bind.execute(sessions.update().where(sessions.c.id == session_id).values(ical_uid=uuid.uuid4()))
    with op.batch_alter_table('sessions', schema=None) as batch_op:
        batch_op.alter_column('ical_uid', existing_type=sa.Uuid(), nullable=False)
        batch_op.create_unique_constraint(batch_op.f('uq_sessions_ical_uid'), ['ical_uid'])

    # No double booking, enforced by the database (docs/design.md section 4): on PostgreSQL two active reservations
    # of one facilitator or venue cannot overlap. SQLite serializes bookings instead (coordinator/db.py).
    if bind.dialect.name == "postgresql":
        op.execute("CREATE EXTENSION IF NOT EXISTS btree_gist")
        op.execute("ALTER TABLE session_reservations ADD CONSTRAINT ex_session_reservations_no_overlap "
                   "EXCLUDE USING gist (resource_id WITH =, tstzrange(starts_at, ends_at, '[)') WITH &&) "
                   "WHERE (active)")



def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE session_reservations DROP CONSTRAINT IF EXISTS ex_session_reservations_no_overlap")
    with op.batch_alter_table('sessions', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_sessions_venue_id_venues'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('uq_sessions_ical_uid'), type_='unique')
        batch_op.drop_column('updated_at')
        batch_op.drop_column('ical_uid')
        batch_op.drop_column('interpreter')
        batch_op.drop_column('venue_id')

    with op.batch_alter_table('session_reservations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_session_reservations_session_id'))
        batch_op.drop_index('ix_session_reservations_resource_id_starts_at')

    op.drop_table('session_reservations')
    with op.batch_alter_table('session_participants', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_session_participants_party_id'))

    op.drop_table('session_participants')
    with op.batch_alter_table('session_facilitators', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_session_facilitators_user_id'))

    op.drop_table('session_facilitators')
    with op.batch_alter_table('party_unavailability', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_party_unavailability_party_id'))

    op.drop_table('party_unavailability')
    with op.batch_alter_table('facilitator_conflicts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_facilitator_conflicts_docket_number'))

    op.drop_table('facilitator_conflicts')
    with op.batch_alter_table('calendar_feeds', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_calendar_feeds_user_id'))

    op.drop_table('calendar_feeds')
    with op.batch_alter_table('availability_windows', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_availability_windows_user_id'))

    op.drop_table('availability_windows')
    op.drop_table('availability_exceptions')
