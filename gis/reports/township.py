"""One township's hotspot report (乡镇热点报告): headlines, category mix, tables, trend, cells.

Counts, rates and rank come from :func:`gis.ledger.scorecard.township_scorecard`, tables from
:func:`gis.ledger.query.list_problems`, so the report agrees with the wall and the ledger.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from gis import vocab
from gis.geo.townships import township_exists
from gis.ledger.query import ProblemQuery, list_problems
from gis.ledger.scorecard import TownshipScore
from gis.reports.county import CountyData, MapPoint, TownshipInfo, load_county
from gis.reports.errors import UnknownTownship
from gis.reports.hotspot_cells import HotCell, top_cells
from gis.reports.hotspot_change import county_change, township_change
from gis.reports.periods import ReportDate
from gis.reports.rows import ProblemRow, ProblemTable

# Rows per table (overdue, rebounded, open on time); more are counted, not listed.
TABLE_LIMITS = {"overdue": 300, "rebounded": 200, "open": 60}


@dataclass(frozen=True)
class Change:
    """A number now and on the comparison date, worded like the 12369 bulletins."""

    key: str
    label_zh: str
    label_en: str
    current: int
    previous: int
    basis: str  # "stock": vs the same day last month; "flow": vs the same span last month
    higher_is_better: bool = False

    @property
    def delta(self) -> int:
        """Current minus previous."""
        return self.current - self.previous

    @property
    def pct(self) -> float | None:
        """Relative change in percent, or None when the previous value is zero."""
        return None if self.previous == 0 else 100.0 * self.delta / self.previous

    @property
    def direction(self) -> str:
        """``up``, ``down`` or ``flat``."""
        return "up" if self.delta > 0 else "down" if self.delta < 0 else "flat"

    @property
    def tone(self) -> str:
        """``better``, ``worse`` or ``flat``, for colouring the change."""
        if self.delta == 0:
            return "flat"
        return "better" if (self.delta > 0) == self.higher_is_better else "worse"

    @property
    def text_zh(self) -> str:
        """环比上升 12.5%，增 2 件 / 上月同期为 0 / 与上月同期持平."""
        if self.delta == 0:
            return "与上月同期持平"
        verb = "上升" if self.delta > 0 else "下降"
        if self.pct is None:
            return f"上月同期为 0，{verb} {abs(self.delta)} 件"
        more = "增" if self.delta > 0 else "减"
        return f"环比{verb} {abs(self.pct):.1f}%，{more} {abs(self.delta)} 件"

    @property
    def text_en(self) -> str:
        """Up 12.5% month on month / flat."""
        if self.delta == 0:
            return "flat month on month"
        verb = "up" if self.delta > 0 else "down"
        if self.pct is None:
            return f"{verb} {abs(self.delta)} from zero"
        return f"{verb} {abs(self.pct):.1f}% MoM, {self.delta:+d}"


@dataclass(frozen=True)
class CategoryShare:
    """One category's open problems and share of the township's open problems."""

    category: str
    label_zh: str
    label_en: str
    open: int
    share: float
    total: int
    new_this_month: int


@dataclass(frozen=True)
class MonthPoint:
    """New and closed problems in one month."""

    month: date
    new: int
    closed: int


@dataclass
class TownshipHotspots:
    """The township's part of the county Gi* analysis, or why there is none."""

    available: bool
    reason_zh: str
    reason_en: str
    top: list[HotCell]
    n_cells: int
    n_hot: int
    n_cold: int
    problems_in_cells: int
    problems_in_hot: int
    explanations_zh: list[str]
    explanations_en: list[str]
    cell_m: float | None
    band_m: float | None
    n_points: int = 0
    band_curve: list[dict[str, float | None]] = field(default_factory=list)

    @property
    def hot_share(self) -> float | None:
        """Share of the township's problems lying in its hot cells (concentration)."""
        return self.problems_in_hot / self.problems_in_cells if self.problems_in_cells else None


@dataclass
class ReportMap:
    """What the static report map draws."""

    townships: list[TownshipInfo]
    focus: str
    points: list[MapPoint]
    cells: list[HotCell]


@dataclass
class TownshipReport:
    """Everything a township report shows, ready for a template."""

    code: str
    name: str
    report_date: ReportDate
    previous_day: date
    score: TownshipScore
    n_townships: int
    county_overdue_rate: float
    headlines: list[Change]
    categories: list[CategoryShare]
    trend: list[MonthPoint]
    tables: list[ProblemTable]
    hotspots: TownshipHotspots
    map: ReportMap
    change: Any = None  # TownshipChange: complaint hot spots, this month against the last
    summary_zh: str = ""
    summary_en: str = ""

    @property
    def day(self) -> date:
        """The date reported on."""
        return self.report_date.day


def township_report(
    session: Session,
    code: str,
    *,
    report_date: ReportDate,
    county: CountyData | None = None,
    table_limits: dict[str, int] | None = None,
    n_cells: int = 10,
) -> TownshipReport:
    """Assemble township ``code``'s report; ``county`` (from :func:`load_county`) is reused."""
    if county is None:
        if not township_exists(session, code):
            raise UnknownTownship(code)
        county = load_county(session, report_date)
    info = county.township(code)
    if info is None:
        raise UnknownTownship(code)
    score = county.scores[code]
    prev = county.previous_scores.get(code) or _empty_score(info)
    headlines = [
        Change("open", "未销号问题", "Open", score.open, prev.open, "stock"),
        Change("overdue", "逾期问题", "Overdue", score.overdue, prev.overdue, "stock"),
        Change("rebounded", "反弹问题", "Rebounded", score.rebounded, prev.rebounded, "stock"),
        Change(
            "new",
            "本月新增",
            "New this month",
            county.new_this_month.get(code, 0),
            county.new_previous.get(code, 0),
            "flow",
        ),
        Change(
            "closed",
            "本月销号",
            "Closed this month",
            score.closed_in_period,
            prev.closed_in_period,
            "flow",
            higher_is_better=True,
        ),
    ]
    categories = _category_shares(county, code)
    trend = [
        MonthPoint(
            m,
            county.new_by_month.get(code, {}).get(m, 0),
            county.closed_by_month.get(code, {}).get(m, 0),
        )
        for m in county.months
    ]
    tables = _tables(session, code, report_date, {**TABLE_LIMITS, **(table_limits or {})})
    open_total = sum(s.open for s in county.scores.values())
    overdue_total = sum(s.overdue for s in county.scores.values())
    report = TownshipReport(
        code=code,
        name=info.name,
        report_date=report_date,
        previous_day=county.previous_day,
        score=score,
        n_townships=len(county.townships),
        county_overdue_rate=round(overdue_total / open_total, 4) if open_total else 0.0,
        headlines=headlines,
        categories=categories,
        trend=trend,
        tables=tables,
        hotspots=_hotspots(county, code, n_cells),
        map=ReportMap(
            townships=county.townships,
            focus=code,
            points=county.points.get(code, []),
            cells=county.hotspots.cells,
        ),
    )
    if county.change is None:
        county.change = county_change(session, report_date.day)
    report.change = township_change(county.change, code)
    report.summary_zh, report.summary_en = _summary(report)
    return report


def _empty_score(info: TownshipInfo) -> TownshipScore:
    return TownshipScore(
        code=info.code,
        name=info.name,
        total=0,
        open=0,
        overdue=0,
        on_time=0,
        rebounded=0,
        closed=0,
        closed_in_period=0,
        overdue_rate=0.0,
        closure_rate=0.0,
        rebound_rate=0.0,
        days_overdue_total=0,
        days_overdue_max=0,
    )


def _category_shares(county: CountyData, code: str) -> list[CategoryShare]:
    counts = county.categories.get(code, {})
    open_total = sum(c.open for c in counts.values())
    order = {c: i for i, c in enumerate(vocab.values(vocab.Category))}
    shares = [
        CategoryShare(
            category=c.category,
            label_zh=vocab.Category(c.category).zh,
            label_en=vocab.Category(c.category).en,
            open=c.open,
            share=round(c.open / open_total, 4) if open_total else 0.0,
            total=c.total,
            new_this_month=c.new_this_month,
        )
        for c in counts.values()
    ]
    return sorted(shares, key=lambda s: (-s.open, -s.total, order.get(s.category, 99)))


def _table(
    session: Session,
    report_date: ReportDate,
    limit: int,
    key: str,
    titles: tuple[str, str],
    query: ProblemQuery,
) -> ProblemTable:
    page = list_problems(session, today=report_date.day, query=query, limit=limit, geometry=True)
    rows = [ProblemRow.from_item(item) for item in page.items]
    return ProblemTable(key, titles[0], titles[1], rows, page.number_matched)


def _tables(
    session: Session, code: str, report_date: ReportDate, limits: dict[str, int]
) -> list[ProblemTable]:
    towns = (code,)
    return [
        _table(
            session,
            report_date,
            limits["overdue"],
            "overdue",
            ("逾期问题（按逾期天数）", "Overdue, by days overdue"),
            report_date.query(
                township_codes=towns, overdue=True, sort="days_overdue", descending=True
            ),
        ),
        _table(
            session,
            report_date,
            limits["rebounded"],
            "rebounded",
            ("反弹问题", "Rebounded"),
            report_date.query(
                township_codes=towns,
                rebounded=True,
                sort="days_overdue",
                descending=True,
            ),
        ),
        _table(
            session,
            report_date,
            limits["open"],
            "open",
            ("在办问题（未逾期，按期限先后）", "Open, on time, by deadline"),
            # the named set on_time (open and not overdue), rebounded problems included: the
            # map class "open" would leave out a rebounded problem that is on time
            report_date.query(
                township_codes=towns,
                statuses=tuple(s.value for s in vocab.OPEN_STATUSES),
                overdue=False,
                sort="deadline",
            ),
        ),
    ]


def _hotspots(county: CountyData, code: str, n: int) -> TownshipHotspots:
    analysis = county.hotspots
    cells = analysis.for_township(code)
    hot = [c for c in cells if c.bin > 0]
    reason_zh, reason_en = analysis.reason_zh, analysis.reason_en
    if analysis.available and not cells:
        reason_zh = "本乡镇范围内没有格网中心，未列出格网。"
        reason_en = "No grid cell has its centre in this township, so none are listed."
    return TownshipHotspots(
        available=analysis.available,
        reason_zh=reason_zh,
        reason_en=reason_en,
        top=top_cells([c for c in cells if c.count > 0 or c.bin != 0], n),
        n_cells=len(cells),
        n_hot=len(hot),
        n_cold=sum(1 for c in cells if c.bin < 0),
        problems_in_cells=sum(c.count for c in cells),
        problems_in_hot=sum(c.count for c in hot),
        explanations_zh=analysis.explanations_zh,
        explanations_en=analysis.explanations_en,
        cell_m=analysis.cell_m,
        band_m=analysis.band_m,
        n_points=analysis.n_points,
        band_curve=analysis.band_curve,
    )


def _pct(x: float) -> str:
    return f"{x * 100:.1f}%"


def _summary(r: TownshipReport) -> tuple[str, str]:
    """The 12369-style lead paragraph in Chinese and English."""
    h = {c.key: c for c in r.headlines}
    s = r.score
    day = r.day
    zh = (
        f"截至{day.year}年{day.month}月{day.day}日，{r.name}共有整改问题 {s.total} 个，"
        f"其中未销号 {s.open} 个（{h['open'].text_zh}），逾期 {s.overdue} 个"
        f"（{h['overdue'].text_zh}，逾期率 {_pct(s.overdue_rate)}，全县 "
        f"{_pct(r.county_overdue_rate)}），反弹 {s.rebounded} 个；"
        f"本月新增 {h['new'].current} 个（{h['new'].text_zh}），"
        f"本月销号 {h['closed'].current} 个（{h['closed'].text_zh}）。"
        f"在全县 {r.n_townships} 个乡镇（街道）中排名第 {s.rank} 位。"
    )
    en = (
        f"As of {day.isoformat()}, {r.name} has {s.total} problems: {s.open} open "
        f"({h['open'].text_en}), {s.overdue} overdue ({h['overdue'].text_en}; overdue rate "
        f"{_pct(s.overdue_rate)}, county {_pct(r.county_overdue_rate)}), {s.rebounded} "
        f"rebounded. New this month: {h['new'].current} ({h['new'].text_en}); closed this "
        f"month: {h['closed'].current} ({h['closed'].text_en}). Rank {s.rank} of "
        f"{r.n_townships} townships."
    )
    top = [c for c in r.categories if c.open > 0][:3]
    if top:
        zh += "未销号问题以" + "、".join(f"{c.label_zh}（{_pct(c.share)}）" for c in top) + "为主。"
        en += (
            " Open problems are mostly "
            + ", ".join(f"{c.label_en.lower()} ({_pct(c.share)})" for c in top)
            + "."
        )
    hs = r.hotspots
    if hs.available and hs.n_cells:
        zh += f"全县热点分析中，本乡镇有 {hs.n_hot} 个显著热点格网"
        en += f" The county hot spot analysis finds {hs.n_hot} significant hot cell(s) here"
        if hs.hot_share is not None and hs.n_hot:
            zh += f"，集中了本乡镇格网内 {_pct(hs.hot_share)} 的问题"
            en += f", holding {_pct(hs.hot_share)} of the problems in its cells"
        zh += "。"
        en += "."
    return zh, en
