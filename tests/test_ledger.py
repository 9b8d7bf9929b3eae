"""Ledger rules on a real PostGIS: lifecycle, closure, deadlines and warnings, rebounds."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from pyproj import Geod
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from gis.config import get_settings
from gis.db.models import Event, SuspectedRebound
from gis.ledger import lookbacks, rebounds
from gis.ledger import writes as ledger
from gis.ledger.complaints import ComplaintInput, create_complaint
from gis.ledger.deadlines import local_today, overdue_sql, warning_sql
from gis.ledger.lifecycle import ACTIONS, TransitionError, allowed_actions, check_transition
from gis.ledger.onsite import assign_on_site
from gis.ledger.workdays import add_workdays
from gis.vocab import Status
from tests.factories import EAST, T0, WEST, add_inspection, close, load_two_townships, new_problem

GEOD = Geod(ellps="GRS80")  # CGCS2000's ellipsoid


@pytest.fixture
def session(db):  # type: ignore[no-untyped-def]
    with Session(db) as s, s.begin():
        load_two_townships(s)
        yield s


# -- the state machine -----------------------------------------------------------------------
LEGAL = {
    ("reported", "assign"),
    ("assigned", "start"),
    ("rectifying", "apply_closure"),
    ("awaiting_verification", "record_check"),
    ("awaiting_verification", "reject_closure"),
    ("awaiting_verification", "approve_closure"),
    ("awaiting_verification", "end_public_notice"),
    ("closed", "rebound"),
    ("rebounded", "reopen"),
}


@pytest.mark.parametrize("status", [s.value for s in Status])
@pytest.mark.parametrize("action", list(ACTIONS))
def test_every_status_action_pair(status: str, action: str) -> None:
    if (status, action) in LEGAL:
        assert check_transition(status, action).name == action
    else:
        with pytest.raises(TransitionError) as err:
            check_transition(status, action)
        assert err.value.allowed == allowed_actions(status)
        for allowed in err.value.allowed:
            assert allowed in str(err.value)


def test_full_lifecycle_writes_an_event_per_step(session: Session) -> None:
    new_problem(session)
    close(session, "T-001")
    problem = ledger.get_problem(session, "T-001")
    assert problem.status == "closed" and problem.closed_at is not None
    ledger.transition(
        session,
        "T-001",
        "rebound",
        actor="office",
        reason="回头看发现反弹",
        now=T0 + timedelta(days=30),
    )
    ledger.transition(
        session,
        "T-001",
        "reopen",
        actor="office",
        reason="重新整改",
        deadline=date(2026, 12, 31),
        now=T0 + timedelta(days=31),
    )
    actions = [e.action for e in ledger.history(session, "T-001")]
    assert actions == [
        "created",
        "assign",
        "start",
        "apply_closure",
        "record_check",
        "approve_closure",
        "rebound",
        "reopen",
    ]
    problem = ledger.get_problem(session, "T-001")
    assert problem.status == "rectifying" and problem.rebound_count == 1
    assert problem.closed_at is None and problem.deadline == date(2026, 12, 31)
    rebound = ledger.history(session, "T-001")[-2]
    # a rebound is rectified anew: it gets the configured default deadline from its day
    days = get_settings().rebound_deadline_days
    new_due = (T0 + timedelta(days=30)).date() + timedelta(days=days)
    assert rebound.before == {"status": "closed", "rebound_count": 0, "deadline": "2026-06-30"}
    assert rebound.after == {
        "status": "rebounded",
        "rebound_count": 1,
        "deadline": new_due.isoformat(),
    }
    assert rebound.actor == "office" and rebound.reason == "回头看发现反弹"


def test_illegal_transition_changes_nothing(session: Session) -> None:
    new_problem(session)
    with pytest.raises(TransitionError, match="allowed from reported: assign"):
        ledger.transition(session, "T-001", "approve_closure", actor="office")
    assert ledger.get_problem(session, "T-001").status == "reported"
    assert [e.action for e in ledger.history(session, "T-001")] == ["created"]


def test_closure_needs_evidence_check_and_a_different_approver(session: Session) -> None:
    new_problem(session)
    ledger.transition(session, "T-001", "assign", actor="office", now=T0)
    ledger.transition(session, "T-001", "start", actor="township", now=T0)
    with pytest.raises(TransitionError, match="needs evidence"):
        ledger.transition(session, "T-001", "apply_closure", actor="township", now=T0)
    with pytest.raises(TransitionError, match="evidence not found"):
        ledger.transition(
            session, "T-001", "apply_closure", actor="township", attachment_ids=[999], now=T0
        )
    insp = add_inspection(session, "T-001")
    ledger.transition(
        session, "T-001", "apply_closure", actor="township", inspection_ids=[insp], now=T0
    )
    with pytest.raises(TransitionError, match="passed on-site check"):
        ledger.transition(session, "T-001", "approve_closure", actor="office", now=T0)
    ledger.transition(
        session,
        "T-001",
        "record_check",
        actor="checker",
        passed=False,
        reason="裸土仍未覆盖",
        now=T0,
    )
    with pytest.raises(TransitionError, match="passed on-site check"):
        ledger.transition(session, "T-001", "approve_closure", actor="office", now=T0)
    with pytest.raises(TransitionError, match="needs a reason"):
        ledger.transition(session, "T-001", "reject_closure", actor="office", now=T0)
    ledger.transition(
        session, "T-001", "reject_closure", actor="office", reason="核查未通过", now=T0
    )
    assert ledger.get_problem(session, "T-001").status == "rectifying"
    ledger.transition(
        session, "T-001", "apply_closure", actor="township", inspection_ids=[insp], now=T0
    )
    ledger.transition(session, "T-001", "record_check", actor="checker", passed=True, now=T0)
    with pytest.raises(TransitionError, match="other than the applicant"):
        ledger.transition(session, "T-001", "approve_closure", actor="township", now=T0)
    ledger.transition(session, "T-001", "approve_closure", actor="office", now=T0)
    assert ledger.get_problem(session, "T-001").status == "closed"


def test_public_notice_delays_closure(session: Session, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("LOOKBACK_PUBLIC_NOTICE_DAYS", "7")
    get_settings.cache_clear()
    try:
        new_problem(session)
        close(session, "T-001")  # the approval starts the notice; it does not close yet
        problem = ledger.get_problem(session, "T-001")
        assert problem.status == "awaiting_verification"
        assert problem.notice_ends_on == date(2026, 3, 9)
        with pytest.raises(TransitionError, match="runs until 2026-03-09"):
            ledger.transition(
                session, "T-001", "end_public_notice", actor="office", now=T0 + timedelta(days=6)
            )
        assert (
            ledger.end_due_public_notices(session, actor="system", now=T0 + timedelta(days=7)) == 1
        )
        assert ledger.get_problem(session, "T-001").status == "closed"
    finally:
        get_settings.cache_clear()


def test_assign_sets_deadlines_by_kind(session: Session) -> None:
    new_problem(session, "T-IMM", deadline=None, deadline_kind="immediate")
    # 2026-03-02 23:30 UTC is already 2026-03-03 in Shanghai
    late = datetime(2026, 3, 2, 23, 30, tzinfo=UTC)
    ledger.transition(session, "T-IMM", "assign", actor="office", now=late)
    assert ledger.get_problem(session, "T-IMM").deadline == date(2026, 3, 10)
    new_problem(session, "T-DATED", deadline=None)
    with pytest.raises(TransitionError, match="needs a deadline"):
        ledger.transition(session, "T-DATED", "assign", actor="office")
    ledger.transition(session, "T-DATED", "assign", actor="office", deadline=date(2026, 9, 1))
    assert ledger.get_problem(session, "T-DATED").deadline == date(2026, 9, 1)


# -- overdue and warning colours at the day boundaries ---------------------------------------
@pytest.mark.parametrize(
    ("today", "overdue", "warning"),
    [
        (date(2026, 6, 22), False, "none"),  # 8 days left
        (date(2026, 6, 23), False, "blue"),  # 7 days left
        (date(2026, 6, 30), False, "blue"),  # due today: not overdue until the day is over
        (date(2026, 7, 1), True, "yellow"),  # 1 day overdue
        (date(2026, 7, 15), True, "yellow"),  # 15
        (date(2026, 7, 16), True, "orange"),  # 16
        (date(2026, 7, 30), True, "orange"),  # 30
        (date(2026, 7, 31), True, "red"),  # 31: more than 30
    ],
)
def test_overdue_and_colours_at_boundaries(
    session: Session, today: date, overdue: bool, warning: str
) -> None:
    new_problem(session, deadline=date(2026, 6, 30))
    ledger.transition(session, "T-001", "assign", actor="office")
    row = session.execute(
        text(f"SELECT {overdue_sql('p')}, {warning_sql('p')} FROM problems p WHERE code = 'T-001'"),
        {"today": today},
    ).one()
    assert tuple(row) == (overdue, warning)


def test_closed_problems_are_never_overdue(session: Session) -> None:
    new_problem(session, deadline=date(2026, 3, 3))
    close(session, "T-001")
    row = session.execute(
        text(f"SELECT {overdue_sql('p')}, {warning_sql('p')} FROM problems p"),
        {"today": date(2026, 12, 1)},
    ).one()
    assert tuple(row) == (False, "none")


def test_long_term_problems_fall_due_at_their_next_unmet_milestone(session: Session) -> None:
    new_problem(session, deadline=date(2028, 12, 31), deadline_kind="long_term")
    ledger.transition(session, "T-001", "assign", actor="office")
    first = ledger.add_milestone(
        session, "T-001", title="完成截污", due_date=date(2026, 5, 31), actor="office", now=T0
    )
    ledger.add_milestone(
        session, "T-001", title="完成清淤", due_date=date(2026, 9, 30), actor="office", now=T0
    )
    q = f"SELECT {overdue_sql('p')} FROM problems p"
    assert session.execute(text(q), {"today": date(2026, 6, 1)}).scalar_one() is True
    ledger.meet_milestone(
        session, first.id, met_on=date(2026, 5, 30), actor="office", now=T0 + timedelta(days=91)
    )
    assert session.execute(text(q), {"today": date(2026, 6, 1)}).scalar_one() is False
    assert session.execute(text(q), {"today": date(2026, 10, 1)}).scalar_one() is True


def test_today_is_the_local_date_in_shanghai() -> None:
    assert local_today(datetime(2026, 11, 23, 15, 59, tzinfo=UTC)) == date(2026, 11, 23)
    assert local_today(datetime(2026, 11, 23, 16, 0, tzinfo=UTC)) == date(2026, 11, 24)


def test_working_days_follow_the_official_calendar() -> None:
    # National Day 2026: Oct 1-7 off, Sat Oct 10 a make-up workday.
    assert add_workdays(date(2026, 9, 30), 1) == date(2026, 10, 8)
    assert add_workdays(date(2026, 10, 9), 1) == date(2026, 10, 10)
    # Spring Festival 2027 (provisional calendar): the holidays are skipped.
    assert add_workdays(date(2027, 2, 4), 1) == date(2027, 2, 11)


# -- suspected rebounds ----------------------------------------------------------------------
def _point_at(lon: float, lat: float, metres: float) -> dict:
    x, y, _ = GEOD.fwd(lon, lat, 90, metres)
    return {"type": "Point", "coordinates": [x, y]}


@pytest.mark.parametrize(
    ("metres", "days", "flagged"),
    [
        (199, 30, True),
        (201, 30, False),
        (50, 179, True),
        (50, 181, False),
        (50, -1, False),
    ],
)
def test_suspected_rebound_radius_and_window(
    session: Session, metres: float, days: int, flagged: bool
) -> None:
    new_problem(session)
    close(session, "T-001")
    closed_at = ledger.get_problem(session, "T-001").closed_at
    complaint, suspects = create_complaint(
        session,
        ComplaintInput(
            code="XF-1",
            channel="hotline_12369",
            kind="air",
            category="dust",
            text="又有扬尘",
            received_at=closed_at + timedelta(days=days),
            geometry=_point_at(113.05, 34.05, metres),
        ),
    )
    assert bool(suspects) is flagged
    if flagged:
        suspect = session.get(SuspectedRebound, suspects[0])
        assert suspect.distance_m == pytest.approx(metres, abs=0.5)
        assert suspect.days_since_closed == days


def test_suspected_rebound_needs_the_same_category(session: Session) -> None:
    new_problem(session, category="dust")
    close(session, "T-001")
    _, suspects = create_complaint(
        session,
        ComplaintInput(
            code="XF-1",
            channel="letter",
            kind="water",
            category="river_outfall",
            received_at=T0 + timedelta(days=3),
            geometry=_point_at(113.05, 34.05, 10),
        ),
    )
    assert suspects == []


def test_confirm_and_dismiss(session: Session) -> None:
    new_problem(session)
    close(session, "T-001")
    _, (first,) = create_complaint(
        session,
        ComplaintInput(
            code="XF-1",
            channel="letter",
            kind="air",
            category="dust",
            received_at=T0 + timedelta(days=3),
            geometry=_point_at(113.05, 34.05, 20),
        ),
    )
    with pytest.raises(ledger.LedgerError, match="needs a reason"):
        rebounds.dismiss(session, first, actor="office", reason=" ")
    rebounds.confirm(session, first, actor="office", reason="现场核实反弹")
    assert ledger.get_problem(session, "T-001").status == "rebounded"
    with pytest.raises(ledger.LedgerError, match="already confirmed"):
        rebounds.confirm(session, first, actor="office", reason="again")


def test_complaint_feedback_deadline_counts_working_days(session: Session) -> None:
    complaint, _ = create_complaint(
        session,
        ComplaintInput(
            code="XF-2",
            channel="hotline_12345",
            kind="noise",
            received_at=datetime(2026, 9, 30, 9, 0, tzinfo=UTC),
        ),
    )
    assert complaint.feedback_due == add_workdays(date(2026, 9, 30), 7) == date(2026, 10, 15)


# -- look-backs and on-site assignment -------------------------------------------------------
def test_lookback_round_rebounds_what_is_found_again(session: Session) -> None:
    for i in range(6):
        new_problem(session, f"T-{i}", lon=113.01 + i * 0.01)
        close(session, f"T-{i}")
    new_problem(session, "T-open")
    rnd, n = lookbacks.create_round(
        session,
        name="第一轮回头看",
        actor="office",
        criteria=lookbacks.RoundCriteria(sample=4, seed=3),
    )
    assert n == 4
    again, _ = lookbacks.create_round(
        session,
        name="same draw",
        actor="office",
        criteria=lookbacks.RoundCriteria(sample=4, seed=3),
    )
    tasks = session.execute(
        text(
            "SELECT round_id, array_agg(problem_id ORDER BY problem_id) FROM lookback_tasks"
            " GROUP BY round_id ORDER BY round_id"
        )
    ).all()
    assert tasks[0][1] == tasks[1][1]  # a seeded sample repeats
    task_ids = (
        session.execute(
            text("SELECT id FROM lookback_tasks WHERE round_id = :r ORDER BY id"), {"r": rnd.id}
        )
        .scalars()
        .all()
    )
    lookbacks.record_result(
        session,
        task_ids[0],
        found_again=True,
        actor="inspector",
        new_deadline=date(2027, 1, 31),
        note="砂场复采",
    )
    lookbacks.record_result(session, task_ids[1], found_again=False, actor="inspector")
    assert lookbacks.round_progress(session, rnd.id) == {"pending": 2, "passed": 1, "rebounded": 1}
    statuses = session.execute(
        text(
            "SELECT p.status, p.rebound_count FROM lookback_tasks k JOIN problems p"
            " ON p.id = k.problem_id WHERE k.id = :k"
        ),
        {"k": task_ids[0]},
    ).one()
    assert tuple(statuses) == ("rectifying", 1)
    deadline = session.execute(
        text("SELECT p.deadline FROM lookback_tasks k JOIN problems p ON p.id = k.problem_id"
             " WHERE k.id = :k"),
        {"k": task_ids[0]},
    ).scalar_one()
    assert deadline == date(2027, 1, 31)  # the office's new deadline, set with the rebound


def test_on_site_assignment_in_one_call(session: Session) -> None:
    problem = assign_on_site(
        session,
        lon=113.15,
        lat=34.05,
        category="dust",
        description="工地裸土未覆盖",
        responsible_unit="东镇人民政府",
        responsible_person="李娜",
        actor="inspector",
        now=T0,
    )
    assert problem.status == "assigned" and problem.township_code == EAST
    assert problem.code == "XC-20260302-001" and problem.deadline == date(2026, 3, 9)
    with pytest.raises(ledger.LedgerError, match="outside every township"):
        assign_on_site(
            session,
            lon=120.0,
            lat=30.0,
            category="dust",
            description="x",
            responsible_unit="u",
            responsible_person="p",
            actor="inspector",
        )


def test_township_override_needs_a_reason(session: Session) -> None:
    with pytest.raises(ledger.LedgerError, match="township_override_reason"):
        ledger.create_problem(
            session,
            ledger.ProblemInput(
                code="T-X",
                source="provincial",
                category="dust",
                township_code=EAST,
                geometry={"type": "Point", "coordinates": [113.05, 34.05]},
            ),
            actor="office",
        )
    problem = ledger.create_problem(
        session,
        ledger.ProblemInput(
            code="T-X",
            source="provincial",
            category="dust",
            township_code=EAST,
            township_override_reason="属地调整：由东镇管理",
            geometry={"type": "Point", "coordinates": [113.05, 34.05]},
        ),
        actor="office",
    )
    assert problem.township_code == EAST and WEST != EAST


@pytest.mark.parametrize(
    ("geometry", "message"),
    [
        ({"type": "Point", "coordinates": [34.05, 113.05]}, "swapped"),
        ({"type": "Point", "coordinates": [200, 34]}, "out of range"),
        ({"type": "Point", "coordinates": ["a", 34]}, "number|GeoJSON"),
        (
            {
                "type": "Polygon",
                "coordinates": [[[113, 34], [113.1, 34.1], [113.1, 34], [113, 34.1], [113, 34]]],
            },
            "invalid geometry",
        ),
        ({"type": "Circle"}, "GeoJSON|unsupported"),
    ],
)
def test_bad_geometry_is_refused_with_a_reason(
    session: Session, geometry: dict, message: str
) -> None:
    with pytest.raises(ledger.LedgerError, match=message):
        ledger.create_problem(
            session,
            ledger.ProblemInput(
                code="T-BAD", source="provincial", category="dust", geometry=geometry
            ),
            actor="office",
        )


def test_events_are_never_rewritten(session: Session) -> None:
    new_problem(session)
    ledger.update_problem(
        session, "T-001", {"responsible_person": "李娜"}, actor="office", reason="人员调整"
    )
    events = session.scalars(select(Event).order_by(Event.id)).all()
    assert events[-1].before == {"responsible_person": "王伟"}
    assert events[-1].after == {"responsible_person": "李娜"}
    with pytest.raises(ledger.LedgerError, match="status changes through actions"):
        ledger.update_problem(session, "T-001", {"status": "closed"}, actor="office")
