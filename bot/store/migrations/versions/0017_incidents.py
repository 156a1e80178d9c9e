"""incidents: one outage many customers post about, handled once and every customer answered

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-07 14:00:00

When hundreds of customers post about one outage within minutes, each post was its own card and
nobody could answer them all afterwards. An incident groups them (``complaints.incident_id``); its
updates to the customers are ``incident_updates``, each customer's reply a delivery row that names
its update (``deliveries.incident_update``).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "incidents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("anchor_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("profile", sa.JSON(), nullable=False),
        sa.Column("profile_size", sa.Integer(), nullable=False),
        sa.Column("customers", sa.Integer(), nullable=False),
        sa.Column("posts", sa.Integer(), nullable=False),
        sa.Column("reach", sa.BigInteger(), nullable=False),
        sa.Column("networks", sa.JSON(), nullable=False),
        sa.Column("first_post_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("latest_post_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("threshold_post_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("detected_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("owner_id", sa.String(32), nullable=True),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("first_update_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolved_by", sa.String(32), nullable=True),
        sa.Column("resolution", sa.Text(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("status IN ('open', 'resolved', 'released')", name=op.f("ck_incidents_status")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_incidents")),
    )
    op.create_index("ix_incidents_status", "incidents", ["status", "detected_at"])
    op.create_index("ix_incidents_detected", "incidents", ["detected_at"])
    op.create_table(
        "incident_updates",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(128), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("template", sa.Text(), nullable=False),
        sa.Column("sent_by", sa.String(32), nullable=False),
        sa.Column("customers", sa.Integer(), nullable=False),
        sa.Column("unreachable", sa.JSON(), nullable=False),
        sa.Column("finish_by", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("kind IN ('update', 'resolve')", name=op.f("ck_incident_updates_kind")),
        sa.ForeignKeyConstraint(
            ["incident_id"],
            ["incidents.id"],
            name=op.f("fk_incident_updates_incident_id_incidents"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_incident_updates")),
        sa.UniqueConstraint("key", name="uq_incident_updates_key"),
    )
    op.create_index("ix_incident_updates_incident", "incident_updates", ["incident_id", "created_at"])
    # Plain ADD COLUMN (see 0002): SQLite gets no foreign key for it, PostgreSQL does.
    op.add_column("complaints", sa.Column("incident_id", sa.Integer(), nullable=True))
    op.create_index("ix_complaints_incident", "complaints", ["incident_id"])
    op.create_index("ix_complaints_posted_kind", "complaints", ["posted_at", "kind"])
    op.add_column("deliveries", sa.Column("incident_update", sa.Integer(), nullable=True))
    op.create_index("ix_deliveries_incident_update", "deliveries", ["incident_update", "status"])
    if op.get_bind().dialect.name != "sqlite":
        op.create_foreign_key(
            op.f("fk_complaints_incident_id_incidents"),
            "complaints",
            "incidents",
            ["incident_id"],
            ["id"],
            ondelete="SET NULL",
        )


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        op.drop_constraint(op.f("fk_complaints_incident_id_incidents"), "complaints", type_="foreignkey")
    op.drop_index("ix_deliveries_incident_update", table_name="deliveries")
    op.drop_column("deliveries", "incident_update")
    op.drop_index("ix_complaints_posted_kind", table_name="complaints")
    op.drop_index("ix_complaints_incident", table_name="complaints")
    op.drop_column("complaints", "incident_id")
    op.drop_index("ix_incident_updates_incident", table_name="incident_updates")
    op.drop_table("incident_updates")
    op.drop_index("ix_incidents_detected", table_name="incidents")
    op.drop_index("ix_incidents_status", table_name="incidents")
    op.drop_table("incidents")
