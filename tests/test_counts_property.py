"""Property: every surface shows the same number under the same name, whatever the ledger went
through.

Over random small ledgers (two or three townships, a handful of problems) driven through random
lifecycle actions by random roles (:func:`gis.ledger.writes.transition`, look-backs, suspected
rebounds, township edits), with the clock moved between steps, the counts of the sets named in
:mod:`gis.ledger.counts` agree on every surface, for every township and for the county: the
scorecard API, the wall's panel and ranking, the township wall (the office's and the township
officer's own), the report data, the bulletin data, OGC ``numberMatched`` and the CSV export.

Two more properties ride along: no township-role action lowers its own overdue count or any of
its problems' warning colour (only the office moves goalposts), and every rebound path (a
look-back finding, a confirmed suspected rebound, the office's rebound action) raises the
rebound count by exactly one.
"""

from __future__ import annotations

import csv
import io
import os
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from unittest import mock

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from sqlalchemy import text
from sqlalchemy.orm import Session

from gis.access.permissions import ACTION_ROLES, may_run
from gis.config import Settings, get_settings
from gis.db.models import Base
from gis.ledger import lookbacks, rebounds
from gis.ledger import writes as ledger
from gis.ledger.counts import ledger_counts
from gis.ledger.deadlines import local_today
from gis.ledger.lifecycle import ACTIONS, TransitionError, allowed_actions
from gis.ledger.query import ProblemQuery
from gis.ledger.scorecard import township_scorecard
from gis.reports.bulletin import bulletin_period, county_bulletin
from gis.reports.county import load_county
from gis.reports.periods import ReportDate
from gis.reports.township import township_report
from gis.vocab import OPEN_STATUSES
from server.app import create_app
from tests.factories import EAST, T0, WEST, add_inspection, load_two_townships, make_token

NORTH = "410199200000"
TOWNS = (WEST, EAST, NORTH)
# A point inside each township (see load_two_townships; 北乡 lies north of both).
CENTRES = {WEST: (113.05, 34.05), EAST: (113.15, 34.05), NORTH: (113.1, 34.15)}
NAMES = ("open", "overdue", "on_time", "rebounded", "closed")
ROLES = ("office", "admin", "township", "inspector")
WARNING_ORDER = {"none": 0, "blue": 1, "yellow": 2, "orange": 3, "red": 4}
OPEN = ",".join(s.value for s in OPEN_STATUSES)
# The OGC and export filters selecting each named set (``status=rebounded`` would be the status
# alone, not the set).
OGC_FILTERS = {
    "open": {"status": OPEN},
    "overdue": {"overdue": "true"},
    "on_time": {"overdue": "false", "status": OPEN},
    "closed": {"status": "closed"},
    "rebounded": {"rebounded": "true"},
}
EXPORT_FILTERS = {
    "open": {"status": [s.value for s in OPEN_STATUSES]},
    "overdue": {"overdue": "true"},
    "on_time": {"overdue": "false", "status": [s.value for s in OPEN_STATUSES]},
    "closed": {"status": ["closed"]},
    "rebounded": {"rebounded": "true"},
}


def reset(engine) -> None:  # type: ignore[no-untyped-def]
    """Empty every table, as the ``db`` fixture does after a test."""
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {', '.join(Base.metadata.tables)} RESTART IDENTITY CASCADE"))


def load_towns(session: Session, n: int) -> tuple[str, ...]:
    load_two_townships(session)
    if n == 3:
        session.execute(
            text(
                "INSERT INTO townships (code, name, geom) VALUES (:c, '北乡', ST_GeomFromText("
                "'MULTIPOLYGON(((113.0 34.1,113.2 34.1,113.2 34.2,113.0 34.2,113.0 34.1)))',"
                " 4490))"
            ),
            {"c": NORTH},
        )
    return TOWNS[:n]


# -- the scenario ------------------------------------------------------------------------------
problem_spec = st.tuples(
    st.integers(0, 2),  # township index (modulo the number of townships)
    st.sampled_from(("dated", "dated", "immediate", "long_term")),
    st.integers(-20, 40),  # deadline (or milestone) days after T0
)
step_spec = st.one_of(
    st.tuples(st.just("act"), st.integers(0, 9), st.integers(-2, 5), st.integers(-1, 3),
              st.integers(-3, 40), st.booleans()),
    st.tuples(st.just("act"), st.integers(0, 9), st.integers(0, 5), st.integers(0, 3),
              st.integers(-3, 40), st.just(True)),
    st.tuples(st.just("clock"), st.integers(1, 25)),
    st.tuples(st.just("lookback"), st.integers(0, 9), st.booleans()),
    st.tuples(st.just("suspect"), st.integers(0, 9)),
    st.tuples(st.just("edit"), st.integers(0, 9), st.sampled_from(("earlier", "later", "none")),
              st.integers(0, 30)),
    st.tuples(st.just("claim"), st.integers(0, 9)),
    st.tuples(st.just("walk"), st.integers(0, 9)),
    st.tuples(st.just("walk"), st.integers(0, 9)),  # twice as likely: most problems get closed
    st.tuples(st.just("confirm"), st.integers(0, 9)),
)
# The roles that walk a problem to closure, step by step (the acceptance procedure).
WALK = {
    "reported": ("assign", "office"),
    "assigned": ("start", "township"),
    "rectifying": ("apply_closure", "township"),
    "rebounded": ("reopen", "office"),
}


@dataclass
class World:
    """The ledger under test: its problems, the clock and who is signed in."""

    towns: tuple[str, ...]
    codes: list[str] = field(default_factory=list)
    now: datetime = T0
    applicant: dict[str, str] = field(default_factory=dict)

    @property
    def today(self) -> date:
        return local_today(self.now)


def town_of(session: Session, code: str) -> str:
    return session.execute(
        text("SELECT township_code FROM problems WHERE code = :c"), {"c": code}
    ).scalar_one()


def warnings(session: Session, town: str, today: date) -> dict[str, str]:
    from gis.ledger.query import list_problems

    page = list_problems(
        session, today=today, query=ProblemQuery(township_codes=(town,)), limit=100
    )
    return {i["code"]: i["warning"] for i in page.items}


def counts(session: Session, world: World, town: str | None = None) -> dict[str, int]:
    query = ProblemQuery(township_codes=(town,) if town else None)
    return ledger_counts(session, today=world.today, query=query)


def rebound_total(session: Session, world: World) -> int:
    return counts(session, world)["rebounded"]


def run_action(session: Session, world: World, step: tuple) -> tuple[str | None, str]:
    """Run one lifecycle action by a role allowed to; returns the acting role (None when
    nothing happened) and the action."""
    _, i, pick, who, days, passed = step
    code = world.codes[i % len(world.codes)]
    # mostly the next step of the problem's lifecycle, sometimes any action (refused or not)
    choices = allowed_actions(ledger.get_problem(session, code).status) if pick >= 0 else []
    action = choices[pick % len(choices)] if choices else tuple(ACTIONS)[pick % len(ACTIONS)]
    roles = sorted(ACTION_ROLES[action]) if who >= 0 else list(ROLES)
    role = roles[who % len(roles)]
    if not may_run(action, role):
        return None, action
    town = town_of(session, code)
    actor = f"{role}-{town}" if role in ("township", "inspector") else f"{role}-1"
    kwargs: dict = {"actor": actor, "now": world.now, "reason": "理由 reason"}
    if action == "apply_closure":
        kwargs["inspection_ids"] = [add_inspection(session, code, at=world.now)]
    if action == "record_check":
        kwargs["passed"] = passed
    if action in ("rebound", "reopen", "assign") and days >= 0:
        kwargs["deadline"] = world.today + timedelta(days=days)
    try:
        with session.begin_nested():
            ledger.transition(session, code, action, **kwargs)
    except (TransitionError, ledger.LedgerError):
        return None, action
    return role, action


def run_walk(session: Session, world: World, step: tuple) -> None:
    """Take one problem through the rest of the acceptance procedure to closed."""
    code = world.codes[step[1] % len(world.codes)]
    for _ in range(8):
        problem = ledger.get_problem(session, code)
        if problem.status == "closed":
            return
        if problem.status == "awaiting_verification":
            closure = session.execute(
                text("SELECT check_passed FROM closures WHERE problem_id = :p"
                     " AND outcome = 'pending'"), {"p": problem.id}).scalar()
            action, role = ("approve_closure", "office") if closure else ("record_check",
                                                                          "inspector")
        else:
            action, role = WALK[problem.status]
        pick = allowed_actions(problem.status).index(action)
        who = sorted(ACTION_ROLES[action]).index(role)
        acted, _ = run_action(session, world, ("act", step[1], pick, who, 30, True))
        if acted is None:
            return


def run_lookback(session: Session, world: World, step: tuple) -> bool:
    """A look-back round on one closed problem; True when it found the problem again."""
    _, i, found = step
    code = world.codes[i % len(world.codes)]
    problem = ledger.get_problem(session, code)
    if problem.status != "closed":
        return False
    rnd, _ = lookbacks.create_round(
        session,
        name="回头看",
        actor="office-1",
        criteria=lookbacks.RoundCriteria(township_code=problem.township_code),
    )
    task = session.execute(
        text("SELECT id FROM lookback_tasks WHERE round_id = :r AND problem_id = :p"),
        {"r": rnd.id, "p": problem.id},
    ).scalar_one()
    lookbacks.record_result(
        session, task, found_again=found, actor="inspector-1", note="复查", now=world.now
    )
    return found


def run_suspect(session: Session, world: World, step: tuple) -> bool:
    """An inspector finds a closed problem back; the office confirms the suspected rebound."""
    code = world.codes[step[1] % len(world.codes)]
    problem = ledger.get_problem(session, code)
    if problem.status != "closed":
        return False
    lon, lat = CENTRES[problem.township_code]
    insp = add_inspection(session, code, lon=lon, lat=lat, finding="rebound", at=world.now)
    suspects = rebounds.flag_for_inspection(session, insp)
    assert suspects, "a rebound finding on a closed problem is a suspected rebound"
    rebounds.confirm(session, suspects[0], actor="office-1", reason="确认反弹", now=world.now)
    return True


def run_edit(session: Session, world: World, step: tuple) -> bool:
    """A township officer changes the deadline of one of its problems; True if it took."""
    _, i, how, days = step
    code = world.codes[i % len(world.codes)]
    problem = ledger.get_problem(session, code)
    current = problem.deadline
    if how == "none":
        new = None
    elif current is None:
        new = world.today + timedelta(days=days)
    elif how == "earlier":
        new = max(world.today, current - timedelta(days=days))
    else:
        new = current + timedelta(days=days + 1)
    try:
        with session.begin_nested():
            ledger.update_problem(
                session, code, {"deadline": new}, actor=f"township-{problem.township_code}",
                reason="", now=world.now, role="township",
            )
    except ledger.LedgerError:
        return False
    return True


def run_claim(session: Session, world: World, step: tuple) -> bool:
    """A township officer reports the current milestone met (a claim, for the office)."""
    code = world.codes[step[1] % len(world.codes)]
    problem = ledger.get_problem(session, code)
    pending = [m for m in problem.milestones if m.met_on is None and m.superseded_on is None]
    if not pending:
        return False
    ledger.meet_milestone(
        session, pending[0].id, met_on=world.today, actor=f"township-{problem.township_code}",
        now=world.now, role="township",
    )
    return True


def run_confirm(session: Session, world: World, step: tuple) -> bool:
    """The office confirms the current milestone met, today (an office action)."""
    code = world.codes[step[1] % len(world.codes)]
    problem = ledger.get_problem(session, code)
    pending = [m for m in problem.milestones if m.met_on is None and m.superseded_on is None]
    if not pending:
        return False
    ledger.meet_milestone(
        session, pending[0].id, met_on=world.today, actor="office-1", now=world.now,
        role="office",
    )
    return True


# -- the surfaces --------------------------------------------------------------------------------
def csv_rows(resp) -> int:  # type: ignore[no-untyped-def]
    assert resp.status_code == 200, resp.text
    rows = list(csv.reader(io.StringIO(resp.content.decode("utf-8-sig"))))
    return len([r for r in rows[1:] if r])


def _cards(html: str) -> dict[str, int]:
    """The workbench home's count cards: ``{key: n}``."""
    import re

    found = re.findall(r'data-count="(\w+)"><a href="[^"]*">\s*<span class="n">(\d+)</span>', html)
    assert {k for k, _ in found} == {"open", "overdue", "rebounded", "closed"}, found
    return {k: int(n) for k, n in found}


def surfaces(  # type: ignore[no-untyped-def]
    session: Session, world: World, office: TestClient, township: dict[str, TestClient]
) -> dict[str | None, dict[str, dict[str, int]]]:
    """``{township or None (county): {surface: {name: count}}}``."""
    out: dict[str | None, dict[str, dict[str, int]]] = {t: {} for t in (*world.towns, None)}
    day = world.today

    def put(town: str | None, surface: str, values: dict) -> None:
        out[town][surface] = {n: int(values[n]) for n in NAMES}

    for town in (*world.towns, None):
        put(town, "counts", counts(session, world, town))

    api = office.get("/api/townships/summary").json()["townships"]
    for row in api:
        put(row["code"], "scorecard_api", row)
    put(None, "scorecard_api", {n: sum(r[n] for r in api) for n in NAMES})

    wall = office.get("/api/wall/summary").json()
    put(None, "wall_panel", wall["counts"])
    for row in wall["ranking"]:
        put(row["code"], "wall_ranking", row)
    put(None, "wall_ranking", {n: sum(r[n] for r in wall["ranking"]) for n in NAMES})

    # the workbench's home cards (工作台)
    home = office.get("/")
    assert home.status_code == 200
    out[None]["workbench_cards"] = _cards(home.text)
    # the wall's township bubbles: a colouring, whose rebounded and closed classes are the sets
    bubbles = office.get("/api/wall/problems", params={"zoom": 8}).json()["features"]
    for town in world.towns:
        props = next((f["properties"] for f in bubbles if f["properties"]["key"] == town), {})
        out[town]["wall_bubbles"] = {n: props.get(n, 0) for n in ("rebounded", "closed")}
    for town in world.towns:
        put(town, "township_wall", office.get(
            "/api/wall/summary", params={"township": town}).json()["counts"])
        own = township[town].get("/api/wall/summary").json()
        put(town, "own_wall", own["counts"])
        put(town, "own_wall_ranking", own["ranking"][0])
        put(town, "own_scorecard", township[town].get("/api/townships/summary").json()[
            "townships"][0])

    report_date = ReportDate(day=day)
    county = load_county(session, report_date, hotspots=False)
    for town in world.towns:
        put(town, "report_county", vars(county.scores[town]))
        report = township_report(session, town, report_date=report_date, county=county)
        put(town, "report", vars(report.score))
        heads = {h.key: h.current for h in report.headlines}
        tables = {t.key: t.total for t in report.tables}
        out[town]["report_headlines"] = {n: heads[n] for n in ("open", "overdue", "rebounded")}
        out[town]["report_tables"] = {"overdue": tables["overdue"],
                                      "rebounded": tables["rebounded"],
                                      "on_time": tables["open"]}

    bulletin = county_bulletin(session, "half_monthly", report_date=report_date)
    for row in bulletin.ranking:
        put(row.code, "bulletin_ranking", vars(row))
    totals = bulletin.totals
    out[None]["bulletin_totals"] = {n: totals[n] for n in ("open", "overdue", "rebounded",
                                                           "closed")}

    for town in (*world.towns, None):
        where = {"township_code": town} if town else {}
        ogc = {}
        export = {}
        for name in EXPORT_FILTERS:
            if name in OGC_FILTERS:
                resp = office.get("/ogc/collections/problems/items",
                                  params={**where, **OGC_FILTERS[name], "limit": 1})
                assert resp.status_code == 200, resp.text
                ogc[name] = resp.json()["numberMatched"]
            params = {**({"township": town} if town else {}), **EXPORT_FILTERS[name],
                      "format": "csv"}
            export[name] = csv_rows(office.get("/api/export/ledger", params=params))
        out[town]["ogc"] = ogc
        out[town]["export"] = export
    return out


def assert_agree(session: Session, world: World, office, township) -> None:  # type: ignore[no-untyped-def]
    for town, by_surface in surfaces(session, world, office, township).items():
        reference = by_surface["counts"]
        assert reference["open"] == reference["overdue"] + reference["on_time"]
        for surface, values in by_surface.items():
            for name, value in values.items():
                assert value == reference[name], (world.today, town, surface, name, value,
                                                  reference[name])


def assert_period_closures_agree(session: Session, world: World) -> None:
    """The bulletin's "closed in the period", the scorecard's and the report's are one number."""
    report_date = ReportDate(day=world.today)
    start, end, _, _ = bulletin_period("half_monthly", world.today)
    bulletin = county_bulletin(session, "half_monthly", report_date=report_date)
    scores = township_scorecard(session, today=end, period_start=start)
    assert bulletin.counts.closed == sum(s.closed_in_period for s in bulletin.ranking)
    assert bulletin.counts.closed == sum(s.closed_in_period for s in scores)
    assert bulletin.counts.closed == ledger_counts(
        session, today=end, period_start=start)["closed_in_period"]
    # the month: the report's headline and its trend's last month
    county = load_county(session, report_date, hotspots=False)
    month = county.months[-1]
    for town in world.towns:
        report = township_report(session, town, report_date=report_date, county=county)
        heads = {h.key: h.current for h in report.headlines}
        assert heads["closed"] == county.closed_by_month.get(town, {}).get(month, 0), town
        assert heads["closed"] == ledger_counts(
            session, today=world.today, query=ProblemQuery(township_codes=(town,)),
        )["closed_in_period"]


# -- the test ------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def app(engine):  # type: ignore[no-untyped-def]
    clock = {"today": T0.date()}
    application = create_app(engine=engine, settings=Settings(), clock=lambda: clock["today"])
    application.state.test_clock = clock
    return application


@settings(
    max_examples=int(os.environ.get("LOOKBACK_EXAMPLES", "20")),
    # the same examples on every run of the suite, so that a gate passes or fails on the code;
    # LOOKBACK_EXPLORE=1 draws new ones (with LOOKBACK_EXAMPLES=200, say) to look for more
    derandomize=not os.environ.get("LOOKBACK_EXPLORE"),
    # LOOKBACK_NO_SHRINK=1 reports the first failing example at once (shrinking one is slow)
    phases=(Phase.generate,) if os.environ.get("LOOKBACK_NO_SHRINK") else tuple(Phase),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    notice_days=st.sampled_from((0, 0, 5)),
    n_towns=st.sampled_from((2, 3)),
    problems=st.lists(problem_spec, min_size=2, max_size=5),
    steps=st.lists(step_spec, min_size=12, max_size=30),
)
def test_every_surface_counts_the_same_sets(db, app, notice_days, n_towns, problems, steps) -> None:  # type: ignore[no-untyped-def]
    engine = db  # emptied after the test; each example empties it first
    reset(engine)
    # with a public-notice period (公示), approval waits for the notice to end before closing
    noticed = get_settings().model_copy(update={"public_notice_days": notice_days})
    with ExitStack() as stack, Session(engine) as session:
        stack.enter_context(mock.patch("gis.ledger.writes.get_settings", return_value=noticed))
        towns = load_towns(session, n_towns)
        world = World(towns=towns)
        for k, (ti, kind, days) in enumerate(problems):
            code = f"P-{k}"
            town = towns[ti % len(towns)]
            lon, lat = CENTRES[town]
            due = T0.date() + timedelta(days=days)
            ledger.create_problem(
                session,
                ledger.ProblemInput(
                    code=code, source="provincial", category="dust", deadline_kind=kind,
                    deadline=due if kind == "dated" else None, description="工地扬尘",
                    responsible_unit="县住建局", responsible_person="王伟",
                    geometry={"type": "Point", "coordinates": [lon + k * 1e-4, lat]},
                ),
                actor="office-1",
                now=T0,
            )
            if kind == "long_term":
                ledger.add_milestone(
                    session, code, title="阶段目标", due_date=max(due, T0.date()),
                    actor="office-1", now=T0,
                )
            world.codes.append(code)
        session.commit()

        office_headers = make_token(engine, "office")
        office = TestClient(app, headers=office_headers)
        township = {
            t: TestClient(app, headers=make_token(engine, "township", [t])) for t in towns
        }
        clock = app.state.test_clock

        seen: dict[date, dict] = {}

        def check_all() -> None:
            clock["today"] = world.today
            assert_agree(session, world, office, township)
            seen[world.today] = {t: counts(session, world, t) for t in (*towns, None)}

        checks = 0
        for step in steps:
            kind = step[0]
            before_total = rebound_total(session, world)
            before = {t: (counts(session, world, t)["overdue"], warnings(session, t, world.today))
                      for t in towns}
            rebounded = False
            township_acted = None
            if kind == "clock":
                session.commit()
                if checks < 2:
                    check_all()
                    checks += 1
                world.now += timedelta(days=step[1])
                # what the scheduler does: close the problems whose notice has ended
                ledger.end_due_public_notices(session, actor="office-1", now=world.now)
                session.commit()
                continue
            if kind == "act":
                role, action = run_action(session, world, step)
                if role == "township":
                    township_acted = town_of(session, world.codes[step[1] % len(world.codes)])
                rebounded = role is not None and action == "rebound"
            elif kind == "confirm":
                run_confirm(session, world, step)
            elif kind == "walk":
                run_walk(session, world, step)
            elif kind == "lookback":
                rebounded = run_lookback(session, world, step)
            elif kind == "suspect":
                rebounded = run_suspect(session, world, step)
            elif kind == "edit":
                if run_edit(session, world, step):
                    township_acted = town_of(session, world.codes[step[1] % len(world.codes)])
            elif kind == "claim" and run_claim(session, world, step):
                township_acted = town_of(session, world.codes[step[1] % len(world.codes)])
            session.commit()
            after_total = rebound_total(session, world)
            if rebounded:
                assert after_total == before_total + 1, (step, before_total, after_total)
            if township_acted is not None:
                overdue, colours = before[township_acted]
                assert counts(session, world, township_acted)["overdue"] >= overdue, step
                now_colours = warnings(session, township_acted, world.today)
                for code, colour in colours.items():
                    assert WARNING_ORDER[now_colours[code]] >= WARNING_ORDER[colour], (
                        step, code, colour, now_colours[code])
        check_all()
        assert_period_closures_agree(session, world)
        # read "as of" a past day, the ledger gives the counts it gave live on that day
        for day, live in seen.items():
            for town, values in live.items():
                query = ProblemQuery(as_of=day, township_codes=(town,) if town else None)
                past = ledger_counts(session, today=day, query=query)
                assert {n: past[n] for n in NAMES} == {n: values[n] for n in NAMES}, (day, town)


def test_a_milestone_met_later_does_not_change_the_past(db) -> None:  # type: ignore[no-untyped-def]
    """Read as of a past day, a long-term problem overdue on its milestone then is overdue: the
    office confirming the milestone met (or a rebound superseding it) later changes the present
    only."""
    with Session(db) as session:
        load_two_townships(session)
        ledger.create_problem(
            session,
            ledger.ProblemInput(
                code="L-1", source="provincial", category="dust", deadline_kind="long_term",
                responsible_unit="县住建局", responsible_person="王伟",
                geometry={"type": "Point", "coordinates": [113.05, 34.05]},
            ),
            actor="office-1",
            now=T0,
        )
        ledger.add_milestone(
            session, "L-1", title="阶段目标", due_date=T0.date() + timedelta(days=2),
            actor="office-1", now=T0,
        )
        ledger.transition(session, "L-1", "assign", actor="office-1", now=T0)
        session.commit()
        past = T0.date() + timedelta(days=5)
        live = ledger_counts(session, today=past)
        assert live["overdue"] == 1
        milestone = ledger.get_problem(session, "L-1").milestones[0]
        later = T0 + timedelta(days=9)
        ledger.meet_milestone(
            session, milestone.id, met_on=local_today(later), actor="office-1", now=later,
            role="office",
        )
        session.commit()
        assert ledger_counts(session, today=local_today(later))["overdue"] == 0
        as_of = ledger_counts(session, today=past, query=ProblemQuery(as_of=past))
        assert as_of["overdue"] == live["overdue"]


def test_a_milestone_added_later_is_not_in_the_past(db) -> None:  # type: ignore[no-untyped-def]
    """Read as of a past day, a milestone added after that day sets neither the due date nor
    the warning (a stage set next week is not what the ledger said this week)."""
    from gis.ledger.query import list_problems

    with Session(db) as session:
        load_two_townships(session)
        ledger.create_problem(
            session,
            ledger.ProblemInput(
                code="L-2", source="provincial", category="dust", deadline_kind="long_term",
                deadline=T0.date() + timedelta(days=300),
                responsible_unit="县住建局", responsible_person="王伟",
                geometry={"type": "Point", "coordinates": [113.05, 34.05]},
            ),
            actor="office-1",
            now=T0,
        )
        ledger.transition(session, "L-2", "assign", actor="office-1", now=T0)
        day = T0.date() + timedelta(days=10)
        later = T0 + timedelta(days=11)
        ledger.add_milestone(
            session, "L-2", title="阶段目标", due_date=local_today(later) + timedelta(days=1),
            actor="office-1", now=later,
        )
        session.commit()

        def row(today, query):  # type: ignore[no-untyped-def]
            return list_problems(session, today=today, query=query, limit=5).items[0]

        now_row = row(local_today(later), ProblemQuery())
        assert now_row["warning"] == "blue"  # the stage is due tomorrow
        past = row(day, ProblemQuery(as_of=day))
        assert past["warning"] == "none"
        assert past["due_date"] == (T0.date() + timedelta(days=300)).isoformat()
