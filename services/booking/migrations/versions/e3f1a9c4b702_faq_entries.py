"""faq entries and their full-text search (the help center)

SQLite: an FTS5 table over the entries' question and answer, kept by triggers. PostgreSQL: a
stored generated column `search_fts`, the entry's tsvector in its language's configuration, and
its GIN index. Both live here only (the models cannot say them for one dialect); their names
hold `_fts`, which the models' drift check leaves out.

Revision ID: e3f1a9c4b702
Revises: e3a7c5d2f816
Create Date: 2026-12-05 01:30:00
"""

import sqlalchemy as sa
from alembic import op

import shared.db

revision = "e3f1a9c4b702"
down_revision = "e3a7c5d2f816"
branch_labels = None
depends_on = None

# services.booking.operations.faq.TEXT_SEARCH_CONFIGS as of this revision; others: simple.
POSTGRESQL_FTS = (
    "ALTER TABLE faq_entries ADD COLUMN search_fts tsvector GENERATED ALWAYS AS (to_tsvector("
    "CASE language WHEN 'en' THEN 'english'::regconfig WHEN 'fr' THEN 'french'::regconfig "
    "WHEN 'es' THEN 'spanish'::regconfig ELSE 'simple'::regconfig END, "
    "question || ' ' || answer)) STORED",
    "CREATE INDEX ix_faq_entries_search_fts ON faq_entries USING gin (search_fts)",
)

SQLITE_FTS = (
    "CREATE VIRTUAL TABLE faq_entries_fts USING fts5(question, answer, content='faq_entries', "
    "content_rowid='id', tokenize='unicode61 remove_diacritics 2')",
    "CREATE TRIGGER faq_entries_fts_insert AFTER INSERT ON faq_entries BEGIN "
    "INSERT INTO faq_entries_fts(rowid, question, answer) "
    "VALUES (new.id, new.question, new.answer); END",
    "CREATE TRIGGER faq_entries_fts_delete AFTER DELETE ON faq_entries BEGIN "
    "INSERT INTO faq_entries_fts(faq_entries_fts, rowid, question, answer) "
    "VALUES ('delete', old.id, old.question, old.answer); END",
    "CREATE TRIGGER faq_entries_fts_update AFTER UPDATE ON faq_entries BEGIN "
    "INSERT INTO faq_entries_fts(faq_entries_fts, rowid, question, answer) "
    "VALUES ('delete', old.id, old.question, old.answer); "
    "INSERT INTO faq_entries_fts(rowid, question, answer) "
    "VALUES (new.id, new.question, new.answer); END",
)


def upgrade() -> None:
    op.create_table(
        "faq_entries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("language", sa.String(length=16), nullable=False),
        sa.Column("question", sa.String(length=300), nullable=False),
        sa.Column("answer", sa.Text(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("created_at", shared.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", shared.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_faq_entries")),
    )
    op.create_index(
        "ix_faq_entries_language_position", "faq_entries", ["language", "position"], unique=False
    )
    if op.get_bind().dialect.name == "postgresql":
        for statement in POSTGRESQL_FTS:
            op.execute(statement)
    else:
        for statement in SQLITE_FTS:
            op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX ix_faq_entries_search_fts")
        op.execute("ALTER TABLE faq_entries DROP COLUMN search_fts")
    else:
        for name in ("insert", "delete", "update"):
            op.execute(f"DROP TRIGGER faq_entries_fts_{name}")
        op.execute("DROP TABLE faq_entries_fts")
    op.drop_index("ix_faq_entries_language_position", table_name="faq_entries")
    op.drop_table("faq_entries")
