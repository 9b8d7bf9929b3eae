"""Static report images rendered on the server, without tiles: the township map and the trend.

matplotlib draws on the Agg backend through ``Figure`` objects (no pyplot, no global figure
state); geopandas draws the polygons. Coordinates are CGCS2000/WGS-84 lon/lat, shown with the
aspect ratio of their latitude so shapes look right. Labels use Noto Sans CJK SC.
"""

from __future__ import annotations

import io
import math
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import date

import matplotlib

matplotlib.use("Agg")

import geopandas as gpd  # noqa: E402 - after choosing the backend
from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402
from shapely.geometry import box  # noqa: E402

from gis.ledger.query import MAP_CLASS_LABELS, MAP_CLASSES  # noqa: E402
from gis.reports.hotspot_cells import BIN_COLOURS, BIN_LABELS, HotCell  # noqa: E402
from gis.reports.township import MonthPoint, ReportMap  # noqa: E402
from layers.problem_layer import CLASS_COLOURS  # noqa: E402

FONT_FAMILIES = ["Noto Sans CJK SC", "Noto Sans CJK JP", "WenQuanYi Zen Hei", "DejaVu Sans"]
POINT_SIZES = {"closed": 12, "open": 20, "overdue": 26, "rebounded": 32}
NEW_COLOUR = "#2f6fb3"
CLOSED_COLOUR = "#6a9f58"
SRID = "EPSG:4490"
_LOCK = threading.Lock()  # matplotlib's font cache and rc_context are process-wide


@contextmanager
def _style() -> Iterator[None]:
    """CJK fonts and plain styling for one drawing, serialised across threads."""
    rc = {
        "font.family": "sans-serif",
        "font.sans-serif": FONT_FAMILIES,
        "axes.unicode_minus": False,
        "font.size": 9,
    }
    with _LOCK, matplotlib.rc_context(rc):
        yield


def _png(fig: Figure, dpi: int) -> bytes:
    FigureCanvasAgg(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, pil_kwargs={"compress_level": 4})
    return buf.getvalue()


def _nice_length_km(span_km: float) -> float:
    """A round scale-bar length near a quarter of the map width."""
    target = span_km / 4
    for step in (0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100):
        if step >= target:
            return step
    return 100.0


def _scale_bar(ax, x0: float, x1: float, y0: float, y1: float, lat: float) -> None:  # type: ignore[no-untyped-def]
    km_per_deg = 111.32 * math.cos(math.radians(lat))
    length_km = _nice_length_km((x1 - x0) * km_per_deg)
    dx = length_km / km_per_deg
    bx, by = x0 + (x1 - x0) * 0.04, y0 + (y1 - y0) * 0.05
    ax.plot([bx, bx + dx], [by, by], color="#222", linewidth=3, solid_capstyle="butt")
    label = f"{length_km:g} km" if length_km >= 1 else f"{length_km * 1000:g} m"
    ax.text(bx + dx / 2, by + (y1 - y0) * 0.015, label, ha="center", va="bottom", fontsize=8)
    ax.annotate(
        "N",
        xy=(0.95, 0.96),
        xytext=(0.95, 0.86),
        xycoords="axes fraction",
        ha="center",
        va="center",
        fontsize=9,
        arrowprops={"arrowstyle": "-|>", "color": "#222", "linewidth": 1.2},
    )


def township_map_png(
    data: ReportMap, *, width_in: float = 6.6, height_in: float = 5.2, dpi: int = 110
) -> bytes:
    """PNG of the township: neighbours, hot spot cells by FDR bin, problems by map class."""
    towns = {t.code: t for t in data.townships}
    focus = towns[data.focus].geom
    fx0, fy0, fx1, fy1 = focus.bounds
    pad = max(fx1 - fx0, fy1 - fy0) * 0.08
    x0, y0, x1, y1 = fx0 - pad, fy0 - pad, fx1 + pad, fy1 + pad
    lat0 = (y0 + y1) / 2
    aspect = 1 / math.cos(math.radians(lat0))
    # Widen the view to the figure's shape so the township is centred without distortion.
    frame = width_in / height_in
    w, h = x1 - x0, (y1 - y0) * aspect
    if w / h < frame:
        extra = (h * frame - w) / 2
        x0, x1 = x0 - extra, x1 + extra
    else:
        extra = (w / frame - h) / 2 / aspect
        y0, y1 = y0 - extra, y1 + extra
    view = box(x0, y0, x1, y1)
    with _style():
        fig = Figure(figsize=(width_in, height_in))
        ax = fig.add_axes((0, 0, 1, 1))
        ax.set_axis_off()
        ax.set_facecolor("#ffffff")
        others = [t for t in data.townships if t.code != data.focus and t.geom.intersects(view)]
        if others:
            gpd.GeoSeries([t.geom for t in others], crs=SRID).plot(
                ax=ax, facecolor="#f1f1ec", edgecolor="#9a9a90", linewidth=0.6, aspect=aspect
            )
        gpd.GeoSeries([focus], crs=SRID).plot(
            ax=ax, facecolor="#fbf8ee", edgecolor="none", aspect=aspect
        )
        cells = [c for c in data.cells if c.polygon.intersects(view)]
        _draw_cells(ax, cells, aspect)
        gpd.GeoSeries([focus], crs=SRID).plot(
            ax=ax, facecolor="none", edgecolor="#202020", linewidth=1.8, aspect=aspect
        )
        for t in others:
            p = t.geom.intersection(view).representative_point()
            ax.text(p.x, p.y, t.name, fontsize=8, color="#77776f", ha="center", va="center")
        handles = _draw_points(ax, data)
        bins = sorted({c.bin for c in cells if c.bin != 0}, reverse=True)
        handles += [
            Patch(facecolor=BIN_COLOURS[b], edgecolor="#999", label=BIN_LABELS[b][0]) for b in bins
        ]
        handles.append(
            Patch(
                facecolor="none", edgecolor="#202020", linewidth=1.8, label=towns[data.focus].name
            )
        )
        ax.legend(handles=handles, loc="lower right", fontsize=7.5, framealpha=0.92, borderpad=0.6)
        ax.set_xlim(x0, x1)
        ax.set_ylim(y0, y1)
        ax.set_aspect(aspect)
        _scale_bar(ax, x0, x1, y0, y1, lat0)
        return _png(fig, dpi)


def _draw_cells(ax, cells: Sequence[HotCell], aspect: float) -> None:  # type: ignore[no-untyped-def]
    if not cells:
        return
    quiet = [c.polygon for c in cells if c.bin == 0]
    if quiet:
        gpd.GeoSeries(quiet, crs=SRID).plot(
            ax=ax, facecolor="none", edgecolor="#d8d4c4", linewidth=0.4, aspect=aspect
        )
    loud = [c for c in cells if c.bin != 0]
    if loud:
        gpd.GeoSeries([c.polygon for c in loud], crs=SRID).plot(
            ax=ax,
            color=[BIN_COLOURS[c.bin] for c in loud],
            edgecolor="#ffffff",
            linewidth=0.4,
            alpha=0.8,
            aspect=aspect,
        )


def _draw_points(ax, data: ReportMap) -> list:  # type: ignore[no-untyped-def]
    handles = []
    for cls in MAP_CLASSES:
        pts = [p for p in data.points if p.map_class == cls]
        colour = CLASS_COLOURS[cls]
        if pts:
            ax.scatter(
                [p.lon for p in pts],
                [p.lat for p in pts],
                s=POINT_SIZES[cls],
                c=colour,
                edgecolors="#ffffff",
                linewidths=0.6,
                zorder=5,
            )
        handles.append(
            Line2D(
                [],
                [],
                marker="o",
                linestyle="none",
                markerfacecolor=colour,
                markeredgecolor="#ffffff",
                markersize=6,
                label=f"{MAP_CLASS_LABELS[cls][0]} ({len(pts)})",
            )
        )
    return handles


def _month_label(month: date, first: bool) -> str:
    return f"{month.year}\n{month.month}月" if first or month.month == 1 else f"{month.month}月"


def trend_chart_png(
    trend: Sequence[MonthPoint], *, width_in: float = 6.6, height_in: float = 2.4, dpi: int = 110
) -> bytes:
    """PNG bar chart of new (新增) and closed (销号) problems per month."""
    with _style():
        fig = Figure(figsize=(width_in, height_in))
        ax = fig.add_subplot(1, 1, 1)
        xs = list(range(len(trend)))
        new = [m.new for m in trend]
        closed = [m.closed for m in trend]
        bars_new = ax.bar([x - 0.2 for x in xs], new, width=0.4, color=NEW_COLOUR, label="新增 New")
        bars_closed = ax.bar(
            [x + 0.2 for x in xs], closed, width=0.4, color=CLOSED_COLOUR, label="销号 Closed"
        )
        for bars in (bars_new, bars_closed):
            ax.bar_label(
                bars, labels=[str(v) if v else "" for v in bars.datavalues], fontsize=7, padding=1
            )
        ax.set_xticks(xs, [_month_label(m.month, i == 0) for i, m in enumerate(trend)])
        ax.tick_params(axis="x", labelsize=7.5)
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        top = max([*new, *closed, 1])
        ax.set_ylim(0, top * 1.25 + 0.5)
        ax.set_ylabel("问题数 Problems")
        for side in ("top", "right"):
            ax.spines[side].set_visible(False)
        ax.grid(axis="y", color="#e6e6e6", linewidth=0.6)
        ax.set_axisbelow(True)
        ax.legend(loc="upper left", fontsize=8, frameon=False, ncols=2)
        fig.subplots_adjust(left=0.08, right=0.995, top=0.97, bottom=0.17)
        return _png(fig, dpi)


def band_curve_png(
    curve: Sequence[dict[str, float | None]],
    band_m: float | None,
    *,
    width_in: float = 6.6,
    height_in: float = 2.2,
    dpi: int = 110,
) -> bytes:
    """PNG line chart of the incremental spatial autocorrelation: Moran's I z-score by distance
    band, with the band the analysis chose marked, so a reader sees why this band."""
    xs = [float(c["band_m"]) / 1000 for c in curve if c.get("band_m") is not None]
    zs = [c.get("z") for c in curve if c.get("band_m") is not None]
    with _style():
        fig = Figure(figsize=(width_in, height_in))
        ax = fig.add_subplot(1, 1, 1)
        ax.plot(xs, [z if z is not None else math.nan for z in zs], color=NEW_COLOUR,
                marker="o", markersize=3, linewidth=1.2, label="Moran's I z")
        if band_m is not None:
            ax.axvline(band_m / 1000, color="#c8102e", linewidth=1, linestyle="--",
                       label=f"所选阈值 chosen band {band_m:.0f} m")
        ax.set_xlabel("距离阈值 Distance band (km)")
        ax.set_ylabel("z")
        for side in ("top", "right"):
            ax.spines[side].set_visible(False)
        ax.grid(color="#e6e6e6", linewidth=0.6)
        ax.set_axisbelow(True)
        ax.legend(loc="best", fontsize=8, frameon=False)
        fig.subplots_adjust(left=0.08, right=0.995, top=0.95, bottom=0.22)
        return _png(fig, dpi)
