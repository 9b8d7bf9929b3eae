"""Time steps of a space-time cube: complete calendar months, ISO weeks or days.

A time step is only used once it is over. On any day the current month (or week, or day) is
still filling up, so counting it as the final step makes a stationary county look as if its
incidents had just dropped: spurious historical hot spots and new cold spots at the final step,
which is the step Esri's emerging hot spot rules weigh most. The window of ``n`` steps therefore
ends with the **last complete period** before ``today``.

Steps are numbered on one integer axis per kind, so they can be computed in the database and in
numpy alike from the local date's day number ``d`` (days since 1970-01-01):

* ``month``: year·12 + month − 1;
* ``week``: ISO weeks, Monday to Sunday: ``(d + 3) // 7`` (1970-01-01 was a Thursday);
* ``day``: ``d``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal, get_args

import numpy as np
from numpy.typing import ArrayLike, NDArray

from gis.hotspots.errors import HotspotInputError

Step = Literal["month", "week", "day"]
STEPS: tuple[str, ...] = get_args(Step)
EPOCH = date(1970, 1, 1)
STEP_WORDS: dict[str, tuple[str, str]] = {
    "month": ("月", "month"),
    "week": ("周", "week"),
    "day": ("天", "day"),
}


def day_number(day: date) -> int:
    """Days since 1970-01-01."""
    return (day - EPOCH).days


def step_index(day: date, step: Step) -> int:
    """The index of the period of kind ``step`` holding ``day``."""
    return int(step_indices([day_number(day)], step)[0])


def step_indices(days: ArrayLike, step: Step) -> NDArray[np.int64]:
    """Period indices of day numbers (days since 1970-01-01), vectorised."""
    d = np.asarray(days, dtype=np.int64)
    if step == "day":
        return d
    if step == "week":
        return (d + 3) // 7
    if step == "month":
        dt = d.astype("datetime64[D]").astype("datetime64[M]").astype(np.int64)
        return dt + 1970 * 12  # datetime64[M] counts months since 1970-01
    raise HotspotInputError(
        f"未知的时间步 {step!r}，应为 month、week 或 day。",
        f"Unknown time step {step!r}; use month, week or day.",
    )


def period_start(index: int, step: Step) -> date:
    """First day of the period ``index``."""
    if step == "day":
        return EPOCH + timedelta(days=int(index))
    if step == "week":
        return EPOCH + timedelta(days=7 * int(index) - 3)
    return date(int(index) // 12, int(index) % 12 + 1, 1)


def period_end(index: int, step: Step) -> date:
    """Last day of the period ``index``."""
    return period_start(index + 1, step) - timedelta(days=1)


def period_label(index: int, step: Step) -> str:
    """``YYYY-MM`` for months, ISO ``YYYY-Www`` for weeks, ``YYYY-MM-DD`` for days."""
    start = period_start(index, step)
    if step == "month":
        return f"{start.year:04d}-{start.month:02d}"
    if step == "week":
        year, week, _ = start.isocalendar()
        return f"{year:04d}-W{week:02d}"
    return start.isoformat()


@dataclass(frozen=True)
class Window:
    """``n`` complete periods ending with the last one over before ``today``."""

    step: Step
    first: int  # index of the first period
    last: int  # index of the final (complete) period
    today: date

    @property
    def n_steps(self) -> int:
        """Number of time steps."""
        return self.last - self.first + 1

    @property
    def start(self) -> date:
        """First day of the window."""
        return period_start(self.first, self.step)

    @property
    def end(self) -> date:
        """Last day of the window: the last day of the last complete period."""
        return period_end(self.last, self.step)

    @property
    def current(self) -> int:
        """Index of the unfinished period holding ``today`` (left out)."""
        return self.last + 1

    def labels(self) -> list[str]:
        """One label per step, oldest first."""
        return [period_label(k, self.step) for k in range(self.first, self.last + 1)]


def complete_window(today: date, n_steps: int, step: Step = "month") -> Window:
    """The ``n_steps`` periods of kind ``step`` ending with the last complete one."""
    if step not in STEPS:
        step_indices([0], step)  # raises the bilingual error
    if n_steps < 1:
        raise ValueError("n_steps must be positive")
    last = step_index(today, step) - 1
    return Window(step, last - n_steps + 1, last, today)
