"""Corrections, unit versions and the audit trail.

Revision ID: 0001
Revises:
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create the three tables."""
    op.create_table(
        "corrections",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("unit_id", sa.String(80), nullable=True),
        sa.Column("status", sa.String(16), nullable=False, server_default="pending"),
        sa.Column("fields", sa.JSON, nullable=False),
        sa.Column("base", sa.JSON, nullable=False),
        sa.Column("base_version", sa.Integer, nullable=False, server_default="0"),
        sa.Column("source_url", sa.String(500), nullable=False),
        sa.Column("relation", sa.String(40), nullable=False, server_default=""),
        sa.Column("note", sa.Text, nullable=False, server_default=""),
        sa.Column("client", sa.String(64), nullable=False, server_default=""),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reviewer", sa.String(80), nullable=True),
        sa.Column("reviewed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reason", sa.Text, nullable=True),
    )
    op.create_index("ix_corrections_status", "corrections", ["status"])
    op.create_index("ix_corrections_client_time", "corrections", ["client", "submitted_at"])
    op.create_table(
        "unit_versions",
        sa.Column("unit_id", sa.String(80), primary_key=True),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("correction_id", sa.Integer, sa.ForeignKey("corrections.id"), nullable=False),
    )
    op.create_table(
        "audit",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("correction_id", sa.Integer, sa.ForeignKey("corrections.id"), nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("unit_id", sa.String(80), nullable=True),
        sa.Column("reviewer", sa.String(80), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("before", sa.JSON, nullable=True),
        sa.Column("after", sa.JSON, nullable=True),
        sa.Column("source_url", sa.String(500), nullable=True),
        sa.Column("source_seen", sa.String(10), nullable=True),
        sa.Column("reason", sa.Text, nullable=True),
    )
    op.create_index("ix_audit_unit", "audit", ["unit_id"])


def downgrade() -> None:
    """Drop the three tables."""
    op.drop_table("audit")
    op.drop_table("unit_versions")
    op.drop_index("ix_corrections_client_time", table_name="corrections")
    op.drop_index("ix_corrections_status", table_name="corrections")
    op.drop_table("corrections")
