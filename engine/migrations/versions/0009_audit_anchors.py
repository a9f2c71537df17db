"""Signed audit anchors (audit_anchors): every checkpoint ``perfeval audit anchor`` or the
scheduler wrote, kept for listing and download.

Revision ID: 0009
Revises: 0001
"""
from alembic import op
import sqlalchemy as sa

revision = '0009'
down_revision = '0001'
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table('audit_anchors',
    sa.Column('id', ID, primary_key=True),
    sa.Column('moment', sa.DateTime(), nullable=False),
    sa.Column('instances', sa.Integer(), nullable=False),
    sa.Column('entries', sa.Integer(), nullable=False),
    sa.Column('merkle_root', sa.String(length=64), nullable=False),
    sa.Column('key_id', sa.String(length=64), nullable=False),
    sa.Column('origin', sa.String(length=16), nullable=False),
    sa.Column('document', sa.Text(), nullable=False),
    sa.Column('created_by', sa.String(length=64), nullable=False),
    )
    op.create_index('ix_audit_anchors_moment', 'audit_anchors', ['moment'])


def downgrade() -> None:
    op.drop_index('ix_audit_anchors_moment', table_name='audit_anchors')
    op.drop_table('audit_anchors')
