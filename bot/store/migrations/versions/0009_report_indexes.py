"""indexes for the lead's report and the export

Revision ID: 0009
Revises: 0007
Create Date: 2026-12-02 13:40:00

The report counts complaints by when they arrived, finds each promise's last outcome event, and the
oldest promise still owed; the export reads complaints by arrival. Without these, each of those is a
scan of a table that grows for ever (see bench/report_query.py).
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0009"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_complaints_created", "complaints", ["created_at"], unique=False)
    op.create_index("ix_audit_events_promise", "audit_events", ["promise_id", "at"], unique=False)
    op.create_index("ix_promises_status_created", "promises", ["status", "created_at"], unique=False)
    # Covering: the report reads events of a kind in a time range, and asks of each whether an earlier
    # one of the same kind exists on its complaint; both answered from the index alone.
    op.create_index("ix_audit_events_action_at", "audit_events", ["action", "at", "complaint_id", "actor"])
    op.create_index("ix_audit_events_complaint_action", "audit_events", ["complaint_id", "action", "at"])


def downgrade() -> None:
    op.drop_index("ix_audit_events_complaint_action", table_name="audit_events")
    op.drop_index("ix_audit_events_action_at", table_name="audit_events")
    op.drop_index("ix_promises_status_created", table_name="promises")
    op.drop_index("ix_audit_events_promise", table_name="audit_events")
    op.drop_index("ix_complaints_created", table_name="complaints")
