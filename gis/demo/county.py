"""A deterministic synthetic county: townships, rivers, sites, problems, complaints, inspections.

Same seed and the same reference date give the same rows. Geometry is generated in metres in the
CGCS2000 Gauss–Krüger zone of the county (EPSG:4547, central meridian 114°E) and stored in
EPSG:4490. Bulk rows go in with COPY, so ``--scale 1000000`` stays fast.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

import numpy as np
import shapely
from pyproj import Transformer
from shapely.geometry import LineString, MultiPolygon, Point, Polygon
from shapely.ops import substring
from sqlalchemy import Engine, text

from gis.geo.townships import assign_missing_townships

COUNTY_CODE = "410199"
COUNTY_NAME = "清河县"
CENTRE_LONLAT = (113.32, 34.41)
GK_EPSG = 4547
DEMO_ACTOR = "demo"

STREET_NAMES = ["城关街道", "城东街道", "城西街道"]
TOWN_NAMES = [
    "河口镇",
    "柳林镇",
    "石桥镇",
    "杨湖镇",
    "白沙镇",
    "新店镇",
    "清水镇",
    "双河镇",
    "黄土岗镇",
    "龙泉镇",
    "古城镇",
    "三官庙镇",
]
XIANG_NAMES = ["王庄乡", "李集乡", "高庙乡", "马岭乡", "东风乡", "八里乡", "刘湾乡"]
SURNAMES = list("王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕")
GIVEN = list("伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超霞平刚桂华建国志红文斌鹏飞宇浩")

UNIT_BY_CATEGORY = {
    "sewage_plant": "县住建局",
    "sewage_network": "县住建局",
    "sand_gravel": "县水利局",
    "water_source": "县水利局",
    "dust": "县城管局",
    "landfill": "县城管局",
    "river_outfall": "县生态环境局",
    "black_odorous_water": "县住建局",
    "industrial": "县生态环境局",
    "straw_burning": "县农业农村局",
    "restaurant_fumes": "县市场监管局",
    "other": "县生态环境局",
}
DESCRIPTION_BY_CATEGORY = {
    "sewage_plant": (
        "{site}出水氨氮超标，在线监测数据异常",
        "出水稳定达到一级A标准",
        "完成提标改造，规范运行台账",
    ),
    "sewage_network": (
        "{town}镇区污水管网雨污混接，污水直排河道",
        "镇区雨污分流，污水全收集",
        "排查混错接点位，新建截污管网",
    ),
    "sand_gravel": (
        "{site}河道内非法采砂，河床破坏",
        "停止非法开采，恢复河道生态",
        "拆除采砂设备，平整河床，复绿",
    ),
    "water_source": (
        "{site}保护区内存在违规建筑和排污口",
        "保护区内违规问题全部清零",
        "拆除违建，封堵排污口，设置隔离网",
    ),
    "dust": (
        "{town}建筑工地扬尘防治措施不到位，裸土未覆盖",
        "落实六个百分百",
        "裸土覆盖，车辆冲洗，湿法作业",
    ),
    "landfill": (
        "{site}渗滤液处理不达标，垃圾裸露",
        "渗滤液达标排放，规范填埋作业",
        "新建渗滤液处理设施，每日覆盖",
    ),
    "river_outfall": (
        "{site}入河排污口未经审批，污水直排",
        "一口一策完成整治",
        "溯源排查，规范设置或依法取缔",
    ),
    "black_odorous_water": (
        "{town}坑塘水体黑臭",
        "消除黑臭，长治久清",
        "截污纳管，清淤疏浚，生态修复",
    ),
    "industrial": ("{town}某企业废气无组织排放", "稳定达标排放", "安装收集处理设施，在线监控联网"),
    "straw_burning": ("{town}农田秸秆焚烧", "秸秆禁烧全覆盖", "网格化巡查，秸秆综合利用"),
    "restaurant_fumes": ("{town}餐饮油烟扰民", "油烟达标排放", "安装油烟净化设施并定期清洗"),
    "other": ("{town}生态环境问题", "问题整改到位", "制定方案，限期整改"),
}
CODE_PREFIX = {
    "central_1": "ZY1",
    "central_2": "ZY2",
    "central_lookback": "ZYHT",
    "provincial": "SDC",
    "municipal": "SHI",
    "self_check": "ZC",
    "unannounced": "AC",
    "complaint": "XF",
    "pushed_list": "TS",
    "inspection": "XC",
}
CATEGORY_WEIGHTS = {
    "dust": 0.18,
    "sewage_network": 0.11,
    "sewage_plant": 0.05,
    "sand_gravel": 0.08,
    "water_source": 0.06,
    "landfill": 0.07,
    "river_outfall": 0.1,
    "black_odorous_water": 0.07,
    "industrial": 0.11,
    "straw_burning": 0.05,
    "restaurant_fumes": 0.08,
    "other": 0.04,
}
SOURCE_WEIGHTS = {
    "central_1": 0.14,
    "central_2": 0.2,
    "central_lookback": 0.06,
    "provincial": 0.16,
    "municipal": 0.1,
    "self_check": 0.1,
    "unannounced": 0.05,
    "complaint": 0.12,
    "pushed_list": 0.05,
    "inspection": 0.02,
}
STATUS_WEIGHTS = {
    "reported": 0.04,
    "assigned": 0.1,
    "rectifying": 0.36,
    "awaiting_verification": 0.1,
    "closed": 0.33,
    "rebounded": 0.07,
}
KIND_WEIGHTS = {"immediate": 0.2, "dated": 0.65, "long_term": 0.15}
SITE_FOR_CATEGORY = {
    "sewage_plant": "sewage_plant",
    "sewage_network": "sewage_network",
    "sand_gravel": "sand_gravel",
    "water_source": "water_source",
    "dust": "dust_source",
    "landfill": "landfill",
    "river_outfall": "river_outfall",
    "black_odorous_water": "black_odorous_water",
    "industrial": "enterprise",
}


@dataclass
class DemoSummary:
    """What a demo load wrote, table by table."""

    counts: dict[str, int] = field(default_factory=dict)
    as_of: date | None = None
    seed: int = 0


@dataclass
class _Town:
    code: str
    name: str
    centre: Point
    polygon: Polygon | MultiPolygon


@dataclass
class _Site:
    kind: str
    name: str
    geom: object
    zone_level: str | None = None
    parent: int | None = None
    properties: dict = field(default_factory=dict)


class _Geo:
    """Metres ↔ degrees in the county's Gauss–Krüger zone."""

    def __init__(self) -> None:
        self.to_m = Transformer.from_crs(4490, GK_EPSG, always_xy=True)
        self.to_deg = Transformer.from_crs(GK_EPSG, 4490, always_xy=True)
        self.cx, self.cy = self.to_m.transform(*CENTRE_LONLAT)

    def deg(self, geom):  # type: ignore[no-untyped-def]
        def project(xy: np.ndarray) -> np.ndarray:
            return np.column_stack(self.to_deg.transform(xy[:, 0], xy[:, 1]))

        return shapely.transform(geom, project)


def _choice(rng: np.random.Generator, weights: dict[str, float], n: int) -> np.ndarray:
    keys = list(weights)
    p = np.array([weights[k] for k in keys], dtype=float)
    return np.array(keys, dtype=object)[rng.choice(len(keys), size=n, p=p / p.sum())]


def _person(rng: np.random.Generator) -> str:
    given = "".join(rng.choice(GIVEN, size=int(rng.integers(1, 3))))
    return str(rng.choice(SURNAMES)) + given


def _county_polygon(rng: np.random.Generator, geo: _Geo) -> Polygon:
    angles = np.linspace(0, 2 * np.pi, 96, endpoint=False)
    radius = np.ones_like(angles)
    for k in range(2, 7):
        radius += rng.uniform(0.02, 0.06) * np.sin(k * angles + rng.uniform(0, 2 * np.pi))
    xs = geo.cx + 26_000 * radius * np.cos(angles)
    ys = geo.cy + 19_000 * radius * np.sin(angles)
    return Polygon(zip(xs, ys, strict=True))


def _random_points_in(rng: np.random.Generator, polygon, n: int) -> np.ndarray:  # type: ignore[no-untyped-def]
    minx, miny, maxx, maxy = polygon.bounds
    out = np.empty((0, 2))
    shapely.prepare(polygon)
    while len(out) < n:
        cand = rng.uniform([minx, miny], [maxx, maxy], size=(max(n * 2, 16), 2))
        keep = shapely.contains_xy(polygon, cand[:, 0], cand[:, 1])
        out = np.vstack([out, cand[keep]])
    return out[:n]


def _townships(rng: np.random.Generator, county: Polygon) -> list[_Town]:
    n = int(rng.integers(14, 19))
    seeds = _random_points_in(rng, county, n)
    for _ in range(4):  # Lloyd relaxation for township-like shapes
        cells = shapely.voronoi_polygons(shapely.multipoints(seeds), extend_to=county.buffer(5000))
        cells = [c.intersection(county) for c in cells.geoms]
        ordered = []
        for s in seeds:
            ordered.append(next(c for c in cells if c.buffer(1).contains(Point(s))))
        seeds = np.array([[c.centroid.x, c.centroid.y] for c in ordered])
    cells = shapely.voronoi_polygons(shapely.multipoints(seeds), extend_to=county.buffer(5000))
    polys = []
    for s in seeds:
        cell = next(c for c in cells.geoms if c.contains(Point(s)))
        polys.append(cell.intersection(county))
    centre = np.array(county.centroid.coords[0])
    order = np.argsort(np.hypot(*(seeds - centre).T))
    n_streets = 3
    n_xiang = max(3, n // 4)
    town_names = list(rng.permutation(TOWN_NAMES))
    xiang_names = list(rng.permutation(XIANG_NAMES))
    towns: list[_Town] = []
    for rank, idx in enumerate(order):
        if rank < n_streets:
            name, code = STREET_NAMES[rank], f"{rank + 1:03d}"
        elif rank >= n - n_xiang:
            k = rank - (n - n_xiang)
            name, code = xiang_names[k % len(xiang_names)], f"{200 + k:03d}"
        else:
            k = rank - n_streets
            name, code = town_names[k % len(town_names)], f"{100 + k:03d}"
        poly = polys[idx]
        poly = shapely.set_precision(poly, 1.0)
        towns.append(_Town(f"{COUNTY_CODE}{code}000", name, Point(seeds[idx]), poly))
    return sorted(towns, key=lambda t: t.code)


def _rivers(rng: np.random.Generator, county: Polygon, geo: _Geo) -> list[LineString]:
    xs = np.linspace(geo.cx - 34_000, geo.cx + 34_000, 80)
    phase = rng.uniform(0, 2 * np.pi)
    ys = geo.cy - 2500 + 4000 * np.sin(xs / 9000 + phase) + rng.normal(0, 250, xs.size)
    main = LineString(zip(xs, ys, strict=True))
    rivers = [main]
    for sign, x0 in ((1, geo.cx - 9000), (-1, geo.cx + 11_000)):
        t = np.linspace(0, 1, 30)
        join = main.interpolate(main.project(Point(x0, geo.cy)))
        tx = join.x + 6000 * t * sign * 0.4 + rng.normal(0, 200, t.size)
        ty = join.y + sign * 24_000 * t
        rivers.append(LineString(zip(tx, ty, strict=True)))
    return [r.intersection(county) for r in rivers if r.intersects(county)]


def _build_sites(rng: np.random.Generator, towns: list[_Town], rivers, county) -> list[_Site]:  # type: ignore[no-untyped-def]
    sites: list[_Site] = []
    main = max(rivers, key=lambda r: r.length)
    river_names = ["清河", "北沙河", "南溪河"]
    for i, river in enumerate(rivers):
        sites.append(_Site("river", river_names[i % 3], river))

    for town in towns:
        on_river = main.interpolate(main.project(town.centre))
        if on_river.distance(town.centre) < 7000:
            plant = Point(on_river.x + rng.uniform(-300, 300), on_river.y + 250)
            short = town.name[:-2] if town.name.endswith("街道") else town.name[:-1]
            sites.append(
                _Site(
                    "sewage_plant",
                    f"{short}污水处理厂",
                    plant,
                    properties={"capacity_t_per_day": int(rng.choice([5000, 10000, 20000]))},
                )
            )
            sites.append(
                _Site("sewage_network", f"{short}镇区污水管网", LineString([town.centre, plant]))
            )
        short = town.name[:-2] if town.name.endswith("街道") else town.name[:-1]
        for k in range(int(rng.integers(1, 3))):
            p = Point(town.centre.x + rng.normal(0, 900), town.centre.y + rng.normal(0, 900))
            sites.append(
                _Site(
                    "dust_source", f"{short}建筑工地{k + 1}号", p.buffer(60, quad_segs=2).envelope
                )
            )
        for k in range(int(rng.integers(0, 3))):
            p = Point(town.centre.x + rng.normal(0, 1800), town.centre.y + rng.normal(0, 1800))
            sites.append(
                _Site("enterprise", f"{short}{['化工', '建材', '食品', '造纸'][k % 4]}企业", p)
            )

    for k in range(8):
        d = rng.uniform(0.05, 0.95) * main.length
        seg = substring(main, d, d + 450)
        sites.append(
            _Site(
                "sand_gravel", f"清河{['上游', '中游', '下游'][k % 3]}采砂点{k + 1}", seg.buffer(70)
            )
        )
    for k in range(10):
        river = rivers[k % len(rivers)]
        p = river.interpolate(rng.uniform(0.05, 0.95) * river.length)
        sites.append(
            _Site(
                "river_outfall",
                f"{river_names[k % len(rivers)]}排污口{k + 1:02d}",
                Point(p.x + 30, p.y + 20),
            )
        )
    for k, town in enumerate(towns[: len(towns) // 3]):
        if k >= 4:
            break
        p = Point(town.centre.x + rng.normal(0, 700), town.centre.y + rng.normal(0, 700))
        sites.append(_Site("black_odorous_water", f"{town.name}坑塘{k + 1}", p.buffer(80)))
    for _ in range(2):
        town = towns[int(rng.integers(len(towns)))]
        p = Point(town.centre.x + rng.normal(0, 2500), town.centre.y + rng.normal(0, 2500))
        if not county.contains(p):
            p = town.centre
        sites.append(_Site("landfill", f"{town.name}垃圾填埋场", p.buffer(150)))

    for k, river in enumerate(rivers[1:3]):
        intake = river.interpolate(0.7 * river.length)
        idx = len(sites)
        sites.append(_Site("water_source", f"{['北沙河水库', '南溪河'][k]}饮用水水源地", intake))
        lvl1 = intake.buffer(600, quad_segs=16)
        lvl2 = intake.buffer(2200, quad_segs=16).difference(lvl1)
        sites.append(
            _Site(
                "protection_zone",
                f"{['北沙河水库', '南溪河'][k]}一级保护区",
                lvl1.intersection(county),
                "1",
                idx,
            )
        )
        sites.append(
            _Site(
                "protection_zone",
                f"{['北沙河水库', '南溪河'][k]}二级保护区",
                lvl2.intersection(county),
                "2",
                idx,
            )
        )

    seat = towns[0].centre
    for k, (dx, dy) in enumerate(((-1200, 600), (900, -800))):
        sites.append(
            _Site(
                "air_station",
                f"{COUNTY_NAME}国控空气站{k + 1}号",
                Point(seat.x + dx, seat.y + dy),
                properties={"national": True},
            )
        )
    return sites


def _copy(conn, table: str, columns: Sequence[str], rows: Iterable[Sequence[object]]) -> int:  # type: ignore[no-untyped-def]
    """COPY rows into ``table``; None becomes NULL."""
    n = 0
    with conn.cursor() as cur, cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)
            n += 1
    return n


def _ewkt(geom) -> str:  # type: ignore[no-untyped-def]
    return f"SRID=4490;{shapely.to_wkt(geom, rounding_precision=7)}"


def _points_ewkt(xy: np.ndarray) -> list[str]:
    return [f"SRID=4490;POINT({x:.7f} {y:.7f})" for x, y in xy]


def _timestamps(as_of: date, days_ago: np.ndarray, rng: np.random.Generator) -> list[datetime]:
    """Times ``days_ago`` whole days before the reference date began (Beijing time), never after."""
    base = datetime.combine(as_of, time(0), tzinfo=UTC)
    secs = rng.integers(1, 86_400, size=days_ago.size)
    return [
        base - timedelta(days=int(d)) - timedelta(seconds=int(s)) - timedelta(hours=8)
        for d, s in zip(days_ago, secs, strict=True)
    ]


def load_demo(
    engine: Engine,
    *,
    scale: int = 300,
    seed: int = 20261123,
    as_of: date | None = None,
    progress: Callable[[str, int], None] | None = None,
) -> DemoSummary:
    """Write the demo county into an empty, migrated database and return what was written."""
    if scale < 1:
        raise ValueError("scale must be at least 1 problem")
    as_of = as_of or date.today()
    note = progress or (lambda _stage, _n: None)
    rng = np.random.default_rng(seed)
    geo = _Geo()
    county = _county_polygon(rng, geo)
    towns = _townships(rng, county)
    rivers = _rivers(rng, county, geo)
    sites = _build_sites(rng, towns, rivers, county)
    summary = DemoSummary(as_of=as_of, seed=seed)

    raw = engine.raw_connection()
    try:
        conn = raw.driver_connection
        with conn.transaction():
            existing = conn.execute("SELECT count(*) FROM problems").fetchone()[0]
            existing += conn.execute("SELECT count(*) FROM townships").fetchone()[0]
            if existing:
                raise ValueError(
                    "the database already holds data; the demo loads into an empty one"
                )
            summary.counts["townships"] = _copy(
                conn,
                "townships",
                ("code", "name", "geom"),
                (
                    (
                        t.code,
                        t.name,
                        _ewkt(
                            geo.deg(
                                MultiPolygon([t.polygon])
                                if t.polygon.geom_type == "Polygon"
                                else t.polygon
                            )
                        ),
                    )
                    for t in towns
                ),
            )
            note("townships", summary.counts["townships"])
            summary.counts["sites"] = _copy(
                conn,
                "sites",
                ("id", "kind", "name", "zone_level", "parent_id", "properties", "geom"),
                (
                    (
                        i + 1,
                        s.kind,
                        s.name,
                        s.zone_level,
                        None if s.parent is None else s.parent + 1,
                        json.dumps(s.properties, ensure_ascii=False),
                        _ewkt(geo.deg(s.geom)),
                    )
                    for i, s in enumerate(sites)
                ),
            )
            conn.execute("SELECT setval('sites_id_seq', (SELECT max(id) FROM sites))")
            note("sites", summary.counts["sites"])
            summary.counts["problems"] = _load_problems(
                conn, rng, geo, county, towns, sites, scale, as_of, note
            )
            summary.counts["complaints"] = _load_complaints(
                conn, rng, geo, county, towns, sites, scale, as_of
            )
            note("complaints", summary.counts["complaints"])
            summary.counts["inspections"] = _load_inspections(conn, rng, scale, as_of)
            note("inspections", summary.counts["inspections"])
        raw.commit()
    finally:
        raw.close()

    from sqlalchemy.orm import Session

    with Session(engine) as session, session.begin():
        for table in ("sites", "problems", "complaints", "inspections"):
            assign_missing_townships(session, table)
    note("townships assigned", 0)
    with engine.begin() as c:
        c.execute(text("ANALYZE"))
    return summary


LIFECYCLE_TARGET = {
    "assign": "assigned",
    "start": "rectifying",
    "apply_closure": "awaiting_verification",
    "approve_closure": "closed",
    "rebound": "rebounded",
}
PATH_TO = {
    "reported": 0,
    "assigned": 1,
    "rectifying": 2,
    "awaiting_verification": 3,
    "closed": 4,
    "rebounded": 5,
}
STEP_SHARE = (0.05, 0.1, 0.5, 0.6, 0.85)


def _lifecycle_times(rep: datetime, span: timedelta, status: str, jitter) -> dict[str, datetime]:  # type: ignore[no-untyped-def]
    """When each lifecycle step happened, as shares of the time since the problem was reported."""
    actions = list(LIFECYCLE_TARGET)[: PATH_TO[status]]
    return {a: rep + span * (STEP_SHARE[k] + jitter[k]) for k, a in enumerate(actions)}


def _load_problems(conn, rng, geo, county, towns, sites, n, as_of, note) -> int:  # type: ignore[no-untyped-def]
    categories = _choice(rng, CATEGORY_WEIGHTS, n)
    sources = _choice(rng, SOURCE_WEIGHTS, n)
    statuses = _choice(rng, STATUS_WEIGHTS, n)
    kinds = _choice(rng, KIND_WEIGHTS, n)
    kinds[statuses == "reported"] = "dated"

    # Locations: near a site of the matching kind, else around a town centre (clustered).
    by_kind: dict[str, list[int]] = {}
    for i, s in enumerate(sites):
        by_kind.setdefault(s.kind, []).append(i)
    site_pts = np.array([[s.geom.centroid.x, s.geom.centroid.y] for s in sites])
    centres = np.array([[t.centre.x, t.centre.y] for t in towns])
    town_weight = rng.uniform(0.5, 2.0, len(towns))
    town_weight[0] *= 2.5
    xy = np.empty((n, 2))
    site_id = np.full(n, -1)
    town_pick = rng.choice(len(towns), size=n, p=town_weight / town_weight.sum())
    xy[:] = centres[town_pick] + rng.normal(0, 1800, size=(n, 2))
    for category, kind in SITE_FOR_CATEGORY.items():
        idx = np.flatnonzero(categories == category)
        candidates = by_kind.get(kind, [])
        if idx.size and candidates:
            pick = rng.choice(candidates, size=idx.size)
            near_site = rng.random(idx.size) < 0.7
            chosen = idx[near_site]
            site_id[chosen] = np.array(pick)[near_site]
            xy[chosen] = site_pts[site_id[chosen]] + rng.normal(0, 120, size=(chosen.size, 2))
    outside = ~shapely.contains_xy(county, xy[:, 0], xy[:, 1])
    if outside.any():
        xy[outside] = _random_points_in(rng, county, int(outside.sum()))
        site_id[outside] = -1
    lon, lat = geo.to_deg.transform(xy[:, 0], xy[:, 1])

    reported_days = rng.integers(5, 540, size=n)
    reported_at = _timestamps(as_of, reported_days, rng)
    jitter = rng.uniform(-0.03, 0.03, size=(n, 5))
    as_of_end = datetime.combine(as_of, time(0), tzinfo=UTC) - timedelta(hours=8)
    # Dated deadlines: about a third of open problems end up past due on the reference date.
    due_offset = rng.integers(-150, 260, size=n)
    nearest_town = np.argmin(((xy[:, None, :] - centres[None, :, :]) ** 2).sum(axis=2), axis=1)
    leaders = [f"副县长{_person(rng)}" for _ in range(4)]
    persons = [_person(rng) for _ in range(max(40, n // 50))]
    person_pick = rng.integers(0, len(persons), size=n)
    unit_local = rng.random(n) < 0.45

    counts: dict[str, int] = {}
    milestones: list[tuple] = []
    events: list[tuple] = []

    def rows():  # type: ignore[no-untyped-def]
        for i in range(n):
            cat, src, st, kind = categories[i], sources[i], statuses[i], kinds[i]
            town = towns[nearest_town[i]]
            short = town.name[:-2] if town.name.endswith("街道") else town.name[:-1]
            site_name = sites[site_id[i]].name if site_id[i] >= 0 else f"{short}辖区"
            desc, target, measures = DESCRIPTION_BY_CATEGORY[cat]
            prefix = CODE_PREFIX[src]
            counts[prefix] = counts.get(prefix, 0) + 1
            code = f"{prefix}-{2025 + (reported_days[i] < 330)}-{counts[prefix]:05d}"
            rep = reported_at[i]
            rep_day = (rep + timedelta(hours=8)).date()
            span = as_of_end - rep
            steps = _lifecycle_times(rep, span, st, jitter[i])
            assigned_at = steps.get("assign")
            deadline: date | None = None
            if kind == "immediate" and assigned_at is not None:
                deadline = (assigned_at + timedelta(hours=8)).date() + timedelta(days=7)
            elif kind == "dated":
                deadline = max(
                    rep_day + timedelta(days=15), as_of + timedelta(days=int(due_offset[i]))
                )
            elif kind == "long_term":
                deadline = rep_day + timedelta(days=730)
            closed_at = steps.get("approve_closure")
            unit = f"{town.name}人民政府" if unit_local[i] else UNIT_BY_CATEGORY[cat]
            person = persons[person_pick[i]]
            if kind == "long_term":
                for q in range(1, 4):
                    due = rep_day + timedelta(days=91 * q)
                    met = due - timedelta(days=3) if due < as_of and rng.random() < 0.7 else None
                    milestones.append((i + 1, f"第{q}阶段目标", due, met))
            created = {
                "code": code,
                "source": src,
                "category": cat,
                "deadline_kind": kind,
                "deadline": deadline.isoformat() if kind == "dated" and deadline else None,
                "status": "reported",
                "responsible_unit": unit,
                "responsible_person": person,
                "closed_at": None,
                "rebound_count": 0,
            }
            events.append(
                (
                    i + 1,
                    rep,
                    DEMO_ACTOR,
                    "created",
                    "示例数据 demo data",
                    None,
                    json.dumps(created, ensure_ascii=False),
                )
            )
            for action, at in steps.items():
                after: dict[str, object] = {"status": LIFECYCLE_TARGET[action]}
                if action == "assign":
                    after["deadline"] = deadline.isoformat() if deadline else None
                elif action == "approve_closure":
                    after["closed_at"] = at.isoformat()
                elif action == "rebound":
                    after["rebound_count"] = 1
                events.append((i + 1, at, DEMO_ACTOR, action, "", None, json.dumps(after)))
            yield (
                i + 1,
                code,
                src,
                cat,
                desc.format(site=site_name, town=short),
                unit,
                person,
                leaders[i % len(leaders)],
                target,
                measures,
                "" if st in ("reported", "assigned") else "正在按方案推进整改",
                kind,
                deadline,
                st,
                rep,
                assigned_at,
                closed_at,
                1 if st == "rebounded" else 0,
                None if site_id[i] < 0 else int(site_id[i]) + 1,
                rep,
                max(steps.values(), default=rep),
                f"SRID=4490;POINT({lon[i]:.7f} {lat[i]:.7f})",
            )

    written = _copy(
        conn,
        "problems",
        (
            "id",
            "code",
            "source",
            "category",
            "description",
            "responsible_unit",
            "responsible_person",
            "supervising_leader",
            "target",
            "measures",
            "progress",
            "deadline_kind",
            "deadline",
            "status",
            "reported_at",
            "assigned_at",
            "closed_at",
            "rebound_count",
            "site_id",
            "created_at",
            "updated_at",
            "geom",
        ),
        rows(),
    )
    conn.execute("SELECT setval('problems_id_seq', (SELECT max(id) FROM problems))")
    note("problems", written)
    _copy(conn, "milestones", ("problem_id", "title", "due_date", "met_on"), milestones)
    _copy(
        conn, "events", ("problem_id", "at", "actor", "action", "reason", "before", "after"), events
    )
    return written


def _load_complaints(conn, rng, geo, county, towns, sites, scale, as_of) -> int:  # type: ignore[no-untyped-def]
    n = max(20, int(scale * 0.6))
    dust_sites = np.array(
        [[s.geom.centroid.x, s.geom.centroid.y] for s in sites if s.kind == "dust_source"]
    )
    centres = np.array([[t.centre.x, t.centre.y] for t in towns])
    kinds = _choice(
        rng,
        {"air": 0.55, "water": 0.2, "noise": 0.12, "soil": 0.04, "ecology": 0.05, "other": 0.04},
        n,
    )
    anchor_dust = rng.random(n) < 0.6
    anchors = np.where(
        anchor_dust[:, None],
        dust_sites[rng.integers(0, len(dust_sites), n)],
        centres[rng.integers(0, len(centres), n)],
    )
    xy = anchors + rng.normal(0, 350, size=(n, 2)) * np.where(anchor_dust, 1.0, 3.0)[:, None]
    outside = ~shapely.contains_xy(county, xy[:, 0], xy[:, 1])
    if outside.any():
        xy[outside] = _random_points_in(rng, county, int(outside.sum()))
    lon, lat = geo.to_deg.transform(xy[:, 0], xy[:, 1])
    days = rng.integers(0, 365, size=n)
    received = _timestamps(as_of, days, rng)
    channels = _choice(
        rng,
        {
            "hotline_12345": 0.45,
            "hotline_12369": 0.3,
            "letter": 0.08,
            "visit": 0.05,
            "online": 0.1,
            "transferred": 0.02,
        },
        n,
    )
    texts = {
        "air": "附近工地扬尘严重，影响居民生活",
        "water": "河道有污水排放，气味刺鼻",
        "noise": "夜间施工噪声扰民",
        "soil": "有人倾倒建筑垃圾",
        "ecology": "河滩被挖，植被破坏",
        "other": "反映环境问题",
    }
    category_of = {
        "air": "dust",
        "water": "river_outfall",
        "noise": "other",
        "soil": "landfill",
        "ecology": "sand_gravel",
        "other": "other",
    }

    def rows():  # type: ignore[no-untyped-def]
        for i in range(n):
            r = received[i]
            due = (r + timedelta(hours=8)).date() + timedelta(days=7)
            answered = (
                r + timedelta(days=int(rng.integers(1, 9)))
                if days[i] > 3 and rng.random() < 0.85
                else None
            )
            yield (
                f"XF{(r + timedelta(hours=8)).strftime('%Y%m%d')}-{i + 1:05d}",
                channels[i],
                kinds[i],
                category_of[kinds[i]],
                texts[kinds[i]],
                r,
                due,
                answered,
                f"SRID=4490;POINT({lon[i]:.7f} {lat[i]:.7f})",
            )

    return _copy(
        conn,
        "complaints",
        (
            "code",
            "channel",
            "kind",
            "category",
            "text",
            "received_at",
            "feedback_due",
            "feedback_at",
            "geom",
        ),
        rows(),
    )


def _load_inspections(conn, rng, scale, as_of) -> int:  # type: ignore[no-untyped-def]
    n = max(30, int(scale * 1.2))
    problems = conn.execute(
        "SELECT id, ST_X(ST_PointOnSurface(geom)), ST_Y(ST_PointOnSurface(geom)), category, status "
        "FROM problems ORDER BY id"
    ).fetchall()
    pick = rng.integers(0, len(problems), size=n)
    days = rng.integers(0, 200, size=n)
    observed = _timestamps(as_of, days, rng)
    accuracy = np.round(rng.gamma(2.0, 6.0, size=n), 1)
    jitter = rng.normal(0, 1, size=(n, 2)) * (accuracy[:, None] / 111_000.0)
    inspectors = [_person(rng) for _ in range(12)]
    uuids = rng.integers(0, 2**63, size=(n, 2), dtype=np.int64)

    def rows():  # type: ignore[no-untyped-def]
        for i in range(n):
            pid, x, y, cat, st = problems[pick[i]]
            finding = {"closed": "checked", "rebounded": "rebound"}.get(st, "persists")
            u = f"{int(uuids[i, 0]):016x}{int(uuids[i, 1]):016x}"
            u = f"{u[:8]}-{u[8:12]}-4{u[13:16]}-8{u[17:20]}-{u[20:32]}"
            yield (
                u,
                pid,
                inspectors[i % len(inspectors)],
                finding,
                cat,
                "现场核查",
                float(accuracy[i]),
                observed[i],
                observed[i] + timedelta(minutes=int(rng.integers(1, 600))),
                f"SRID=4490;POINT({x + jitter[i, 0]:.7f} {y + jitter[i, 1]:.7f})",
            )

    return _copy(
        conn,
        "inspections",
        (
            "uuid",
            "problem_id",
            "inspector",
            "finding",
            "category",
            "note",
            "accuracy_m",
            "observed_at",
            "received_at",
            "geom",
        ),
        rows(),
    )


def database_is_empty(engine: Engine) -> bool:
    """True when no township and no problem is stored."""
    with engine.connect() as conn:
        n = conn.execute(
            text("SELECT (SELECT count(*) FROM townships) + (SELECT count(*) FROM problems)")
        )
        return int(n.scalar_one()) == 0
