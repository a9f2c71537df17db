"""Notifications: preferences, webhook endpoints, in-app inbox, deliveries, attempts.

The engine's ``outbox`` table (0001) stays the notification event; these tables hold
its delivery (``notifications/models.py``).

Revision ID: 0003
Revises: 0001
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = '0003'
down_revision = '0001'
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql')


def upgrade() -> None:
    op.create_table('notification_preferences',
    sa.Column('user_id', ID, sa.ForeignKey('users.id'), primary_key=True),
    sa.Column('locale', sa.String(length=16), nullable=False),
    sa.Column('email', sa.Boolean(), nullable=False),
    sa.Column('webhook', sa.Boolean(), nullable=False),
    sa.Column('digest', sa.Boolean(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    )
    op.create_table('notification_webhooks',
    sa.Column('id', ID, primary_key=True),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('url', sa.String(length=1000), nullable=False),
    sa.Column('secret', sa.String(length=200), nullable=False),
    sa.Column('style', sa.String(length=16), nullable=False),
    sa.Column('locale', sa.String(length=16), nullable=False),
    sa.Column('user_id', ID, sa.ForeignKey('users.id'), nullable=True),
    sa.Column('roles', JSON, nullable=False),
    sa.Column('unit_id', ID, sa.ForeignKey('units.id'), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    )
    op.create_table('notification_inbox',
    sa.Column('id', ID, primary_key=True),
    sa.Column('event_id', ID, sa.ForeignKey('outbox.id'), nullable=False),
    sa.Column('user_id', ID, sa.ForeignKey('users.id'), nullable=False),
    sa.Column('instance_id', ID, sa.ForeignKey('instances.id'), nullable=True),
    sa.Column('template', sa.String(length=64), nullable=False),
    sa.Column('locale', sa.String(length=16), nullable=False),
    sa.Column('title', sa.String(length=500), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('link', sa.String(length=1000), nullable=False),
    sa.Column('params', JSON, nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('read_at', sa.DateTime(), nullable=True),
    sa.UniqueConstraint('event_id', 'user_id'),
    )
    op.create_index('ix_inbox_user_unread', 'notification_inbox',
                    ['user_id', 'read_at', 'id'])
    op.create_table('notification_deliveries',
    sa.Column('id', ID, primary_key=True),
    sa.Column('key', sa.String(length=300), nullable=False, unique=True),
    sa.Column('event_id', ID, sa.ForeignKey('outbox.id'), nullable=True),
    sa.Column('user_id', ID, sa.ForeignKey('users.id'), nullable=True),
    sa.Column('endpoint_id', ID, sa.ForeignKey('notification_webhooks.id'), nullable=True),
    sa.Column('channel', sa.String(length=16), nullable=False),
    sa.Column('address', sa.String(length=1000), nullable=False),
    sa.Column('template', sa.String(length=64), nullable=False),
    sa.Column('locale', sa.String(length=16), nullable=False),
    sa.Column('params', JSON, nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('retry_base', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(), nullable=False),
    sa.Column('claim_token', sa.String(length=32), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('digest_day', sa.Date(), nullable=True),
    sa.Column('digest_id', ID, sa.ForeignKey('notification_deliveries.id'), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('sent_at', sa.DateTime(), nullable=True),
    )
    op.create_index('ix_deliveries_due', 'notification_deliveries',
                    ['status', 'next_attempt_at'])
    op.create_index('ix_deliveries_digest', 'notification_deliveries',
                    ['user_id', 'status', 'digest_day'])
    op.create_table('notification_attempts',
    sa.Column('id', ID, primary_key=True),
    sa.Column('delivery_id', ID, sa.ForeignKey('notification_deliveries.id'), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('channel', sa.String(length=16), nullable=False),
    sa.Column('worker', sa.String(length=64), nullable=False),
    sa.Column('started_at', sa.DateTime(), nullable=False),
    sa.Column('finished_at', sa.DateTime(), nullable=True),
    sa.Column('outcome', sa.String(length=16), nullable=False),
    sa.Column('error', sa.Text(), nullable=True),
    sa.UniqueConstraint('delivery_id', 'number'),
    )


def downgrade() -> None:
    op.drop_table('notification_attempts')
    op.drop_index('ix_deliveries_digest', table_name='notification_deliveries')
    op.drop_index('ix_deliveries_due', table_name='notification_deliveries')
    op.drop_table('notification_deliveries')
    op.drop_index('ix_inbox_user_unread', table_name='notification_inbox')
    op.drop_table('notification_inbox')
    op.drop_table('notification_webhooks')
    op.drop_table('notification_preferences')
