"""The problem lifecycle as a state machine: which action moves a problem from which status.

``reported → assigned → rectifying → awaiting_verification → closed``; ``closed → rebounded →
rectifying``. Closure follows the acceptance procedure (提交申请 → 现场核查 → 审核签字 → 公示): the
application needs evidence, approval needs a passed on-site check and an approver, and with a
public-notice period the problem closes only when the notice ends.
"""

from __future__ import annotations

from dataclasses import dataclass

from gis.errors import LookbackError
from gis.vocab import Status


@dataclass(frozen=True)
class Action:
    """A named lifecycle step: allowed source statuses and the resulting status."""

    name: str
    sources: tuple[Status, ...]
    target: Status
    zh: str
    en: str


ACTIONS: dict[str, Action] = {
    a.name: a
    for a in (
        Action("assign", (Status.REPORTED,), Status.ASSIGNED, "交办", "Assign"),
        Action("start", (Status.ASSIGNED,), Status.RECTIFYING, "开始整改", "Start rectifying"),
        Action(
            "apply_closure", (Status.RECTIFYING,), Status.AWAITING_VERIFICATION,
            "申请销号", "Apply for closure",
        ),
        Action(
            "record_check", (Status.AWAITING_VERIFICATION,), Status.AWAITING_VERIFICATION,
            "现场核查", "Record on-site check",
        ),
        Action(
            "reject_closure", (Status.AWAITING_VERIFICATION,), Status.RECTIFYING,
            "退回整改", "Reject closure",
        ),
        # With a public-notice period, approval keeps the status until the notice ends.
        Action(
            "approve_closure", (Status.AWAITING_VERIFICATION,), Status.CLOSED,
            "审核销号", "Approve closure",
        ),
        Action(
            "end_public_notice", (Status.AWAITING_VERIFICATION,), Status.CLOSED,
            "公示期满销号", "Close after public notice",
        ),
        Action("rebound", (Status.CLOSED,), Status.REBOUNDED, "认定反弹", "Mark rebounded"),
        Action("reopen", (Status.REBOUNDED,), Status.RECTIFYING, "重新整改", "Reopen"),
    )
}


class TransitionError(LookbackError, ValueError):
    """An action that is not allowed from the problem's status, or whose conditions fail."""

    kind = "conflict"

    def __init__(self, message: str, *, allowed: list[str] | None = None) -> None:
        super().__init__(message)
        self.allowed = allowed or []

    def details(self) -> dict:
        return {"allowed_actions": self.allowed}


def allowed_actions(status: str | Status) -> list[str]:
    """The actions allowed from ``status``, in lifecycle order."""
    status = Status(status)
    return [a.name for a in ACTIONS.values() if status in a.sources]


def check_transition(status: str | Status, action: str) -> Action:
    """The action, or a :class:`TransitionError` naming the actions allowed from ``status``."""
    status = Status(status)
    if action not in ACTIONS:
        raise TransitionError(
            f"unknown action {action!r}; actions are: {', '.join(ACTIONS)}",
            allowed=allowed_actions(status),
        )
    step = ACTIONS[action]
    if status not in step.sources:
        allowed = allowed_actions(status)
        raise TransitionError(
            f"cannot {action} a problem that is {status.value} ({status.zh}); "
            f"allowed from {status.value}: {', '.join(allowed) or 'none'}",
            allowed=allowed,
        )
    return step
