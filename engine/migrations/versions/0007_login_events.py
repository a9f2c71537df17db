"""Sign-in records (login_events) and the administrators' change log (admin_events).

Revision ID: 0007
Revises: 0001
"""
from alembic import op
import sqlalchemy as sa

revision = '0007'
down_revision = '0001'
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table('login_events',
    sa.Column('id', ID, primary_key=True),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('outcome', sa.String(length=16), nullable=False),
    sa.Column('username', sa.String(length=64), nullable=False),
    sa.Column('user_id', ID, nullable=True),
    sa.Column('address', sa.String(length=64), nullable=False),
    sa.Column('user_agent', sa.String(length=200), nullable=False),
    )
    op.create_index('ix_login_events_pair', 'login_events', ['username', 'address', 'at'])
    op.create_index('ix_login_events_address', 'login_events', ['address', 'at'])
    op.create_index('ix_login_events_at', 'login_events', ['at'])
    op.create_table('admin_events',
    sa.Column('id', ID, primary_key=True),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.Column('actor_id', ID, nullable=True),
    sa.Column('actor', sa.String(length=64), nullable=False),
    sa.Column('action', sa.String(length=40), nullable=False),
    sa.Column('target_user_id', ID, nullable=True),
    sa.Column('target', sa.String(length=200), nullable=False),
    sa.Column('details', sa.JSON(), nullable=False),
    )
    op.create_index('ix_admin_events_target', 'admin_events', ['target_user_id', 'at'])
    op.create_index('ix_admin_events_at', 'admin_events', ['at'])


def downgrade() -> None:
    op.drop_index('ix_admin_events_at', table_name='admin_events')
    op.drop_index('ix_admin_events_target', table_name='admin_events')
    op.drop_table('admin_events')
    op.drop_index('ix_login_events_at', table_name='login_events')
    op.drop_index('ix_login_events_address', table_name='login_events')
    op.drop_index('ix_login_events_pair', table_name='login_events')
    op.drop_table('login_events')
