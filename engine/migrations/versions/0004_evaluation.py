"""Evaluation year: cycles, score entries, vetoes, results, result changes; children index.

Revision ID: 0004
Revises: 0001
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = '0004'
down_revision = '0001'
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql')


def upgrade() -> None:
    op.create_index('ix_instances_parent', 'instances', ['parent_id', 'definition_key', 'state'])
    op.create_table(
        'cycles',
        sa.Column('id', ID, primary_key=True),
        sa.Column('year', sa.Integer(), nullable=False, unique=True),
        sa.Column('instance_id', ID, sa.ForeignKey('instances.id'), nullable=False),
        sa.Column('config', JSON, nullable=False),
        sa.Column('opened_by', sa.String(64), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False))
    op.create_table(
        'score_entries',
        sa.Column('id', ID, primary_key=True),
        sa.Column('cycle_id', ID, sa.ForeignKey('cycles.id'), nullable=False),
        sa.Column('unit_id', ID, sa.ForeignKey('units.id'), nullable=False),
        sa.Column('item', sa.String(64), nullable=False),
        sa.Column('value', sa.String(40), nullable=False),
        sa.Column('entered_by', sa.String(64), nullable=False),
        sa.Column('entered_at', sa.DateTime(), nullable=False),
        sa.UniqueConstraint('cycle_id', 'unit_id', 'item'))
    op.create_table(
        'vetoes',
        sa.Column('id', ID, primary_key=True),
        sa.Column('cycle_id', ID, sa.ForeignKey('cycles.id'), nullable=False),
        sa.Column('unit_id', ID, sa.ForeignKey('units.id'), nullable=False),
        sa.Column('item', sa.String(200), nullable=False),
        sa.Column('reason', sa.Text(), nullable=False),
        sa.Column('entered_by', sa.String(64), nullable=False),
        sa.Column('entered_at', sa.DateTime(), nullable=False))
    op.create_table(
        'results',
        sa.Column('id', ID, primary_key=True),
        sa.Column('cycle_id', ID, sa.ForeignKey('cycles.id'), nullable=False),
        sa.Column('unit_id', ID, sa.ForeignKey('units.id'), nullable=False),
        sa.Column('category', sa.String(64), nullable=False),
        sa.Column('indicator', sa.String(40), nullable=False),
        sa.Column('public', sa.String(40), nullable=False),
        sa.Column('leadership', sa.String(40), nullable=False),
        sa.Column('composite', sa.String(40), nullable=False),
        sa.Column('grade', sa.String(32), nullable=False),
        sa.Column('rank', sa.Integer(), nullable=True),
        sa.Column('vetoed', sa.Boolean(), nullable=False),
        sa.Column('revision', sa.Integer(), nullable=False),
        sa.Column('computed_at', sa.DateTime(), nullable=False),
        sa.Column('published_at', sa.DateTime(), nullable=True),
        sa.UniqueConstraint('cycle_id', 'unit_id'))
    op.create_index('ix_results_cycle_category', 'results', ['cycle_id', 'category'])
    op.create_table(
        'result_changes',
        sa.Column('id', ID, primary_key=True),
        sa.Column('cycle_id', ID, sa.ForeignKey('cycles.id'), nullable=False),
        sa.Column('unit_id', ID, sa.ForeignKey('units.id'), nullable=False),
        sa.Column('revision', sa.Integer(), nullable=False),
        sa.Column('old', JSON, nullable=False),
        sa.Column('new', JSON, nullable=False),
        sa.Column('reason', sa.Text(), nullable=False),
        sa.Column('appeal_id', ID, sa.ForeignKey('instances.id'), nullable=True),
        sa.Column('at', sa.DateTime(), nullable=False))


def downgrade() -> None:
    op.drop_table('result_changes')
    op.drop_index('ix_results_cycle_category', table_name='results')
    op.drop_table('results')
    op.drop_table('vetoes')
    op.drop_table('score_entries')
    op.drop_table('cycles')
    op.drop_index('ix_instances_parent', table_name='instances')
