"""Request and response bodies of the ledger API (pydantic), with examples for the OpenAPI page."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from gis.db.models import FOLLOW_UP_OUTCOMES
from gis.ledger.complaints import STEP_KINDS
from gis.ledger.lifecycle import ACTIONS
from gis.vocab import (
    PROBLEM_FIELD,
    Category,
    ComplaintChannel,
    ComplaintKind,
    DeadlineKind,
    Source,
)

ActionName = Literal[tuple(ACTIONS)]  # type: ignore[valid-type]
StepKind = Literal[tuple(STEP_KINDS)]  # type: ignore[valid-type]
FollowUpOutcome = Literal[tuple(FOLLOW_UP_OUTCOMES)]  # type: ignore[valid-type]

POINT_EXAMPLE = {"type": "Point", "coordinates": [113.3201, 34.4105]}


class ProblemCreate(BaseModel):
    """A new ledger problem. ``township_code`` comes from the geometry when omitted."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "code": "ZY2-2026-00123",
                    "source": "central_2",
                    "category": "dust",
                    "deadline_kind": "dated",
                    "deadline": "2026-12-31",
                    "description": "城关街道建筑工地裸土未覆盖",
                    "responsible_unit": "县住建局",
                    "responsible_person": "王伟",
                    "geometry": POINT_EXAMPLE,
                }
            ]
        }
    )

    code: str = Field(min_length=1, max_length=64)
    source: Source
    category: Category
    deadline_kind: DeadlineKind = DeadlineKind.DATED
    deadline: date | None = None
    description: str = ""
    responsible_unit: str = ""
    responsible_person: str = ""
    supervising_leader: str = ""
    target: str = ""
    measures: str = ""
    township_code: str | None = Field(None, pattern=r"^\d{12}$")
    township_override_reason: str | None = None
    geometry: dict[str, Any] | None = Field(None, description="GeoJSON geometry, lon/lat")
    site_id: int | None = None


class ProblemPatch(BaseModel):
    """Field changes; the status changes only through transitions."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "responsible_person": "李娜",
                    "deadline": "2027-01-31",
                    "reason": "责任人调整",
                }
            ]
        },
    )

    reason: str = ""
    source: Source | None = None
    category: Category | None = None
    township_code: str | None = Field(None, pattern=r"^\d{12}$")
    township_override_reason: str | None = None
    description: str | None = None
    responsible_unit: str | None = None
    responsible_person: str | None = None
    supervising_leader: str | None = None
    target: str | None = None
    measures: str | None = None
    progress: str | None = None
    deadline_kind: DeadlineKind | None = None
    deadline: date | None = None
    site_id: int | None = None
    geometry: dict[str, Any] | None = None


def _describe_fields(*models: type[BaseModel]) -> None:
    """The problem fields' descriptions in the API's schema, from the one table of fields."""
    for model in models:
        for name, info in model.model_fields.items():
            f = PROBLEM_FIELD.get(name)
            if f is not None and not info.description:
                info.description = f"{f.zh} {f.en}"
        model.model_rebuild(force=True)


_describe_fields(ProblemCreate, ProblemPatch)


class TransitionRequest(BaseModel):
    """A lifecycle action on a problem."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"action": "assign", "deadline": "2026-12-31", "reason": "现场交办"},
                {"action": "apply_closure", "attachment_ids": [12], "reason": "整改完成，申请销号"},
                {"action": "record_check", "passed": True, "reason": "现场核查整改到位"},
                {"action": "approve_closure", "reason": "同意销号"},
            ]
        }
    )

    action: ActionName
    reason: str = ""
    deadline: date | None = None
    attachment_ids: list[int] = []
    inspection_ids: list[int] = []
    passed: bool | None = None
    password: str | None = Field(None, description="approve_closure asks for it again")


class MilestoneCreate(BaseModel):
    title: str = Field(min_length=1)
    due_date: date


class MilestoneMet(BaseModel):
    met_on: date
    note: str = ""


class EventOut(BaseModel):
    at: datetime
    actor: str
    action: str
    reason: str
    before: dict | None
    after: dict | None


class ComplaintCreate(BaseModel):
    """A complaint (信访件) as received."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "code": "XF20261123-0001",
                    "channel": "hotline_12369",
                    "kind": "air",
                    "category": "dust",
                    "received_at": "2026-11-23T09:30:00+08:00",
                    "text": "工地夜间扬尘",
                    "geometry": POINT_EXAMPLE,
                }
            ]
        }
    )

    code: str = Field(min_length=1, max_length=64)
    channel: ComplaintChannel
    kind: ComplaintKind
    received_at: datetime
    text: str = ""
    category: Category | None = None
    geometry: dict[str, Any] | None = None
    township_code: str | None = Field(None, pattern=r"^\d{12}$")


class ComplaintToProblem(BaseModel):
    problem_code: str = Field(min_length=1)
    category: Category
    responsible_unit: str = ""
    responsible_person: str = ""


class ComplaintLink(BaseModel):
    problem_code: str


class ComplaintStepCreate(BaseModel):
    """A step of a complaint's case (一案一档): handling (办理), the reply to the complainant
    (答复), the conclusion (办结, after a reply, once) or a follow-up call (回访, after the
    conclusion, with its outcome)."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"kind": "handling", "text": "已现场核查，责令覆盖裸土"}]}
    )

    kind: StepKind
    text: str = Field("", max_length=5000, description="what was done; needed but for follow-ups")
    outcome: FollowUpOutcome | None = Field(None, description="follow-up calls only")


class LookbackCreate(BaseModel):
    """A look-back round over closed problems; ``sample`` draws that many at random."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "name": "2026年第四季度回头看",
                    "category": "sand_gravel",
                    "sample": 20,
                    "seed": 7,
                }
            ]
        }
    )

    name: str = Field(min_length=1)
    township_code: str | None = Field(None, pattern=r"^\d{12}$")
    category: Category | None = None
    source: Source | None = None
    sample: int | None = Field(None, ge=1)
    seed: int = 0
    due_date: date | None = None


class LookbackResult(BaseModel):
    found_again: bool
    note: str = ""
    inspection_id: int | None = None
    new_deadline: date | None = None


class Decision(BaseModel):
    reason: str = ""


class OnSiteAssignment(BaseModel):
    """A problem found on the spot (现场交办), assigned with a deadline in one call."""

    lon: float = Field(ge=-180, le=180)
    lat: float = Field(ge=-90, le=90)
    category: Category
    description: str = Field(min_length=1)
    responsible_unit: str = Field(min_length=1)
    responsible_person: str = Field(min_length=1)
    deadline_kind: Literal["immediate", "dated"] = "immediate"
    deadline: date | None = None
    measures: str = ""
