"""Alembic migrations go up and down cleanly on a real PostGIS."""

from __future__ import annotations

from sqlalchemy import inspect, text

from gis.db.engine import current_revision, downgrade, make_engine, upgrade
from gis.db.models import Base
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


def test_upgrade_keeps_the_previous_release_data(pg_cluster) -> None:  # type: ignore[no-untyped-def]
    """Data written at the previous head survives the upgrade to the current head."""
    from alembic.script import ScriptDirectory

    from gis.db.engine import alembic_config
    from gis.demo.county import load_demo
    from tests.conftest import DEMO_AS_OF

    url = create_database(pg_cluster, "lookback_previous_release")
    script = ScriptDirectory.from_config(alembic_config(url))
    head = script.get_current_head()
    previous = script.get_revision(head).down_revision
    assert isinstance(previous, str)
    engine = make_engine(url)
    try:
        upgrade(url, previous)
        load_demo(engine, scale=200, seed=3, as_of=DEMO_AS_OF)
        tables = ("townships", "sites", "problems", "milestones", "events", "complaints",
                  "inspections")
        # the rows as they were, over the columns the previous release had (new ones may be added)
        columns = "SELECT column_name FROM information_schema.columns WHERE table_name = :t"
        digest = "SELECT md5(string_agg(r::text, '|' ORDER BY r::text)) FROM (SELECT {} FROM {}) r"
        with engine.connect() as conn:
            kept = {
                t: ", ".join(sorted(conn.execute(text(columns), {"t": t}).scalars()))
                for t in tables
            }
            before = {t: conn.execute(text(digest.format(kept[t], t))).scalar_one() for t in tables}
        upgrade(url)
        assert current_revision(engine) == head
        with engine.connect() as conn:
            after = {t: conn.execute(text(digest.format(kept[t], t))).scalar_one() for t in tables}
        assert after == before
    finally:
        engine.dispose()
