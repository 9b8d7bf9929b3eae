"""Alembic migrations go up and down cleanly on a real PostGIS."""

from __future__ import annotations

from sqlalchemy import inspect, text

from gis.db import current_revision, downgrade, make_engine, upgrade
from gis.models import Base
from tests.conftest import create_database

LEDGER_TABLES = {
    "townships",
    "sites",
    "problems",
    "milestones",
    "inspections",
    "complaints",
    "attachments",
    "events",
}


def test_upgrade_downgrade_upgrade(pg_cluster) -> None:  # type: ignore[no-untyped-def]
    url = create_database(pg_cluster, "lookback_migrations")
    engine = make_engine(url)
    try:
        upgrade(url)
        assert current_revision(engine) is not None
        tables = set(inspect(engine).get_table_names())
        assert LEDGER_TABLES <= tables
        assert set(Base.metadata.tables) <= tables
        with engine.connect() as conn:
            gist = conn.execute(
                text(
                    "SELECT count(*) FROM pg_indexes WHERE indexdef LIKE '%USING gist%'"
                    " AND schemaname = 'public'"
                )
            ).scalar_one()
        assert gist >= 5
        downgrade(url, "base")
        assert current_revision(engine) is None
        assert not (LEDGER_TABLES & set(inspect(engine).get_table_names()))
        upgrade(url)
        assert LEDGER_TABLES <= set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_events_are_append_only(db) -> None:  # type: ignore[no-untyped-def]
    import pytest
    from sqlalchemy.exc import DBAPIError

    with db.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO problems (code, source, category, deadline_kind, status)"
                " VALUES ('T-1', 'provincial', 'dust', 'dated', 'reported')"
            )
        )
        conn.execute(
            text("INSERT INTO events (problem_id, actor, action) VALUES (1, 'office', 'created')")
        )
    for statement in ("UPDATE events SET actor = 'x'", "DELETE FROM events"):
        with pytest.raises(DBAPIError, match="append-only"), db.begin() as conn:
            conn.execute(text(statement))
    with db.connect() as conn:
        assert conn.execute(text("SELECT actor FROM events")).scalar_one() == "office"
