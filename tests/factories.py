"""Small builders for ledger tests: townships and problems through the real ledger functions."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import text
from sqlalchemy.orm import Session

from gis.ledger import writes as ledger

WEST = "410199101000"
EAST = "410199100000"
T0 = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai


def load_two_townships(session: Session) -> None:
    """Two squares sharing the meridian 113.1°E: 西镇 (west) and 东镇 (east)."""
    rows = (
        (WEST, "西镇", "MULTIPOLYGON(((113.0 34.0,113.1 34.0,113.1 34.1,113.0 34.1,113.0 34.0)))"),
        (EAST, "东镇", "MULTIPOLYGON(((113.1 34.0,113.2 34.0,113.2 34.1,113.1 34.1,113.1 34.0)))"),
    )
    for code, name, wkt in rows:
        session.execute(
            text(
                "INSERT INTO townships (code, name, geom)"
                " VALUES (:c, :n, ST_GeomFromText(:w, 4490))"
            ),
            {"c": code, "n": name, "w": wkt},
        )


def new_problem(
    session: Session,
    code: str = "T-001",
    *,
    lon: float = 113.05,
    lat: float = 34.05,
    category: str = "dust",
    deadline: date | None = date(2026, 6, 30),
    deadline_kind: str = "dated",
    now: datetime = T0,
) -> ledger.Problem:  # type: ignore[name-defined]
    return ledger.create_problem(
        session,
        ledger.ProblemInput(
            code=code,
            source="provincial",
            category=category,
            deadline_kind=deadline_kind,
            deadline=deadline,
            description="工地扬尘",
            responsible_unit="县住建局",
            responsible_person="王伟",
            geometry={"type": "Point", "coordinates": [lon, lat]},
        ),
        actor="office",
        now=now,
    )


def add_inspection(
    session: Session,
    problem_code: str,
    *,
    lon: float = 113.05,
    lat: float = 34.05,
    finding: str = "checked",
    category: str | None = None,
    at: datetime = T0,
) -> int:
    """An inspection row of a problem (as evidence), returning its id."""
    import uuid

    problem = ledger.get_problem(session, problem_code)
    return session.execute(
        text(
            "INSERT INTO inspections (uuid, problem_id, inspector, finding, category, note,"
            " accuracy_m, observed_at, received_at, geom) VALUES (:u, :p, '巡查员', :f, :c, '', 5,"
            " :t, :t, ST_SetSRID(ST_MakePoint(:lon, :lat), 4490)) RETURNING id"
        ),
        {
            "u": str(uuid.uuid4()),
            "p": problem.id,
            "f": finding,
            "c": category,
            "t": at,
            "lon": lon,
            "lat": lat,
        },
    ).scalar_one()


def close(session: Session, code: str, *, at: datetime = T0) -> None:
    """Walk a problem through the whole acceptance procedure to closed."""
    from datetime import timedelta

    ledger.transition(session, code, "assign", actor="office", now=at)
    ledger.transition(session, code, "start", actor="township", now=at + timedelta(hours=1))
    insp = add_inspection(session, code, at=at + timedelta(hours=2))
    ledger.transition(
        session,
        code,
        "apply_closure",
        actor="township",
        now=at + timedelta(hours=3),
        inspection_ids=[insp],
    )
    ledger.transition(
        session, code, "record_check", actor="checker", passed=True, now=at + timedelta(hours=4)
    )
    ledger.transition(session, code, "approve_closure", actor="office", now=at + timedelta(hours=5))


def make_token(
    engine,
    role: str,
    townships: list[str] | None = None,  # type: ignore[no-untyped-def]
    name: str | None = None,
) -> dict[str, str]:
    """A user of ``role`` with a bearer token; returns the Authorization header."""
    from gis.access import auth

    with Session(engine) as s, s.begin():
        user_name = name or f"test-{role}-{'-'.join(townships or ['all'])}"
        exists = s.execute(text("SELECT 1 FROM users WHERE name = :n"), {"n": user_name}).first()
        if not exists:
            auth.add_user(
                s, name=user_name, role=role, password=None, townships=townships, actor="test"
            )
        raw = auth.create_token(s, name=user_name, actor="test")
    return {"Authorization": f"Bearer {raw}"}
