"""Time: calendar overrides and covered years, timer bookkeeping, scheduler heartbeats.

Revision ID: 0002
Revises: 0001
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql')

TIMER_COLUMNS = (
    ('slot', sa.String(length=16)),
    ('entered_at', sa.DateTime()),
    ('due_date', sa.Date()),
    ('adjustments', JSON),
    ('fire_trigger', sa.String(length=64)),
    ('calendar_version', sa.String(length=16)),
    ('uncovered_year', sa.Integer()),
    ('paused_at', sa.DateTime()),
    ('retry_at', sa.DateTime()),
    ('last_error', sa.Text()),
    ('fired_at', sa.DateTime()),
    ('outcome', sa.String(length=64)),
)


def upgrade() -> None:
    op.create_table('calendar_overrides',
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('working', sa.Boolean(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('source', sa.String(length=200), nullable=False),
    sa.Column('imported_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('day')
    )
    op.create_table('calendar_years',
    sa.Column('year', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('source', sa.String(length=200), nullable=False),
    sa.Column('imported_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('year')
    )
    op.create_table('scheduler_heartbeats',
    sa.Column('worker', sa.String(length=100), nullable=False),
    sa.Column('started_at', sa.DateTime(), nullable=False),
    sa.Column('beat_at', sa.DateTime(), nullable=False),
    sa.Column('interval_s', sa.Integer(), nullable=False),
    sa.Column('sweeps', sa.Integer(), nullable=False),
    sa.Column('last_report', JSON, nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('stopped_at', sa.DateTime(), nullable=True),
    sa.PrimaryKeyConstraint('worker')
    )
    with op.batch_alter_table('timers', schema=None) as batch_op:
        for name, type_ in TIMER_COLUMNS:
            batch_op.add_column(sa.Column(name, type_, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('timers', schema=None) as batch_op:
        for name, _ in reversed(TIMER_COLUMNS):
            batch_op.drop_column(name)
    op.drop_table('scheduler_heartbeats')
    op.drop_table('calendar_years')
    op.drop_table('calendar_overrides')
