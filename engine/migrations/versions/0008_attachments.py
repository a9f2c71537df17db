"""Attachments: files uploaded to an instance, each recorded by a history entry.

Revision ID: 0008
Revises: 0001
"""
from alembic import op
import sqlalchemy as sa

revision = '0008'
down_revision = '0001'
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table('attachments',
    sa.Column('id', ID, primary_key=True),
    sa.Column('instance_id', ID, sa.ForeignKey('instances.id'), nullable=False),
    sa.Column('history_seq', sa.Integer(), nullable=False),
    sa.Column('filename', sa.String(length=255), nullable=False),
    sa.Column('content_type', sa.String(length=100), nullable=False),
    sa.Column('size', sa.BigInteger(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('storage_key', sa.String(length=80), nullable=False),
    sa.Column('uploaded_by_id', ID, sa.ForeignKey('users.id'), nullable=True),
    sa.Column('uploaded_by', sa.String(length=64), nullable=False),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.UniqueConstraint('instance_id', 'history_seq'),
    )
    op.create_index('ix_attachments_instance', 'attachments', ['instance_id'])


def downgrade() -> None:
    op.drop_index('ix_attachments_instance', table_name='attachments')
    op.drop_table('attachments')
