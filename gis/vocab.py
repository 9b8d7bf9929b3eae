"""The ledger's controlled vocabularies, with Chinese and English labels.

Values are stable English identifiers stored in the database; labels are for people.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Labelled(StrEnum):
    """A string enum whose members carry ``zh`` and ``en`` labels in ``LABELS``."""

    @property
    def zh(self) -> str:
        return LABELS[type(self).__name__][self.value][0]

    @property
    def en(self) -> str:
        return LABELS[type(self).__name__][self.value][1]

    def label(self, lang: str = "zh") -> str:
        return self.zh if lang == "zh" else self.en


class Status(Labelled):
    REPORTED = "reported"
    ASSIGNED = "assigned"
    RECTIFYING = "rectifying"
    AWAITING_VERIFICATION = "awaiting_verification"
    CLOSED = "closed"
    REBOUNDED = "rebounded"


OPEN_STATUSES = tuple(s for s in Status if s is not Status.CLOSED)


class DeadlineKind(Labelled):
    IMMEDIATE = "immediate"
    DATED = "dated"
    LONG_TERM = "long_term"


class Warning(Labelled):  # noqa: A001 - the domain's word
    NONE = "none"
    BLUE = "blue"
    YELLOW = "yellow"
    ORANGE = "orange"
    RED = "red"


class Category(Labelled):
    SEWAGE_PLANT = "sewage_plant"
    SEWAGE_NETWORK = "sewage_network"
    SAND_GRAVEL = "sand_gravel"
    WATER_SOURCE = "water_source"
    DUST = "dust"
    LANDFILL = "landfill"
    RIVER_OUTFALL = "river_outfall"
    BLACK_ODOROUS_WATER = "black_odorous_water"
    INDUSTRIAL = "industrial"
    STRAW_BURNING = "straw_burning"
    RESTAURANT_FUMES = "restaurant_fumes"
    OTHER = "other"


class Source(Labelled):
    CENTRAL_1 = "central_1"
    CENTRAL_2 = "central_2"
    CENTRAL_LOOKBACK = "central_lookback"
    PROVINCIAL = "provincial"
    MUNICIPAL = "municipal"
    SELF_CHECK = "self_check"
    UNANNOUNCED = "unannounced"
    COMPLAINT = "complaint"
    PUSHED_LIST = "pushed_list"
    INSPECTION = "inspection"


class SiteKind(Labelled):
    SEWAGE_PLANT = "sewage_plant"
    SEWAGE_NETWORK = "sewage_network"
    SAND_GRAVEL = "sand_gravel"
    WATER_SOURCE = "water_source"
    PROTECTION_ZONE = "protection_zone"
    DUST_SOURCE = "dust_source"
    LANDFILL = "landfill"
    RIVER_OUTFALL = "river_outfall"
    BLACK_ODOROUS_WATER = "black_odorous_water"
    AIR_STATION = "air_station"
    ENTERPRISE = "enterprise"
    RIVER = "river"


class ZoneLevel(Labelled):
    LEVEL_1 = "1"
    LEVEL_2 = "2"
    QUASI = "quasi"


class Finding(Labelled):
    CHECKED = "checked"
    PERSISTS = "persists"
    NEW_PROBLEM = "new_problem"
    REBOUND = "rebound"


class ComplaintChannel(Labelled):
    HOTLINE_12345 = "hotline_12345"
    HOTLINE_12369 = "hotline_12369"
    LETTER = "letter"
    VISIT = "visit"
    ONLINE = "online"
    TRANSFERRED = "transferred"


class ComplaintKind(Labelled):
    WATER = "water"
    AIR = "air"
    SOIL = "soil"
    ECOLOGY = "ecology"
    NOISE = "noise"
    RADIATION = "radiation"
    OTHER = "other"


LABELS: dict[str, dict[str, tuple[str, str]]] = {
    "Status": {
        "reported": ("已登记", "Reported"),
        "assigned": ("已交办", "Assigned"),
        "rectifying": ("整改中", "Rectifying"),
        "awaiting_verification": ("申请销号", "Awaiting verification"),
        "closed": ("已销号", "Closed"),
        "rebounded": ("反弹", "Rebounded"),
    },
    "DeadlineKind": {
        "immediate": ("立行立改", "Immediate"),
        "dated": ("限时整改", "Time-limited"),
        "long_term": ("长期坚持", "Long-term"),
    },
    "Warning": {
        "none": ("无", "None"),
        "blue": ("蓝色预警", "Blue"),
        "yellow": ("黄色预警", "Yellow"),
        "orange": ("橙色预警", "Orange"),
        "red": ("红色预警", "Red"),
    },
    "Category": {
        "sewage_plant": ("污水处理厂", "Sewage plant"),
        "sewage_network": ("污水管网", "Sewage network"),
        "sand_gravel": ("非法采砂", "Sand-gravel mining"),
        "water_source": ("饮用水水源地", "Drinking-water source"),
        "dust": ("扬尘污染", "Dust"),
        "landfill": ("垃圾填埋/生活垃圾", "Landfill / domestic waste"),
        "river_outfall": ("入河排污口", "River outfall"),
        "black_odorous_water": ("黑臭水体", "Black-odorous water"),
        "industrial": ("工业企业", "Industrial enterprise"),
        "straw_burning": ("秸秆焚烧", "Straw burning"),
        "restaurant_fumes": ("餐饮油烟", "Restaurant fumes"),
        "other": ("其他", "Other"),
    },
    "Source": {
        "central_1": ("中央环保督察第一轮", "Central inspection, round 1"),
        "central_2": ("中央环保督察第二轮", "Central inspection, round 2"),
        "central_lookback": ("中央环保督察回头看", "Central inspection look-back"),
        "provincial": ("省级环保督察", "Provincial inspection"),
        "municipal": ("市级督察", "Municipal inspection"),
        "self_check": ("流域自查", "River-basin self-check"),
        "unannounced": ("暗查暗访", "Unannounced visit"),
        "complaint": ("信访投诉", "Public complaint"),
        "pushed_list": ("上级推送清单", "List pushed from above"),
        "inspection": ("日常巡查", "Routine inspection"),
    },
    "SiteKind": {
        "sewage_plant": ("污水处理厂", "Sewage plant"),
        "sewage_network": ("污水管网", "Sewage network"),
        "sand_gravel": ("砂石开采点", "Sand-gravel site"),
        "water_source": ("饮用水水源地", "Drinking-water source"),
        "protection_zone": ("水源保护区", "Protection zone"),
        "dust_source": ("扬尘源", "Dust source"),
        "landfill": ("垃圾填埋场", "Landfill"),
        "river_outfall": ("入河排污口", "River outfall"),
        "black_odorous_water": ("黑臭水体", "Black-odorous water body"),
        "air_station": ("国控空气站", "National air station"),
        "enterprise": ("企业", "Enterprise"),
        "river": ("河流", "River"),
    },
    "ZoneLevel": {
        "1": ("一级保护区", "Level 1 zone"),
        "2": ("二级保护区", "Level 2 zone"),
        "quasi": ("准保护区", "Quasi-protection zone"),
    },
    "Finding": {
        "checked": ("已核查（整改到位）", "Checked (rectified)"),
        "persists": ("问题仍存在", "Problem persists"),
        "new_problem": ("发现新问题", "New problem"),
        "rebound": ("问题反弹", "Rebound"),
    },
    "ComplaintChannel": {
        "hotline_12345": ("12345热线", "12345 hotline"),
        "hotline_12369": ("12369热线", "12369 hotline"),
        "letter": ("来信", "Letter"),
        "visit": ("来访", "Visit"),
        "online": ("网络", "Online"),
        "transferred": ("上级转办", "Transferred"),
    },
    "ComplaintKind": {
        "water": ("水", "Water"),
        "air": ("大气", "Air"),
        "soil": ("土壤", "Soil"),
        "ecology": ("生态", "Ecology"),
        "noise": ("噪声", "Noise"),
        "radiation": ("辐射", "Radiation"),
        "other": ("其他", "Other"),
    },
}


@dataclass(frozen=True)
class ProblemField:
    """One field of a problem: its name, its label in both languages, and where it takes part.

    ``editable``: the office may change it (``update_problem``, the edit form, the Excel import);
    ``history_text``: a text rebuilt "as of" a past day from the events (besides the tracked
    fields); ``sheet_text``: a free-text column of the Excel ledger; ``sheet`` and ``width``: its
    column in the ledger template (the importer reads it back), in template order."""

    name: str
    zh: str
    en: str
    editable: bool = False
    history_text: bool = False
    sheet_text: bool = False
    sheet: str | None = None
    width: float = 0


# The problem's fields, one row each: the model's columns, the edit form, the Excel template and
# import, the history rebuild, the pages' and notices' labels all read this table.
PROBLEM_FIELDS: tuple[ProblemField, ...] = (
    ProblemField("code", "问题编号", "Problem code", sheet="问题编号", width=16),
    ProblemField("source", "问题来源", "Source", editable=True, sheet="问题来源", width=18),
    ProblemField("township_code", "所属乡镇", "Township", editable=True),
    ProblemField(
        "township_override_reason", "乡镇指定理由", "Township override reason", editable=True,
        history_text=True,
    ),
    ProblemField("category", "问题类别", "Category", editable=True, sheet="问题类别", width=14),
    ProblemField(
        "description", "问题描述", "Description", editable=True, history_text=True,
        sheet_text=True, sheet="问题描述", width=40,
    ),
    ProblemField(
        "responsible_unit", "责任单位", "Responsible unit", editable=True, sheet_text=True,
        sheet="责任单位", width=18,
    ),
    ProblemField(
        "responsible_person", "责任人", "Responsible person", editable=True, sheet_text=True,
        sheet="责任人", width=10,
    ),
    ProblemField(
        "supervising_leader", "责任领导", "Supervising leader", editable=True, history_text=True,
        sheet_text=True, sheet="责任领导", width=10,
    ),
    ProblemField(
        "target", "整改目标", "Target", editable=True, history_text=True, sheet_text=True,
        sheet="整改目标", width=30,
    ),
    ProblemField(
        "measures", "整改措施", "Measures", editable=True, history_text=True, sheet_text=True,
        sheet="整改措施", width=36,
    ),
    ProblemField("deadline_kind", "期限类型", "Deadline kind", editable=True),
    ProblemField("deadline", "整改期限", "Deadline", editable=True, sheet="整改时限", width=14),
    ProblemField(
        "progress", "整改进展", "Progress", editable=True, history_text=True, sheet_text=True,
        sheet="整改进展", width=30,
    ),
    ProblemField("site_id", "关联点位", "Site", editable=True),
    ProblemField("status", "整改状态", "Status", sheet="整改状态", width=10),
    ProblemField("geometry", "位置", "Location"),
    ProblemField("closed_at", "销号时间", "Closed at"),
    ProblemField("rebound_count", "反弹次数", "Rebounds"),
    ProblemField("notice_ends_on", "公示截止", "Public notice ends"),
)
PROBLEM_FIELD = {f.name: f for f in PROBLEM_FIELDS}


def field_label(name: str, lang: str = "zh") -> str:
    """A problem field's label (its name when it is not a problem field)."""
    f = PROBLEM_FIELD.get(name)
    return (f.zh if lang == "zh" else f.en) if f else name


def values(enum: type[StrEnum]) -> list[str]:
    """The stored values of an enum, in declaration order."""
    return [member.value for member in enum]
