"""The ledger's controlled vocabularies, with Chinese and English labels.

Values are stable English identifiers stored in the database; labels are for people.
"""

from __future__ import annotations

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


def values(enum: type[StrEnum]) -> list[str]:
    """The stored values of an enum, in declaration order."""
    return [member.value for member in enum]
