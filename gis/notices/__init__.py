"""Escalation notices (督办通知): rules, numbered documents, channels, scheduler, delivery log.

A rule (:mod:`gis.notices.rules`) says which trigger — a warning colour, days before or after a
deadline, a rebound, a suspected rebound, an off-site check-in, a complaint nearing its feedback
deadline — sends which notice kind (提醒函, 预警函, 督办函, 约谈通知) to whom, through which
channels and how often at most. :func:`gis.notices.runner.run_once` evaluates the rules once:
it issues numbered notices, attaches each to the problem's history and queues one delivery per
channel; :mod:`gis.notices.delivery` sends them with retries and backoff, and
:mod:`gis.notices.scheduler` repeats this in a thread of the app. No web code here.
"""

from __future__ import annotations

from gis.notices.runner import RunReport, plan, run_once
from gis.notices.scheduler import NoticeScheduler, start_scheduler

__all__ = ["NoticeScheduler", "RunReport", "plan", "run_once", "start_scheduler"]
