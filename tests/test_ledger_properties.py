"""Property: any sequence of actions leaves each problem in a state its events explain."""

from __future__ import annotations

from datetime import date, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text
from sqlalchemy.orm import Session

from gis.ledger import writes as ledger
from gis.ledger.lifecycle import ACTIONS, TransitionError, check_transition
from tests.factories import T0, add_inspection, load_two_townships, new_problem

ACTORS = ("office", "township", "checker")
STEP = st.tuples(
    st.sampled_from(sorted(ACTIONS)),
    st.sampled_from(ACTORS),
    st.booleans(),  # passed (for record_check) / with evidence
    st.integers(min_value=-3, max_value=60),  # deadline offset in days
)


def _replay(events) -> dict:  # type: ignore[no-untyped-def]
    state: dict = {}
    for e in events:
        if e.action != "created" and "status" in (e.after or {}):
            # every status change must be a legal step from the replayed status
            assert check_transition(state["status"], e.action).target.value == e.after["status"]
        state.update(e.after or {})
    return state


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(steps=st.lists(STEP, max_size=14))
def test_random_action_sequences_are_explained_by_events(db, steps) -> None:  # type: ignore[no-untyped-def]
    with Session(db) as session:
        with session.begin():
            load_two_townships(session)
            new_problem(session)
        now = T0
        for action, actor, flag, offset in steps:
            now += timedelta(hours=1)
            kwargs: dict = {
                "deadline": date(2026, 3, 2) + timedelta(days=offset),
                "reason": "理由" if flag or action != "reject_closure" else "",
            }
            if action == "record_check":
                kwargs["passed"] = flag
            try:
                with session.begin():
                    if action == "apply_closure" and flag:
                        kwargs["inspection_ids"] = [add_inspection(session, "T-001", at=now)]
                    ledger.transition(session, "T-001", action, actor=actor, now=now, **kwargs)
            except TransitionError:
                pass  # refused: the transaction rolled back, nothing changed
        problem = ledger.get_problem(session, "T-001")
        state = _replay(ledger.history(session, "T-001"))
        assert state["status"] == problem.status
        assert state.get("rebound_count", 0) == problem.rebound_count
        assert (state.get("closed_at") is None) == (problem.closed_at is None)
        session.rollback()
    with db.begin() as conn:
        conn.execute(
            text(
                "TRUNCATE townships, problems, events, inspections, closures"
                " RESTART IDENTITY CASCADE"
            )
        )
