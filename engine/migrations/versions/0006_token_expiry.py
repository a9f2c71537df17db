"""API tokens expire: ``api_tokens.expires_at``; tokens issued before this revision
expire 90 days after the upgrade.

Revision ID: 0006
Revises: 0005
"""
from datetime import datetime, timedelta, timezone

from alembic import op
import sqlalchemy as sa

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

LEGACY_DAYS = 90


def upgrade() -> None:
    with op.batch_alter_table('api_tokens') as batch:
        batch.add_column(sa.Column('expires_at', sa.DateTime(), nullable=True))
    until = datetime.now(timezone.utc).replace(tzinfo=None) + timedelta(days=LEGACY_DAYS)
    tokens = sa.table('api_tokens', sa.column('expires_at', sa.DateTime()))
    op.execute(tokens.update().where(tokens.c.expires_at.is_(None)).values(expires_at=until))


def downgrade() -> None:
    with op.batch_alter_table('api_tokens') as batch:
        batch.drop_column('expires_at')
