"""Header words, status and category words, placeholders and the limits of a workbook: the
vocabulary of the Excel ledger.
"""

from __future__ import annotations

from gis import vocab

XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
OUTCOMES = ("imported", "updated", "unchanged", "merged", "skipped", "rejected")
HEADER_SCAN_ROWS = 30
# What an uploaded workbook may hold (see docs/excel.md): a ledger is a few thousand rows.
MAX_SHEET_ROWS = 20_000
MAX_SHEET_COLUMNS = 200
MAX_ZIP_MEMBERS = 2_000
MAX_MEMBER_BYTES = 300_000_000  # uncompressed, per part and in all
MAX_EXPANSION_RATIO = 100  # uncompressed / compressed, for parts over RATIO_FLOOR_BYTES
RATIO_FLOOR_BYTES = 5_000_000
MERGE_TAG = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}mergeCell"
COORD_TOLERANCE_DEG = 1e-7  # about 1 cm: Excel keeps 15-16 significant digits

# Header words by ledger field, compared after normalisation (NFKC, no spaces, no line breaks);
# a header is also tried with its bracketed part removed (所属乡镇（街道） → 所属乡镇).
HEADER_ALIASES: dict[str, tuple[str, ...]] = {
    "seq": ("序号",),
    "code": ("问题编号", "编号", "台账编号", "交办编号", "问题代码", "案件编号"),
    "source": ("问题来源", "来源", "交办来源", "反馈来源"),
    "township": (
        "所属乡镇",
        "乡镇",
        "属地",
        "乡镇街道",
        "所在乡镇",
        "责任乡镇",
        "属地乡镇",
        "乡",
        "所属区域",
    ),
    "category": ("问题类别", "类别", "问题类型", "类型", "问题分类", "污染类型"),
    "description": (
        "问题描述",
        "具体问题",
        "问题内容",
        "问题",
        "问题概况",
        "反馈问题",
        "存在问题",
        "主要问题",
        "问题情况",
    ),
    "lon": ("经度", "东经"),
    "lat": ("纬度", "北纬"),
    "lonlat": ("经纬度", "坐标", "位置坐标", "点位坐标", "地理坐标"),
    "responsible_unit": (
        "责任单位",
        "牵头单位",
        "主体责任单位",
        "责任主体",
        "整改责任单位",
        "牵头责任单位",
    ),
    "responsible_person": ("责任人", "具体责任人", "整改责任人", "主体责任人"),
    "supervising_leader": ("责任领导", "包案领导", "分管领导", "督导领导", "牵头领导"),
    "target": ("整改目标", "整改要求", "目标"),
    "measures": ("整改措施", "措施", "主要措施"),
    "deadline": (
        "整改时限",
        "完成时限",
        "整改期限",
        "时限",
        "办结时限",
        "整改完成时限",
        "计划完成时间",
        "完成期限",
    ),
    "progress": (
        "整改进展",
        "进展情况",
        "整改情况",
        "整改进度",
        "进展",
        "整改进展情况",
        "推进情况",
    ),
    "status": ("整改状态", "完成情况", "状态", "办结情况", "是否完成", "整改完成情况", "销号情况"),
    "closed_on": ("销号时间", "销号日期", "办结时间", "办结日期", "实际完成时间", "销号完成时间"),
    "remark": ("备注",),
}
_ALIAS_TO_FIELD = {alias: name for name, aliases in HEADER_ALIASES.items() for alias in aliases}
TEXT_FIELDS = tuple(f.name for f in vocab.PROBLEM_FIELDS if f.sheet_text)

# Cell words, tried in order as substrings after exact matches on values and Chinese labels.
CATEGORY_WORDS: tuple[tuple[str, str], ...] = (
    ("黑臭", "black_odorous_water"),
    ("排污口", "river_outfall"),
    ("排口", "river_outfall"),
    ("管网", "sewage_network"),
    ("雨污", "sewage_network"),
    ("污水收集", "sewage_network"),
    ("污水处理", "sewage_plant"),
    ("污水厂", "sewage_plant"),
    ("采砂", "sand_gravel"),
    ("砂石", "sand_gravel"),
    ("饮用水", "water_source"),
    ("水源", "water_source"),
    ("扬尘", "dust"),
    ("垃圾", "landfill"),
    ("填埋", "landfill"),
    ("秸秆", "straw_burning"),
    ("油烟", "restaurant_fumes"),
    ("餐饮", "restaurant_fumes"),
    ("工业", "industrial"),
    ("企业", "industrial"),
    ("其他", "other"),
    ("其它", "other"),
)
STATUS_WORDS: tuple[tuple[str, str], ...] = (
    ("反弹", "rebounded"),
    ("申请销号", "awaiting_verification"),
    ("待验收", "awaiting_verification"),
    ("待销号", "awaiting_verification"),
    ("申请验收", "awaiting_verification"),
    ("验收中", "awaiting_verification"),
    ("未销号", "rectifying"),
    ("已销号", "closed"),
    ("未完成", "rectifying"),
    ("阶段性完成", "rectifying"),
    ("基本完成", "rectifying"),
    ("整改中", "rectifying"),
    ("正在", "rectifying"),
    ("推进", "rectifying"),
    ("持续", "rectifying"),
    ("长期坚持", "rectifying"),
    ("未交办", "reported"),
    ("待交办", "reported"),
    ("已登记", "reported"),
    ("登记", "reported"),
    ("已交办", "assigned"),
    ("未开始", "assigned"),
    ("未启动", "assigned"),
    # Work reported done is the township's claim: it awaits the on-site check and approval.
    ("已完成", "awaiting_verification"),
    ("完成", "awaiting_verification"),
    ("已整改", "awaiting_verification"),
    ("办结", "closed"),
    ("销号", "closed"),
)
SOURCE_WORDS: tuple[tuple[tuple[str, ...], str], ...] = (
    (("中央", "回头看"), "central_lookback"),
    (("中央", "第二轮"), "central_2"),
    (("中央", "二轮"), "central_2"),
    (("中央",), "central_1"),
    (("信访",), "complaint"),
    (("投诉",), "complaint"),
    (("举报",), "complaint"),
    (("12345",), "complaint"),
    (("12369",), "complaint"),
    (("暗查",), "unannounced"),
    (("暗访",), "unannounced"),
    (("四不两直",), "unannounced"),
    (("自查",), "self_check"),
    (("推送",), "pushed_list"),
    (("省",), "provincial"),
    (("市",), "municipal"),
    (("巡查",), "inspection"),
)
NOTE_PREFIXES = ("注", "备注", "说明", "填报", "填表", "制表", "审核", "联系", "负责人", "报送")
TOTAL_WORDS = ("合计", "总计", "小计", "共计")
EXPORT_NOTE = (
    "注：问题来源、问题类别、整改状态的写法见 docs/excel.md；经纬度为 CGCS2000（WGS-84）。"
)
PLACEHOLDERS = frozenset({"", "/", "-", "--", "—", "——", "无", "暂无", "空", "N/A", "NA", "\\"})

# The export template, in column order; the importer reads it back unchanged.
def _column(name: str) -> tuple[str, str, float]:
    f = vocab.PROBLEM_FIELD[name]
    return name, f.sheet or f.zh, f.width


# The export template, in column order; the importer reads it back unchanged. A problem field's
# header and width come from ``vocab.PROBLEM_FIELDS``; the others are the sheet's own columns.
TEMPLATE_COLUMNS: tuple[tuple[str, str, float], ...] = (
    ("seq", "序号", 6),
    _column("code"),
    _column("source"),
    ("township", "所属乡镇", 12),
    _column("category"),
    _column("description"),
    ("lon", "经度", 13),
    ("lat", "纬度", 13),
    _column("responsible_unit"),
    _column("responsible_person"),
    _column("supervising_leader"),
    _column("target"),
    _column("measures"),
    _column("deadline"),
    _column("progress"),
    _column("status"),
)
