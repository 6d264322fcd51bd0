"""questions and their messages ("ask us")

Revision ID: f4b2c8d1e903
Revises: e4c2b7d9a15f
Create Date: 2026-12-05 02:30:00
"""

import sqlalchemy as sa
from alembic import op

import shared.db

revision = "f4b2c8d1e903"
down_revision = "e4c2b7d9a15f"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "questions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("uid", sa.String(length=64), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("appointment_id", sa.Integer(), nullable=True),
        sa.Column("client_name", sa.String(length=200), nullable=False),
        sa.Column("client_email", sa.String(length=320), nullable=True),
        sa.Column("client_phone", sa.String(length=20), nullable=True),
        sa.Column("language", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", shared.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", shared.db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("status in ('open', 'answered')", name=op.f("ck_questions_status")),
        sa.ForeignKeyConstraint(
            ["appointment_id"],
            ["appointments.id"],
            name=op.f("fk_questions_appointment_id_appointments"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_questions")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_questions_token_hash")),
        sa.UniqueConstraint("uid", name=op.f("uq_questions_uid")),
    )
    op.create_index(
        op.f("ix_questions_appointment_id"), "questions", ["appointment_id"], unique=False
    )
    op.create_index("ix_questions_status_id", "questions", ["status", "id"], unique=False)
    op.create_table(
        "question_messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("question_id", sa.Integer(), nullable=False),
        sa.Column("author", sa.String(length=8), nullable=False),
        sa.Column("staff_id", sa.Integer(), nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", shared.db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "author in ('client', 'staff')", name=op.f("ck_question_messages_author")
        ),
        sa.ForeignKeyConstraint(
            ["question_id"],
            ["questions.id"],
            name=op.f("fk_question_messages_question_id_questions"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["staff_id"],
            ["staff.id"],
            name=op.f("fk_question_messages_staff_id_staff"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_question_messages")),
    )
    op.create_index(
        op.f("ix_question_messages_question_id"),
        "question_messages",
        ["question_id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_question_messages_question_id"), table_name="question_messages")
    op.drop_table("question_messages")
    op.drop_index("ix_questions_status_id", table_name="questions")
    op.drop_index(op.f("ix_questions_appointment_id"), table_name="questions")
    op.drop_table("questions")
