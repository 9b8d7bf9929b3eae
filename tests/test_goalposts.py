"""Nobody moves their own goalposts, and a rebound is rectified anew with a deadline of its own.

A due date is the earliest of the deadline and the current milestone; a later deadline takes the
office and a reason; nothing is set in the past; a township's "milestone met" is a claim that
changes no overdue flag until the office confirms it; a rebound (from any path) gives the problem
a new deadline and retires the old unmet stages, so it is not overdue the moment it reopens.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from gis.config import get_settings
from gis.ledger import lookbacks
from gis.ledger import writes as ledger
from gis.ledger.deadlines import days_overdue_sql, due_date_sql, overdue_sql, warning_sql
from tests.factories import T0, close, load_two_townships, new_problem


@pytest.fixture
def session(db):  # type: ignore[no-untyped-def]
    with Session(db) as s, s.begin():
        load_two_townships(s)
        yield s


def derived(session: Session, today: date, code: str = "T-001") -> dict:
    sql = (
        f"SELECT {due_date_sql('p')} AS due, {overdue_sql('p')} AS overdue,"
        f" {warning_sql('p')} AS warning, {days_overdue_sql('p')} AS days"
        " FROM problems p WHERE p.code = :code"
    )
    return dict(session.execute(text(sql), {"today": today, "code": code}).mappings().one())


def long_term(session: Session, *, assign: bool = True) -> tuple:
    new_problem(session, deadline=date(2028, 12, 31), deadline_kind="long_term")
    if assign:
        ledger.transition(session, "T-001", "assign", actor="office", now=T0)
    first = ledger.add_milestone(
        session, "T-001", title="完成截污", due_date=date(2026, 5, 31), actor="office", now=T0
    )
    second = ledger.add_milestone(
        session, "T-001", title="完成清淤", due_date=date(2026, 9, 30), actor="office", now=T0
    )
    return first, second


def test_the_due_date_is_the_earliest_of_deadline_and_current_milestone(session) -> None:  # type: ignore[no-untyped-def]
    long_term(session)
    assert derived(session, date(2026, 4, 1))["due"] == date(2026, 5, 31)
    # a dated problem with an earlier stage falls due at the stage, too
    new_problem(session, "T-002", deadline=date(2026, 4, 30))
    ledger.transition(session, "T-002", "assign", actor="office", now=T0)
    assert derived(session, date(2026, 4, 1), "T-002")["due"] == date(2026, 4, 30)


def test_a_township_claim_changes_nothing_until_the_office_confirms(session) -> None:  # type: ignore[no-untyped-def]
    first, _ = long_term(session)
    june = T0 + timedelta(days=91)  # 2026-06-01
    before = derived(session, date(2026, 6, 1))
    assert before["overdue"] is True
    claim = ledger.meet_milestone(
        session, first.id, met_on=date(2026, 5, 30), actor="镇干部", role="township", now=june
    )
    assert claim.met_on is None and claim.claimed_on == date(2026, 5, 30)
    assert derived(session, date(2026, 6, 1)) == before  # overdue, colour and days unchanged
    assert [m.id for m in ledger.milestone_claims(session)] == [first.id]
    assert ledger.milestone_claims(session, scope=()) == []
    ledger.meet_milestone(
        session, first.id, met_on=date(2026, 5, 30), actor="整改办", role="office", now=june
    )
    assert derived(session, date(2026, 6, 1))["overdue"] is False
    assert ledger.milestone_claims(session) == []
    actions = [e.action for e in ledger.history(session, "T-001")]
    assert actions[-2:] == ["milestone_claimed", "milestone_met"]


def test_nothing_is_set_in_the_past_and_later_takes_the_office_with_a_reason(session) -> None:  # type: ignore[no-untyped-def]
    new_problem(session)
    ledger.transition(session, "T-001", "assign", actor="office", now=T0)
    with pytest.raises(ledger.LedgerError, match="in the past"):
        ledger.update_problem(
            session, "T-001", {"deadline": date(2026, 3, 1)}, actor="office", now=T0
        )
    with pytest.raises(ledger.LedgerError, match="only the office"):
        ledger.update_problem(
            session, "T-001", {"deadline": date(2026, 9, 30)}, actor="镇", role="township",
            reason="工期紧", now=T0,
        )
    with pytest.raises(ledger.LedgerError, match="needs a reason"):
        ledger.update_problem(
            session, "T-001", {"deadline": date(2026, 9, 30)}, actor="office", role="office",
            now=T0,
        )
    new_problem(session, "T-002", deadline=None, deadline_kind="long_term")
    with pytest.raises(ledger.LedgerError, match="in the past"):
        ledger.add_milestone(
            session, "T-002", title="x", due_date=date(2026, 1, 1), actor="office", now=T0
        )
    # bringing a deadline forward is anyone's right; extending it, the office's with a reason
    ledger.update_problem(
        session, "T-001", {"deadline": date(2026, 5, 31)}, actor="镇", role="township", now=T0
    )
    ledger.update_problem(
        session, "T-001", {"deadline": date(2026, 9, 30)}, actor="office", role="office",
        reason="省督察组同意延期", now=T0,
    )
    last = ledger.history(session, "T-001")[-1]
    assert last.reason == "省督察组同意延期"
    assert last.after["deadline"] == "2026-09-30" and last.before["deadline"] == "2026-05-31"


def test_a_rebound_gets_a_new_deadline_and_is_not_overdue_at_once(session) -> None:  # type: ignore[no-untyped-def]
    new_problem(session, deadline=date(2026, 3, 10))
    close(session, "T-001")
    later = T0 + timedelta(days=200)  # long past the old deadline
    ledger.transition(session, "T-001", "rebound", actor="office", reason="回头看发现", now=later)
    day = later.date()
    after = derived(session, day)
    assert after["overdue"] is False and after["warning"] == "none"
    assert after["due"] == day + timedelta(days=get_settings().rebound_deadline_days)
    with pytest.raises(ledger.TransitionError, match="in the past"):
        ledger.transition(
            session, "T-001", "reopen", actor="office", deadline=date(2026, 1, 1), now=later
        )


def test_a_rebound_retires_the_old_unmet_milestones(session) -> None:  # type: ignore[no-untyped-def]
    first, second = long_term(session, assign=False)
    for m, met, days in ((first, date(2026, 5, 30), 90), (second, date(2026, 9, 29), 220)):
        ledger.meet_milestone(
            session, m.id, met_on=met, actor="office", now=T0 + timedelta(days=days)
        )
    ledger.add_milestone(
        session, "T-001", title="长效管护", due_date=date(2026, 11, 30), actor="office",
        now=T0 + timedelta(days=220),
    )
    close(session, "T-001", at=T0 + timedelta(days=230))
    dec = T0 + timedelta(days=300)  # 2026-12-27: the 11-30 stage was never met
    ledger.transition(session, "T-001", "rebound", actor="office", reason="反弹", now=dec)
    state = derived(session, dec.date())
    assert state["overdue"] is False, state  # was 27 days overdue through the old stage
    assert state["due"] == dec.date() + timedelta(days=get_settings().rebound_deadline_days)


def test_a_look_back_finding_is_a_rebound_with_its_new_deadline(session) -> None:  # type: ignore[no-untyped-def]
    new_problem(session, deadline=date(2026, 3, 10))
    close(session, "T-001")
    later = T0 + timedelta(days=120)
    round_, count = lookbacks.create_round(
        session, name="第一轮回头看", actor="office", criteria=lookbacks.RoundCriteria()
    )
    assert count == 1
    session.flush()
    task_id = session.execute(
        text("SELECT id FROM lookback_tasks WHERE round_id = :r"), {"r": round_.id}
    ).scalar_one()
    lookbacks.record_result(
        session, task_id, found_again=True, actor="inspector", note="又见扬尘", now=later
    )
    problem = ledger.get_problem(session, "T-001")
    assert problem.status == "rectifying" and problem.rebound_count == 1  # rebounded, reopened
    assert derived(session, later.date())["overdue"] is False


def test_every_action_of_the_state_machine_has_exactly_one_handler() -> None:
    from gis.ledger.lifecycle import ACTIONS

    assert set(ledger.HANDLERS) == set(ACTIONS)


def test_closure_evidence_shows_this_problem_after_its_rectification_began(session) -> None:  # type: ignore[no-untyped-def]
    from datetime import datetime

    from tests.factories import add_inspection

    new_problem(session)
    assigned = T0 + timedelta(days=2)
    ledger.transition(session, "T-001", "assign", actor="office", now=assigned)
    ledger.transition(session, "T-001", "start", actor="西镇干部", now=assigned)
    before = add_inspection(session, "T-001", at=T0 + timedelta(days=1))
    persists = add_inspection(session, "T-001", finding="persists", at=assigned + timedelta(1))
    off_site = add_inspection(session, "T-001", at=assigned + timedelta(days=1))
    session.execute(
        text("UPDATE inspections SET flags = '[\"off_site\", \"photo_reused\"]' WHERE id = :i"),
        {"i": off_site},
    )
    photo = session.execute(
        text(
            "INSERT INTO attachments (sha256, filename, media_type, size_bytes, problem_id, kind,"
            " created_at) VALUES (repeat('a', 64), '前.jpg', 'image/jpeg', 10,"
            " (SELECT id FROM problems WHERE code = 'T-001'), 'before_photo', :t) RETURNING id"
        ),
        {"t": assigned + timedelta(days=1)},
    ).scalar_one()
    refusals = {
        before: "made before the rectification began",
        persists: "found 'persists'",
        off_site: "flagged off_site, photo_reused",
    }
    for inspection, why in refusals.items():
        with pytest.raises(ledger.TransitionError, match=why), session.begin_nested():
            ledger.transition(
                session, "T-001", "apply_closure", actor="西镇干部",
                inspection_ids=[inspection], now=assigned + timedelta(days=3),
            )  # fmt: skip
    with pytest.raises(ledger.TransitionError, match="before photo"), session.begin_nested():
        ledger.transition(
            session, "T-001", "apply_closure", actor="西镇干部", attachment_ids=[photo],
            now=assigned + timedelta(days=3),
        )  # fmt: skip
    good = add_inspection(session, "T-001", at=assigned + timedelta(days=2))
    problem = ledger.transition(
        session, "T-001", "apply_closure", actor="西镇干部", inspection_ids=[good],
        now=datetime.combine(date(2026, 3, 10), datetime.min.time(), T0.tzinfo),
    )  # fmt: skip
    assert problem.status == "awaiting_verification"


def test_the_unfit_flags_are_flags_the_field_app_sets() -> None:
    from gis.field.inspections import FLAGS

    assert ledger.UNFIT_FLAGS <= set(FLAGS)


def test_the_wait_for_the_offices_check_is_not_overdue_when_applied_on_time(session) -> None:  # type: ignore[no-untyped-def]
    from datetime import datetime

    from tests.factories import add_inspection

    tz = T0.tzinfo
    new_problem(session, "T-001", deadline=date(2026, 3, 20))
    new_problem(session, "T-002", deadline=date(2026, 3, 20))
    for code in ("T-001", "T-002"):
        ledger.transition(session, code, "assign", actor="office", now=T0)
        ledger.transition(session, code, "start", actor="西镇干部", now=T0)
    on_time = datetime(2026, 3, 18, 2, 0, tzinfo=tz)
    late = datetime(2026, 3, 25, 2, 0, tzinfo=tz)
    ledger.transition(
        session, "T-001", "apply_closure", actor="西镇干部", now=on_time,
        inspection_ids=[add_inspection(session, "T-001", at=on_time)],
    )  # fmt: skip
    ledger.transition(
        session, "T-002", "apply_closure", actor="西镇干部", now=late,
        inspection_ids=[add_inspection(session, "T-002", at=late)],
    )  # fmt: skip
    weeks_later = date(2026, 4, 30)
    waiting = derived(session, weeks_later, "T-001")
    # its clock stopped on the day it applied, two days before the deadline: still blue, weeks on
    assert waiting == {"due": date(2026, 3, 20), "overdue": False, "warning": "blue", "days": -2}
    assert derived(session, weeks_later, "T-002")["overdue"] is True  # it was late already
    # Sent back, its clock runs again from its deadline.
    ledger.transition(
        session, "T-001", "reject_closure", actor="office", reason="材料不全",
        now=datetime(2026, 4, 30, 2, 0, tzinfo=tz),
    )  # fmt: skip
    back = derived(session, weeks_later, "T-001")
    assert back["due"] == date(2026, 3, 20) and back["overdue"] is True and back["warning"] == "red"
