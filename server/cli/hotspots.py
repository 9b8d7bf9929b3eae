"""``lookback hotspots``: a Gi* hot spot map (GeoJSON) of ledger incidents or of a point file.

Register in the main app with ``app.add_typer(hotspots_app, name="hotspots")``.
"""

from __future__ import annotations

import json
import sys
from dataclasses import replace
from datetime import date, datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, NoReturn

import numpy as np
import typer
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table
from shapely.geometry import shape as geojson_shape
from shapely.ops import unary_union
from sqlalchemy.exc import SQLAlchemyError

from gis.hotspots import HotspotResult, hotspots_from_points
from gis.hotspots.cube import write_cube
from gis.hotspots.data import (
    BIN_STYLE,
    PointFilter,
    TrendRun,
    analyse_hotspots,
    analyse_lisa,
    emerging_trends,
    hotspot_collection,
)
from gis.hotspots.errors import Explanation, HotspotInputError
from gis.hotspots.lisa import NOT_SIGNIFICANT, QUADRANTS, LisaMap, lisa_on_cells
from gis.io.pointfiles import PointFileError, read_points

hotspots_app = typer.Typer(
    help="Gi* hot spot map (FDR-corrected bins −3…3) of ledger incidents or of a point file.",
    context_settings={"help_option_names": ["-h", "--help"]},
    add_completion=False,
)


class Kind(StrEnum):
    """The ledger incidents to analyse."""

    problems = "problems"
    complaints = "complaints"
    rebounds = "rebounds"
    overdue = "overdue"


class CellShape(StrEnum):
    """Cell shape of the grid."""

    hex = "hex"
    square = "square"


class Statistic(StrEnum):
    """Which local statistic to map."""

    gi = "gi"
    lisa = "lisa"


class Unit(StrEnum):
    """LISA units."""

    cells = "cells"
    townships = "townships"


class Value(StrEnum):
    """LISA value: count or rate."""

    count = "count"
    rate = "rate"
    eb = "eb"
    spatial_eb = "spatial_eb"


class Denominator(StrEnum):
    """Rate denominator."""

    sites = "sites"
    area = "area"


class Area(StrEnum):
    """Study area for database input."""

    townships = "townships"
    incidents = "incidents"


def _console() -> Console:
    """A stderr console that does not wrap long bilingual lines."""
    return Console(stderr=True, soft_wrap=True, highlight=False)


def _fail(console: Console, zh: str, en: str | None = None) -> NoReturn:
    """Print the bilingual error and exit with status 1."""
    console.print(f"[bold red]错误 error:[/] {zh}" + (f" / {en}" if en else ""), markup=True)
    raise typer.Exit(1)


def _read_boundary(path: Path) -> Any:
    """The union of the polygons of a GeoJSON file (FeatureCollection, Feature or geometry)."""
    data = json.loads(path.read_text(encoding="utf-8"))
    if data.get("type") == "FeatureCollection":
        geoms = [f["geometry"] for f in data.get("features", []) if f.get("geometry")]
    elif data.get("type") == "Feature":
        geoms = [data["geometry"]]
    else:
        geoms = [data]
    return unary_union([geojson_shape(g) for g in geoms])


def _from_file(
    path: Path,
    *,
    category: str | None,
    boundary: Path | None,
    cell_m: float | None,
    band_m: float | None,
    shape: str,
    notes: list[str],
) -> HotspotResult:
    """Hot spots of the points of a file (GeoJSON, GPX, …)."""
    parsed = read_points(path)
    for warning in parsed.warnings:
        notes.append(f"{path.name}: {warning}")
    if parsed.rejected:
        notes.append(f"{path.name}: {len(parsed.rejected)} point(s) rejected / 个点被拒绝")
    points = parsed.points
    if category:
        points = [p for p in points if str(p.properties.get("category")) == category]
        notes.append(f"category = {category}: {len(points)} of {len(parsed.points)} point(s)")
    lon = np.array([p.lon for p in points], dtype=float)
    lat = np.array([p.lat for p in points], dtype=float)
    area = _read_boundary(boundary) if boundary else None
    result = hotspots_from_points(
        lon,
        lat,
        cell_m=cell_m,
        band_m=band_m,
        shape=shape,
        boundary=area,  # type: ignore[arg-type]
    )
    source = Explanation(
        "input",
        f"输入文件：{path.name}，读取 {len(parsed.points)} 个点，拒绝 {len(parsed.rejected)} 个。",
        f"Input file: {path.name}; {len(parsed.points)} point(s) read, "
        f"{len(parsed.rejected)} rejected.",
        len(points),
    )
    return _with_first(result, source)


def _with_first(result: HotspotResult, note: Explanation) -> HotspotResult:
    """``result`` with ``note`` as its first explanation."""
    return replace(result, explanations=[note, *result.explanations])


def _from_database(
    flt: PointFilter,
    *,
    today: date,
    cell_m: float | None,
    band_m: float | None,
    shape: str,
    area: str,
) -> HotspotResult:
    """Hot spots of ledger incidents from the configured database."""
    from sqlalchemy.orm import Session

    from gis.config import Settings
    from gis.db.engine import database_url, embedded_cluster, make_engine, uses_embedded_cluster

    settings = Settings()
    if uses_embedded_cluster(settings):
        embedded_cluster(settings).start()
    engine = make_engine(database_url(settings))
    try:
        with Session(engine) as session:
            run = analyse_hotspots(
                session,
                flt,
                today=today,
                cell_m=cell_m,
                band_m=band_m,
                shape=shape,  # type: ignore[arg-type]
                area=area,  # type: ignore[arg-type]
            )
    finally:
        engine.dispose()
    return run.result


def _lisa_from_database(flt: PointFilter, *, today: date, **kwargs: Any) -> LisaMap:
    """Local Moran's I of ledger incidents from the configured database."""
    from sqlalchemy.orm import Session

    from gis.config import Settings
    from gis.db.engine import database_url, embedded_cluster, make_engine, uses_embedded_cluster

    settings = Settings()
    if uses_embedded_cluster(settings):
        embedded_cluster(settings).start()
    engine = make_engine(database_url(settings))
    try:
        with Session(engine) as session:
            return analyse_lisa(session, flt, today=today, **kwargs)
    finally:
        engine.dispose()


def _cube_from_database(
    flt: PointFilter, *, today: date, path: Path, months: int, step: str, **kwargs: Any
) -> TrendRun:
    """Emerging hot spots of ledger incidents, with the space-time cube written to ``path``."""
    from sqlalchemy.orm import Session

    from gis.config import Settings
    from gis.db.engine import database_url, embedded_cluster, make_engine, uses_embedded_cluster

    settings = Settings()
    if uses_embedded_cluster(settings):
        embedded_cluster(settings).start()
    engine = make_engine(database_url(settings))
    try:
        with Session(engine) as session:
            run = emerging_trends(
                session, flt, today=today, months=months, step=step,  # type: ignore[arg-type]
                **kwargs,
            )
    finally:
        engine.dispose()
    write_cube(run.to_cube(), path)
    return run


def lisa_table(lisa: LisaMap) -> Table:
    """Units per LISA class as a table."""
    table = Table(title="局部莫兰指数汇总 Local Moran's I summary", show_header=True)
    table.add_column("类别 Class")
    table.add_column("单元 Units", justify="right")
    tally = lisa.result.tally()
    for q, (key, zh, en) in QUADRANTS.items():
        table.add_row(f"{key} {zh} {en} (q={q})", str(tally[key]))
    table.add_row(f"ns {NOT_SIGNIFICANT[1]} {NOT_SIGNIFICANT[2]}", str(tally["ns"]))
    return table


def print_explanations(console: Console, result: HotspotResult | LisaMap | TrendRun) -> None:
    """Each automatic choice and finding, in Chinese then English."""
    console.print("[bold]分析说明 How the settings were chosen[/]")
    for e in result.explanations:
        console.print(f"• {e.zh}", markup=False)
        console.print(f"  {e.en}", markup=False, style="dim")


def summary_table(result: HotspotResult) -> Table:
    """Settings and cells per bin as a table."""
    table = Table(title="热点分析汇总 Hot spot summary", show_header=True)
    table.add_column("项目 Item")
    table.add_column("值 Value", justify="right")
    table.add_row("事件点 Incidents (used / read)", f"{result.n_used} / {result.n_points}")
    table.add_row("格网 Cells", f"{len(result)} ({result.shape})")
    table.add_row("格网大小 Cell size, m", f"{result.cell_m:,.0f}")
    table.add_row("距离阈值 Distance band, m", f"{result.band_m:,.0f} ({result.band_method})")
    table.add_row("投影 CRS", f"EPSG:{result.epsg}")
    summary = result.summary()
    for b, (_, zh, en) in BIN_STYLE.items():
        table.add_row(f"{b:+d} {zh} {en}" if b else f"0 {zh} {en}", str(summary[b]))
    return table


@hotspots_app.callback(invoke_without_command=True)
def hotspots(
    input_file: Annotated[
        Path | None,
        typer.Option(
            "--input",
            exists=True,
            dir_okay=False,
            readable=True,
            help="point file (GeoJSON, GPX, …) instead of the database",
        ),
    ] = None,
    kind: Annotated[Kind, typer.Option(help="database incidents to analyse")] = Kind.problems,
    category: Annotated[str | None, typer.Option(help="only this category")] = None,
    source: Annotated[
        str | None, typer.Option(help="only this source (complaints: channel)")
    ] = None,
    since: Annotated[
        datetime | None, typer.Option(formats=["%Y-%m-%d"], help="from this local date")
    ] = None,
    until: Annotated[
        datetime | None, typer.Option(formats=["%Y-%m-%d"], help="up to this local date")
    ] = None,
    township: Annotated[str | None, typer.Option(help="12-digit township code")] = None,
    cell_m: Annotated[
        float | None, typer.Option(min=1, help="cell size in metres, e.g. 500 (default: auto)")
    ] = None,
    band_m: Annotated[
        float | None, typer.Option(min=1, help="Gi* distance band in metres (default: auto)")
    ] = None,
    shape: Annotated[CellShape, typer.Option(help="cell shape")] = CellShape.hex,
    area: Annotated[
        Area, typer.Option(help="database input: townships (zeros count) or incidents only")
    ] = Area.townships,
    boundary: Annotated[
        Path | None,
        typer.Option(exists=True, dir_okay=False, help="file input: study-area polygon GeoJSON"),
    ] = None,
    today: Annotated[
        datetime | None,
        typer.Option(formats=["%Y-%m-%d"], help="date overdue is judged on (default: today)"),
    ] = None,
    statistic: Annotated[
        Statistic, typer.Option(help="gi: Getis-Ord Gi*; lisa: local Moran's I (HH/LL/HL/LH)")
    ] = Statistic.gi,
    unit: Annotated[
        Unit, typer.Option(help="lisa: cells (the Gi* grid) or townships (database)")
    ] = Unit.cells,
    value: Annotated[
        Value, typer.Option(help="lisa: count, rate, eb or spatial_eb (database)")
    ] = Value.count,
    denominator: Annotated[
        Denominator, typer.Option(help="lisa rates: sites or area (km²)")
    ] = Denominator.sites,
    permutations: Annotated[
        int, typer.Option(min=99, max=9999, help="lisa: conditional permutations")
    ] = 999,
    seed: Annotated[int | None, typer.Option(help="lisa: random seed")] = None,
    cube: Annotated[
        Path | None,
        typer.Option(
            dir_okay=False,
            help="database: write the emerging hot spot space-time cube (netCDF) here",
        ),
    ] = None,
    months: Annotated[
        int, typer.Option(min=10, max=400, help="cube: number of complete time steps")
    ] = 12,
    step: Annotated[
        str, typer.Option(help="cube: time step, month | week | day (complete periods)")
    ] = "month",
    out: Annotated[
        Path | None, typer.Option(help="GeoJSON file to write (default: standard output)")
    ] = None,
) -> None:
    """Gi* hot spots with FDR: writes EPSG:4326 cell polygons with count, z, p, bin, band_m."""
    console = _console()
    notes: list[str] = []
    try:
        with Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            TimeElapsedColumn(),
            console=console,
            transient=True,
        ) as progress:
            progress.add_task("热点分析中 analysing hot spots…", total=None)
            lisa_map: LisaMap | None = None
            trend: TrendRun | None = None
            if input_file is not None:
                if cube is not None:
                    raise HotspotInputError(
                        "时空立方体（--cube）只能由数据库中的事件生成。",
                        "The space-time cube (--cube) is built from database incidents only.",
                    )
                if statistic is Statistic.lisa and (
                    unit is not Unit.cells or value is not Value.count
                ):
                    raise HotspotInputError(
                        "点文件只能按格网计数计算局部莫兰指数（--unit cells --value count）。",
                        "A point file supports local Moran's I on cell counts only "
                        "(--unit cells --value count).",
                    )
                result = _from_file(
                    input_file,
                    category=category,
                    boundary=boundary,
                    cell_m=cell_m,
                    band_m=band_m,
                    shape=shape.value,
                    notes=notes,
                )
                if statistic is Statistic.lisa:
                    lisa_map = lisa_on_cells(
                        result, permutations=permutations, seed=seed,
                        settings={"input": input_file.name, "value": "count"},
                    )
                label = input_file.name
            else:
                from gis.ledger.deadlines import local_today

                flt = PointFilter(
                    kind=kind.value,  # type: ignore[arg-type]
                    categories=(category,) if category else None,
                    sources=(source,) if source else None,
                    since=since.date() if since else None,
                    until=until.date() if until else None,
                    township_codes=(township,) if township else None,
                )
                day = today.date() if today else local_today()
                if cube is not None:
                    trend = _cube_from_database(
                        flt, today=day, path=cube, months=months, step=step, cell_m=cell_m,
                        band_m=band_m, shape=shape.value,
                    )
                elif statistic is Statistic.lisa:
                    lisa_map = _lisa_from_database(
                        flt, today=day, unit=unit.value, value=value.value,
                        denominator=denominator.value, cell_m=cell_m, band_m=band_m,
                        shape=shape.value, area=area.value, permutations=permutations,
                        seed=seed,
                    )
                else:
                    result = _from_database(
                        flt,
                        today=day,
                        cell_m=cell_m,
                        band_m=band_m,
                        shape=shape.value,
                        area=area.value,
                    )
                label = kind.value
    except HotspotInputError as exc:
        _fail(console, exc.zh, exc.en)
    except PointFileError as exc:
        _fail(console, "无法读取点文件", str(exc))
    except (OSError, ValueError) as exc:
        _fail(console, "输入无效", str(exc))
    except SQLAlchemyError as exc:
        _fail(console, "无法读取数据库", str(exc).strip().splitlines()[0])
    for note in notes:
        console.print(f"[yellow]注意 note:[/] {note}", markup=True)
    if trend is not None:
        print_explanations(console, trend)
        console.print(
            f"已写入时空立方体 cube written: {cube} ({len(trend.cells)} cells × "
            f"{len(trend.steps)} steps, {trend.steps[0]}…{trend.steps[-1]})"
        )
        return
    if lisa_map is not None:
        print_explanations(console, lisa_map)
        console.print(lisa_table(lisa_map))
        _write(console, lisa_map.to_geojson(), out, len(lisa_map.ids))
        return
    print_explanations(console, result)
    console.print(summary_table(result))
    _write(console, hotspot_collection(result, kind=label), out, len(result))


def _write(console: Console, collection: dict[str, Any], out: Path | None, n: int) -> None:
    """The FeatureCollection to ``out`` or standard output."""
    text = json.dumps(collection, ensure_ascii=False, allow_nan=False)
    if out is None:
        sys.stdout.write(text + "\n")
    else:
        out.write_text(text + "\n", encoding="utf-8")
        console.print(f"已写入 written: {out} ({n} units)")
