"""Complete time steps: months, ISO weeks and days ending with the last finished period."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest

from gis.hotspots.errors import HotspotInputError
from gis.hotspots.grid import Grid
from gis.hotspots.periods import (
    complete_window,
    day_number,
    period_end,
    period_label,
    period_start,
    step_index,
    step_indices,
)
from gis.hotspots.trends import emerging_hotspots


def test_the_window_ends_with_the_last_complete_month_week_or_day() -> None:
    today = date(2026, 12, 3)  # a Thursday early in December
    month = complete_window(today, 12, "month")
    assert month.labels()[-1] == "2026-11" and month.labels()[0] == "2025-12"
    assert month.end == date(2026, 11, 30) and month.start == date(2025, 12, 1)
    assert period_label(month.current, "month") == "2026-12"
    week = complete_window(today, 10, "week")
    assert week.end == date(2026, 11, 29) and week.end.isoweekday() == 7  # the last Sunday
    assert week.start == date(2026, 9, 21) and week.start.isoweekday() == 1
    assert week.labels()[-1] == "2026-W48" and period_label(week.current, "week") == "2026-W49"
    day = complete_window(today, 30, "day")
    assert day.end == date(2026, 12, 2) and day.n_steps == 30
    # On the first day of a month, the whole previous month is complete.
    assert complete_window(date(2026, 12, 1), 12).end == date(2026, 11, 30)
    assert complete_window(date(2026, 1, 1), 12).labels()[-1] == "2025-12"


def test_step_indices_agree_with_the_calendar() -> None:
    days = [date(1969, 12, 29), date(1970, 1, 1), date(2024, 2, 29), date(2026, 12, 31)]
    nums = np.array([day_number(d) for d in days])
    assert step_indices(nums, "month").tolist() == [d.year * 12 + d.month - 1 for d in days]
    for d in days:
        for step in ("month", "week", "day"):
            k = step_index(d, step)  # type: ignore[arg-type]
            assert period_start(k, step) <= d <= period_end(k, step)  # type: ignore[arg-type]
        assert period_start(step_index(d, "week"), "week").isoweekday() == 1
        iso = d.isocalendar()
        assert period_label(step_index(d, "week"), "week") == f"{iso[0]:04d}-W{iso[1]:02d}"
    with pytest.raises(HotspotInputError, match="month, week or day"):
        complete_window(date(2026, 1, 1), 12, "year")  # type: ignore[arg-type]


def _lattice() -> np.ndarray:
    g = Grid(500.0, "hex")
    ii, jj = np.meshgrid(np.arange(20), np.arange(20))
    cx, cy = g.centres(ii.ravel(), jj.ravel())
    return np.column_stack([cx, cy])


def test_a_stationary_county_shows_no_pattern_unless_the_final_step_is_partial() -> None:
    # 400 cells, 12 monthly steps of Poisson(2) counts everywhere: nothing is emerging.
    rng = np.random.default_rng(1)
    xy = _lattice()
    flagged_complete, flagged_partial = [], []
    for _ in range(4):
        counts = rng.poisson(2.0, (400, 12))
        done = emerging_hotspots(counts, xy, 1000.0)
        flagged_complete.append(sum(k != "no_pattern" for k in done.pattern) / 400)
        partial = counts.copy()
        partial[:, -1] = rng.poisson(0.5, 400)  # the final step a quarter over
        early = emerging_hotspots(partial, xy, 1000.0)
        flagged_partial.append(sum(k != "no_pattern" for k in early.pattern) / 400)
    # FDR at 10 % over the cube's bins: a pattern needs at least one significant bin, so the
    # share of cells with any pattern stays far below 10 % when every step is complete …
    assert max(flagged_complete) <= 0.02
    # … while a partial final step makes a fifth or more of the county "new cold spots".
    assert min(flagged_partial) >= 0.15
