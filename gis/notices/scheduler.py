"""The notice scheduler: a daemon thread of the app that runs :func:`run_once` once per interval.

Enable it with ``LOOKBACK_NOTICES_INTERVAL_S`` > 0 (default 0: off, as in tests). The thread wakes
every ``min(interval, 60)`` seconds; a run happens only when no scheduler run started within the
interval (recorded in ``notice_runs``), and only in the process that wins the advisory lock, so
several app processes together run one job per interval, and a restart neither skips nor repeats.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import date

from sqlalchemy import Engine

from gis.notices.config import NoticeSettings, get_notice_settings
from gis.notices.runner import RunReport, run_once

log = logging.getLogger("lookback.notices")
MAX_POLL_S = 60.0


class NoticeScheduler:
    """Runs the notice rules every ``interval_s`` seconds in a background thread."""

    def __init__(
        self,
        engine: Engine,
        interval_s: float,
        *,
        clock: Callable[[], date] | None = None,
        settings: NoticeSettings | None = None,
        poll_s: float | None = None,
    ) -> None:
        if interval_s <= 0:
            raise ValueError("the scheduler needs an interval > 0 seconds")
        self.engine = engine
        self.interval_s = interval_s
        self.clock = clock
        self.settings = settings
        self.poll_s = poll_s if poll_s is not None else min(interval_s, MAX_POLL_S)
        self.runs = 0
        self.last_report: RunReport | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="lookback-notices", daemon=True)

    def tick(self) -> RunReport:
        """One wake-up: run the rules unless a scheduler run started within the interval."""
        report = run_once(
            self.engine,
            today=self.clock() if self.clock else None,
            trigger="scheduler",
            min_gap_s=self.interval_s,
            settings=self.settings,
        )
        if report.skipped is None:
            self.runs += 1
            log.info(
                "notices: %d issued, deliveries %s", len(report.issued), report.deliveries or {}
            )
        self.last_report = report
        return report

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.tick()
            except Exception:  # noqa: BLE001 - keep the thread alive through database outages
                log.exception("notice run failed; retrying at the next wake-up")
            self._stop.wait(self.poll_s)

    def start(self) -> NoticeScheduler:
        """Start the thread (returns self)."""
        self._thread.start()
        return self

    def stop(self, timeout: float = 30.0) -> None:
        """Ask the thread to stop and wait for the current run to finish."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    @property
    def running(self) -> bool:
        """Whether the thread is alive."""
        return self._thread.is_alive()


def start_scheduler(
    engine: Engine,
    interval_s: float | None = None,
    *,
    clock: Callable[[], date] | None = None,
    settings: NoticeSettings | None = None,
) -> NoticeScheduler | None:
    """Start the scheduler when the interval (default ``LOOKBACK_NOTICES_INTERVAL_S``) is > 0."""
    s = settings or get_notice_settings()
    interval = s.interval_s if interval_s is None else interval_s
    if interval <= 0:
        return None
    return NoticeScheduler(engine, interval, clock=clock, settings=s).start()
