"""The help center's FAQ: entries the organization writes per language, and their search.

The search is the database's own full-text search, so a client typing "passport" or "annuler"
finds the answer: on PostgreSQL `to_tsvector` with the language's configuration (its stemmer
and stop words; `simple` for languages PostgreSQL has none for, Arabic among them), on SQLite
an FTS5 table (no stemmer there: each word longer than five letters is looked up by its stem's
likely prefix, so "annuler" finds "annulation"). Any word may match; the best matches come first.
"""

from __future__ import annotations

import functools
import json
import re
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from services.booking.models import FaqEntry
from shared.db import UTCDateTime
from shared.errors import NotFound
from shared.timestamps import utc_iso

# PostgreSQL's text search configuration per language; others use "simple" (no stemming). The
# migration's generated column `search_fts` says the same (a new one here needs a migration).
TEXT_SEARCH_CONFIGS = {"en": "english", "fr": "french", "es": "spanish", "ar": "simple"}
MAX_WORDS = 8  # of a search query (the rest is ignored)
_WORD = re.compile(r"\w+")
# SQLite has no stemmer: a long word is looked up as its first letters (a crude stem).
_STEM_KEEP = 5


def list_entries(*, session: Session, language: str | None = None) -> list[FaqEntry]:
    """Every entry (or a language's), by position then id."""
    query = sa.select(FaqEntry).order_by(FaqEntry.language, FaqEntry.position, FaqEntry.id)
    if language is not None:
        query = query.where(FaqEntry.language == language)
    return list(session.scalars(query))


def get_entry(*, session: Session, entry_id: int) -> FaqEntry:
    """One entry, or 404."""
    entry = session.get(FaqEntry, entry_id)
    if entry is None:
        raise NotFound("No such FAQ entry.", code="faq_entry_not_found")
    return entry


def create_entry(*, session: Session, **fields: Any) -> FaqEntry:
    """Add an entry."""
    entry = FaqEntry(**fields)
    session.add(entry)
    session.flush()
    return entry


def update_entry(*, session: Session, entry: FaqEntry, **fields: Any) -> FaqEntry:
    """Replace an entry's fields."""
    for name, value in fields.items():
        setattr(entry, name, value)
    session.flush()
    return entry


def delete_entry(*, session: Session, entry: FaqEntry) -> None:
    """Remove an entry."""
    session.delete(entry)
    session.flush()


def search_words(q: str) -> list[str]:
    """The words of a search query, lower-cased, at most MAX_WORDS."""
    return [word.lower() for word in _WORD.findall(q)][:MAX_WORDS]


# What a search reads of each entry: its columns as rows (attribute access like an entry's), not
# ORM objects: nothing of a search is changed or kept, and building 20 entities was a third of
# the search's Python work (bench/help_calls.py).
_COLUMNS = tuple(FaqEntry.__table__.c)


def search_entries(*, session: Session, language: str, q: str, limit: int = 20) -> list[sa.Row]:
    """A language's entries matching any word of `q`, best first (none for a query of no words),
    as rows of the entry's columns."""
    words = search_words(q)
    if not words:
        return []
    if session.get_bind().dialect.name == "postgresql":
        return _search_postgresql(session, language, words, limit)
    return _search_sqlite(session, language, words, limit)


# The search statements, built once per language configuration and number of words (what
# their SQL text depends on): building one took as many calls as the rest of the search.
def _searched(config: str, count: int) -> tuple[str, str]:
    """The WITH, and the FROM and WHERE, of a PostgreSQL search. search_fts is the entry's tsvector in its
    language's configuration (a generated column of the migration, with its GIN index). The
    words' tsquery is made once, in a MATERIALIZED CTE: written in the WHERE, PostgreSQL made
    it again for each of the language's entries it filtered (half of the statement's time at
    250 entries a language, before the table is analyzed)."""
    query = " || ".join(f"plainto_tsquery('{config}', :w{n})" for n in range(count))
    # Only names and configurations of this module go in the text; the words are bound.
    return (
        f"WITH searched AS MATERIALIZED (SELECT {query} AS query)",
        "faq_entries, searched WHERE language = :language AND search_fts @@ searched.query",
    )


_RANK = "ts_rank(search_fts, searched.query)"


@functools.lru_cache(maxsize=len(TEXT_SEARCH_CONFIGS) * MAX_WORDS)
def _postgresql_statement(config: str, count: int) -> sa.TextualSelect:
    with_, from_where = _searched(config, count)
    columns = ", ".join(f'faq_entries."{c.name}"' for c in _COLUMNS)
    return (
        sa.text(
            f"{with_} SELECT {columns} FROM {from_where} "  # noqa: S608
            f'ORDER BY {_RANK} DESC, "position", id LIMIT :limit'
        )
        .bindparams(sa.bindparam("limit", type_=sa.Integer))
        .columns(*_COLUMNS)
    )


def _search_postgresql(session: Session, language: str, words: list[str], limit: int):
    statement = _postgresql_statement(TEXT_SEARCH_CONFIGS.get(language, "simple"), len(words))
    params = {f"w{n}": word for n, word in enumerate(words)}
    return list(session.execute(statement, {"language": language, "limit": limit, **params}))


def _utc_iso_sql(column: str) -> str:
    """shared.timestamps.utc_iso's format in PostgreSQL: ISO 8601 in UTC with a 'Z', the
    microseconds only when there are some (as Python's isoformat)."""
    utc = f"({column} AT TIME ZONE 'UTC')"
    return (
        f"to_char({utc}, 'YYYY-MM-DD\"T\"HH24:MI:SS') || CASE WHEN "
        f"extract(microseconds FROM {utc})::bigint % 1000000 = 0 THEN '' "
        f"ELSE to_char({utc}, '.US') END || 'Z'"
    )


# The API's JSON of the search's answers (FaqEntrySchema's fields: the entry's columns, the
# moments as utc_iso writes them), made by PostgreSQL in the search's own statement.
_JSON_OBJECT = "json_build_object({})".format(
    ", ".join(
        f"'{c.name}', "
        + (
            _utc_iso_sql(f'found."{c.name}"')
            if isinstance(c.type, UTCDateTime)
            else f'found."{c.name}"'
        )
        for c in _COLUMNS
    )
)


def search_json(*, session: Session, language: str, q: str, limit: int = 20) -> str:
    """search_entries' answers as the API's JSON list (FaqEntrySchema(many=True)'s fields).

    On PostgreSQL the database writes it in the search's statement, one text value back: the
    entries' rows, their result processing and the JSON were most of a search's Python work at
    20 answers (bench/help_calls.py). Elsewhere it is made here from the rows."""
    words = search_words(q)
    if not words:
        return "[]"
    if session.get_bind().dialect.name != "postgresql":
        return json.dumps(
            [
                {
                    c.name: utc_iso(v) if isinstance(v, datetime) else v
                    for c, v in zip(_COLUMNS, row, strict=True)
                }
                for row in _search_sqlite(session, language, words, limit)
            ]
        )
    statement = _postgresql_json_statement(TEXT_SEARCH_CONFIGS.get(language, "simple"), len(words))
    params = {f"w{n}": word for n, word in enumerate(words)}
    return session.execute(statement, {"language": language, "limit": limit, **params}).scalar_one()


@functools.lru_cache(maxsize=len(TEXT_SEARCH_CONFIGS) * MAX_WORDS)
def _postgresql_json_statement(config: str, count: int) -> sa.TextClause:
    # The search of _postgresql_statement, its rank kept to order the JSON list by.
    with_, from_where = _searched(config, count)
    columns = ", ".join(f'faq_entries."{c.name}"' for c in _COLUMNS)
    order = 'found.rank DESC, found."position", found.id'
    return sa.text(
        f"{with_} SELECT coalesce(json_agg({_JSON_OBJECT} ORDER BY {order}), '[]'::json)::text "  # noqa: S608
        f"FROM (SELECT {columns}, {_RANK} AS rank FROM {from_where} "
        f'ORDER BY rank DESC, "position", id LIMIT :limit) AS found'
    )


_FTS = sa.table("faq_entries_fts", sa.column("rowid"), sa.column("rank"))
_SQLITE_STATEMENT = (
    sa.select(*_COLUMNS)
    .join(_FTS, _FTS.c.rowid == FaqEntry.id)
    .where(FaqEntry.language == sa.bindparam("language"), sa.text("faq_entries_fts MATCH :terms"))
    .order_by(_FTS.c.rank, FaqEntry.position, FaqEntry.id)
    .limit(sa.bindparam("limit", type_=sa.Integer))
)


def _search_sqlite(session: Session, language: str, words: list[str], limit: int):
    terms = " OR ".join(
        f'"{word[:_STEM_KEEP] if len(word) > _STEM_KEEP + 1 else word}"*' for word in words
    )
    return list(
        session.execute(_SQLITE_STATEMENT, {"language": language, "terms": terms, "limit": limit})
    )
