"""Field inspections: validate a point, store it once per client UUID, flag what looks off.

Idempotency follows ODK Central's instanceID rule: a client generates the UUID; the same UUID with
the same content returns the stored inspection, the same UUID with other content is refused
(:class:`gis.ledger.writes.Conflict`) and nothing changes. Content is compared by the SHA-256 of a
canonical JSON of the validated payload (``Inspection.payload_sha256``). Two identical requests at
the same moment yield one row: ``INSERT … ON CONFLICT (uuid) DO NOTHING``, then compare hashes.

Fraud and quality signals are flags for the office, not refusals: ``outside_county``,
``future_time``, ``poor_accuracy``, ``off_site``, ``map_picked`` and, from photos, ``exif_far`` and
``photo_reused``. What cannot be an inspection at all (bad coordinates, a time more than a day
ahead, a negative accuracy, an unknown problem) is refused with
:class:`gis.ledger.writes.LedgerError` naming the field.
"""

from __future__ import annotations

import hashlib
import json
import math
import uuid as uuid_mod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

from geoalchemy2.shape import to_shape
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from gis import vocab
from gis.db.models import Attachment, Inspection, Problem
from gis.field.photos import DEFAULT_MAX_BYTES, CheckedPhoto, PhotoError, check_photo, store_blob
from gis.geo import coords
from gis.geo.townships import township_for_point, township_of_sql
from gis.ledger.rebounds import flag_for_inspection, inspection_flag_sql
from gis.ledger.writes import Conflict, LedgerError, record_event

OUTSIDE_COUNTY = "outside_county"
FUTURE_TIME = "future_time"
POOR_ACCURACY = "poor_accuracy"
OFF_SITE = "off_site"
MAP_PICKED = "map_picked"
EXIF_FAR = "exif_far"
PHOTO_REUSED = "photo_reused"
FLAGS = (OUTSIDE_COUNTY, FUTURE_TIME, POOR_ACCURACY, OFF_SITE, MAP_PICKED, EXIF_FAR, PHOTO_REUSED)

POSITION_SOURCES = ("gps", "map", "file")
REBOUND_FINDINGS = ("new_problem", "rebound", "persists")
FIELDS = (
    "uuid",
    "lon",
    "lat",
    "accuracy_m",
    "observed_at",
    "finding",
    "category",
    "note",
    "problem_code",
    "crs",
    "position_source",
)
NOTE_MAX_CHARS = 5000


class FieldSettings(BaseSettings):
    """Field-app limits and thresholds; each is env var ``LOOKBACK_FIELD_<NAME>``."""

    model_config = SettingsConfigDict(env_prefix="LOOKBACK_FIELD_", extra="ignore")

    accuracy_threshold_m: float = Field(30.0, gt=0, description="the app waits for a better fix")
    poor_accuracy_m: float = Field(500.0, gt=0, description="flag poor_accuracy above this")
    future_flag_minutes: float = Field(5.0, ge=0, description="flag device times this far ahead")
    future_reject_hours: float = Field(24.0, gt=0, description="refuse device times this far ahead")
    off_site_min_m: float = Field(100.0, gt=0, description="off_site beyond max(this, 2×accuracy)")
    exif_far_m: float = Field(500.0, gt=0, description="flag a photo's EXIF GPS this far away")
    photo_max_bytes: int = Field(DEFAULT_MAX_BYTES, gt=0, description="largest photo accepted")
    max_photos: int = Field(20, ge=1, description="photos per inspection")
    nearby_radius_m: float = Field(1000.0, gt=0, description="open problems offered within this")
    nearby_limit: int = Field(10, ge=1, le=100, description="how many nearby problems to offer")
    duplicate_radius_m: float = Field(50.0, gt=0, description="same-category duplicate radius")


@dataclass(frozen=True)
class ValidInspection:
    """A submitted inspection after validation: source and WGS-84 coordinates, parsed values."""

    uuid: uuid_mod.UUID
    source_lon: float
    source_lat: float
    crs: str
    lon: float
    lat: float
    accuracy_m: float | None
    observed_at: datetime
    finding: str
    category: str | None
    note: str
    problem_code: str | None
    position_source: str
    inspector: str
    payload_sha256: str
    time_flags: tuple[str, ...] = ()


@dataclass
class PhotoResult:
    """One photo attached (or found already attached) to an inspection."""

    attachment: Attachment
    created: bool
    new_flags: list[str] = field(default_factory=list)


@dataclass
class Submission:
    """The stored inspection, whether this request created it, and what else it set off."""

    inspection: Inspection
    created: bool
    photos: list[PhotoResult] = field(default_factory=list)
    suspected_rebounds: list[int] = field(default_factory=list)


# ---------------------------------------------------------------------------------------------
# Validation
# ---------------------------------------------------------------------------------------------


def _number(value: Any, name: str, zh: str) -> float:
    """Return a finite float or raise LedgerError naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise LedgerError(f"{name} must be a number / {zh}必须是数字", field=name)
    try:
        number = float(value)
    except ValueError:
        raise LedgerError(f"{name} {value!r} is not a number / {zh}不是数字", field=name) from None
    if not math.isfinite(number):
        raise LedgerError(
            f"{name} is {number} (not a finite number) / {zh}不是有限数值", field=name
        )
    return number


def _time(value: Any) -> datetime:
    """Return an aware datetime from ISO-8601 text, or raise LedgerError on observed_at."""
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, str) and value.strip():
        try:
            parsed = datetime.fromisoformat(value.strip())
        except ValueError:
            raise LedgerError(
                f"observed_at {value!r} is not an ISO-8601 time / observed_at 不是 ISO-8601 时间",
                field="observed_at",
            ) from None
    else:
        raise LedgerError(
            "observed_at is required: the device time, ISO-8601 with a zone"
            " / 缺少 observed_at（设备时间，ISO-8601，带时区）",
            field="observed_at",
        )
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        raise LedgerError(
            "observed_at needs a time zone (e.g. 2026-03-02T10:00:00+08:00 or …Z)"
            " / observed_at 须带时区",
            field="observed_at",
        )
    return parsed.astimezone(UTC)


_GEODETIC = ("wgs84", "cgcs2000")


@lru_cache(maxsize=32)
def _allowed(enum: type[vocab.Labelled]) -> tuple[str, ...]:
    """The values of a vocabulary (they are fixed while the process runs)."""
    return tuple(vocab.values(enum))


def _vocab(value: Any, name: str, enum: type[vocab.Labelled], *, required: bool) -> str | None:
    """Return a vocabulary value, None when optional and absent, or raise LedgerError."""
    if value is None or value == "":
        if required:
            raise LedgerError(f"{name} is required / 缺少 {name}", field=name)
        return None
    allowed = _allowed(enum)
    if value not in allowed:
        raise LedgerError(
            f"{name} {value!r} is not one of {', '.join(allowed)} / {name} 取值无效",
            field=name,
        )
    return str(value)


def canonical_sha256(payload: Mapping[str, Any]) -> str:
    """Return the SHA-256 of the payload as canonical JSON (sorted keys, no spaces, UTF-8)."""
    blob = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def validate(
    raw: Mapping[str, Any],
    *,
    inspector: str,
    now: datetime | None = None,
    limits: FieldSettings | None = None,
) -> ValidInspection:
    """Check a submitted payload field by field; raise LedgerError naming the first bad field."""
    limits = limits or FieldSettings()
    at = now or datetime.now(UTC)
    if not isinstance(raw, Mapping):
        raise LedgerError("the body must be a JSON object / 请求体须为 JSON 对象", field="body")
    unknown = sorted(set(raw) - set(FIELDS))
    if unknown:
        raise LedgerError(
            f"unknown field {unknown[0]!r}; accepted: {', '.join(FIELDS)} / 未知字段 {unknown[0]}",
            field=unknown[0],
        )
    try:
        uid = uuid_mod.UUID(str(raw.get("uuid") or ""))
    except ValueError:
        raise LedgerError(
            f"uuid {raw.get('uuid')!r} is not a UUID / uuid 格式无效", field="uuid"
        ) from None
    finding = _vocab(raw.get("finding"), "finding", vocab.Finding, required=True)
    category = _vocab(raw.get("category"), "category", vocab.Category, required=False)
    crs_raw = raw.get("crs") or "wgs84"
    try:
        crs = coords.normalize_crs(crs_raw)
    except ValueError as exc:
        raise LedgerError(f"{exc} / 坐标系 crs 无效", field="crs") from None
    try:
        src_lon, src_lat = coords.validate_lonlat(raw.get("lon"), raw.get("lat"))
    except coords.CoordinateError as exc:
        raise LedgerError(exc.message, field=exc.field) from None
    if crs in _GEODETIC:
        lon, lat = src_lon, src_lat  # the datums the ledger stores: nothing to convert
    else:
        lon, lat = coords.to_wgs84(src_lon, src_lat, crs)
    accuracy = raw.get("accuracy_m")
    if accuracy is not None:
        accuracy = _number(accuracy, "accuracy_m", "定位精度")
        if accuracy < 0:
            raise LedgerError(
                f"accuracy_m is {accuracy}; it must be 0 or more metres / 定位精度不能为负数",
                field="accuracy_m",
            )
    observed = _time(raw.get("observed_at"))
    ahead = observed - at
    time_flags: tuple[str, ...] = ()
    if ahead > timedelta(hours=limits.future_reject_hours):
        raise LedgerError(
            f"observed_at {observed.isoformat()} is more than {limits.future_reject_hours:g} h"
            " ahead of the server clock; check the phone's date and time"
            " / observed_at 比服务器时间超前太多，请检查手机日期时间",
            field="observed_at",
        )
    if ahead > timedelta(minutes=limits.future_flag_minutes):
        time_flags = (FUTURE_TIME,)
    note = raw.get("note")
    if note is None:
        note = ""
    if not isinstance(note, str):
        raise LedgerError("note must be text / 备注须为文本", field="note")
    if len(note) > NOTE_MAX_CHARS:
        raise LedgerError(
            f"note is {len(note)} characters; at most {NOTE_MAX_CHARS} / 备注过长", field="note"
        )
    code = raw.get("problem_code")
    if code is not None and not isinstance(code, str):
        raise LedgerError("problem_code must be text / 问题编号须为文本", field="problem_code")
    code = code.strip() or None if code else None
    source = raw.get("position_source") or "gps"
    if source not in POSITION_SOURCES:
        raise LedgerError(
            f"position_source {source!r} is not one of {', '.join(POSITION_SOURCES)}"
            " / 位置来源无效",
            field="position_source",
        )
    canonical = {
        "uuid": str(uid),
        "lon": src_lon,
        "lat": src_lat,
        "crs": crs,
        "accuracy_m": accuracy,
        "observed_at": observed.isoformat(),
        "finding": finding,
        "category": category,
        "note": note,
        "problem_code": code,
        "position_source": source,
        "inspector": inspector,
    }
    return ValidInspection(
        uuid=uid,
        source_lon=src_lon,
        source_lat=src_lat,
        crs=crs,
        lon=float(lon),
        lat=float(lat),
        accuracy_m=accuracy,
        observed_at=observed,
        finding=str(finding),
        category=category,
        note=note,
        problem_code=code,
        position_source=str(source),
        inspector=inspector,
        payload_sha256=canonical_sha256(canonical),
        time_flags=time_flags,
    )


# ---------------------------------------------------------------------------------------------
# Storing
# ---------------------------------------------------------------------------------------------

_INSERT = text(
    """
    INSERT INTO inspections (uuid, problem_id, inspector, finding, category, note, accuracy_m,
        observed_at, received_at, source_crs, source_lon, source_lat, township_code,
        payload_sha256, flags, geom)
    VALUES (:uuid, :problem_id, :inspector, :finding, :category, :note, :accuracy_m,
        :observed_at, :received_at, :source_crs, :source_lon, :source_lat, :township_code,
        :payload_sha256, CAST(:flags AS jsonb), ST_SetSRID(ST_MakePoint(:lon, :lat), 4490))
    ON CONFLICT (uuid) DO NOTHING
    RETURNING id
    """
)


def _problem_distance_m(session: Session, problem: Problem, lon: float, lat: float) -> float | None:
    """Return metres on the spheroid from a point to the problem's geometry (None without one)."""
    if problem.geom is None:
        return None
    return session.execute(
        text(
            "SELECT ST_Distance(geom::geography,"
            " ST_SetSRID(ST_MakePoint(:lon, :lat), 4490)::geography) FROM problems WHERE id = :id"
        ),
        {"lon": lon, "lat": lat, "id": problem.id},
    ).scalar_one()


def off_site_limit_m(accuracy_m: float | None, limits: FieldSettings) -> float:
    """Return the distance beyond which a check-in is off site: max(minimum, 2 × accuracy)."""
    return max(limits.off_site_min_m, 2.0 * (accuracy_m or 0.0))


def _existing(session: Session, uid: uuid_mod.UUID, *, lock: bool = False) -> Inspection | None:
    """Return the inspection stored under ``uid``, if any."""
    stmt = select(Inspection).where(Inspection.uuid == uid)
    if lock:
        stmt = stmt.with_for_update()
    return session.scalars(stmt).first()


def _same_or_conflict(stored: Inspection, valid: ValidInspection) -> None:
    """Raise Conflict when a stored inspection's payload differs from this one."""
    _same_hash_or_conflict(stored.payload_sha256, valid)


def _same_hash_or_conflict(stored_sha256: str, valid: ValidInspection) -> None:
    """Raise Conflict when a stored payload hash differs from this submission's."""
    if stored_sha256 != valid.payload_sha256:
        raise Conflict(
            f"inspection {valid.uuid} was already submitted with different content; nothing was"
            " changed (a new inspection needs a new uuid) / 该 uuid 已提交过不同内容，未作任何更改"
        )


def _lonlat(inspection: Inspection) -> tuple[float, float]:
    """Return the stored WGS-84/CGCS2000 (lon, lat) of an inspection."""
    point = to_shape(inspection.geom)
    return float(point.x), float(point.y)


def submit_inspection(
    session: Session,
    raw: Mapping[str, Any],
    *,
    inspector: str,
    photos: Sequence[tuple[bytes, str]] = (),
    attachments_dir: Path | None = None,
    now: datetime | None = None,
    limits: FieldSettings | None = None,
    townships: Sequence[str] | None = None,
) -> Submission:
    """Validate and store an inspection once per UUID, attach photos, write history and flags.

    ``photos`` are ``(bytes, filename)`` pairs, stored durably before this returns; the caller
    commits. A repeat of a stored submission attaches photos it lacks and returns it.
    ``townships`` limits which problems the inspector may claim (None: any).
    """
    limits = limits or FieldSettings()
    at = now or datetime.now(UTC)
    valid = validate(raw, inspector=inspector, now=at, limits=limits)
    checked = [(check_photo(data, max_bytes=limits.photo_max_bytes), data, name)
               for data, name in photos]
    if photos and attachments_dir is None:
        raise ValueError("attachments_dir is needed to store photos")
    stored = _existing(session, valid.uuid)
    if stored is not None:
        _same_or_conflict(stored, valid)
        return _repeat(session, stored, checked, inspector, attachments_dir, at, limits)
    problem = None
    if valid.problem_code:
        problem = session.scalars(select(Problem).where(Problem.code == valid.problem_code)).first()
        if problem is not None and townships is not None:
            if problem.township_code not in townships:
                problem = None  # outside the inspector's townships: existence not revealed
        if problem is None:
            raise LedgerError(
                f"problem_code {valid.problem_code!r}: no such problem / 问题编号不存在",
                field="problem_code",
            )
    township = township_for_point(session, valid.lon, valid.lat)
    flags = set(valid.time_flags)
    if township is None:
        flags.add(OUTSIDE_COUNTY)
    if valid.accuracy_m is not None and valid.accuracy_m > limits.poor_accuracy_m:
        flags.add(POOR_ACCURACY)
    if valid.position_source == "map":
        flags.add(MAP_PICKED)
    distance = None
    if problem is not None:
        distance = _problem_distance_m(session, problem, valid.lon, valid.lat)
        if distance is not None and distance > off_site_limit_m(valid.accuracy_m, limits):
            flags.add(OFF_SITE)
    new_id = session.execute(
        _INSERT,
        {
            "uuid": valid.uuid,
            "problem_id": problem.id if problem else None,
            "inspector": valid.inspector,
            "finding": valid.finding,
            "category": valid.category or (problem.category if problem else None),
            "note": valid.note,
            "accuracy_m": valid.accuracy_m,
            "observed_at": valid.observed_at,
            "received_at": at,
            "source_crs": valid.crs,
            "source_lon": valid.source_lon,
            "source_lat": valid.source_lat,
            "township_code": township,
            "payload_sha256": valid.payload_sha256,
            "flags": json.dumps(sorted(flags)),
            "lon": valid.lon,
            "lat": valid.lat,
        },
    ).scalar()
    if new_id is None:  # a concurrent request with this uuid committed first
        stored = _existing(session, valid.uuid)
        assert stored is not None
        _same_or_conflict(stored, valid)
        return _repeat(session, stored, checked, inspector, attachments_dir, at, limits)
    inspection = session.get(Inspection, new_id)
    assert inspection is not None
    result = Submission(inspection=inspection, created=True)
    for photo, data, name in checked:
        assert attachments_dir is not None
        result.photos.append(
            _attach(session, inspection, photo, data, name, inspector, attachments_dir, at,
                    limits, record=False)
        )
    if problem is not None:
        record_event(
            session,
            problem,
            actor=inspector,
            action="inspection",
            at=at,
            reason=valid.note[:500],
            after={
                "finding": valid.finding,
                "inspection_uuid": str(valid.uuid),
                "inspection_id": inspection.id,
                "flags": list(inspection.flags),
                "distance_m": round(distance, 1) if distance is not None else None,
                "observed_at": valid.observed_at.isoformat(),
                "photos": len(result.photos),
            },
        )
    if valid.finding in REBOUND_FINDINGS:
        session.flush()
        result.suspected_rebounds = flag_for_inspection(session, inspection.id)
    return result


def _repeat(
    session: Session,
    stored: Inspection,
    checked: list[tuple[CheckedPhoto, bytes, str]],
    actor: str,
    attachments_dir: Path | None,
    at: datetime,
    limits: FieldSettings,
) -> Submission:
    """Answer a repeated submission: attach photos it did not have yet, change nothing else."""
    result = Submission(inspection=stored, created=False)
    for photo, data, name in checked:
        assert attachments_dir is not None
        result.photos.append(
            _attach(session, stored, photo, data, name, actor, attachments_dir, at, limits)
        )
    return result


# ---------------------------------------------------------------------------------------------
# Storing in one statement (submissions without photos)
# ---------------------------------------------------------------------------------------------

_POINT = "ST_SetSRID(ST_MakePoint(:lon, :lat), 4490)"
_ROW_COLUMNS = """id, uuid, problem_id, inspector, finding, category, note, accuracy_m, observed_at,
    received_at, source_crs, source_lon, source_lat, township_code, payload_sha256, flags,
    ST_X(geom) AS x, ST_Y(geom) AS y"""


def _store_sql() -> str:
    """One statement: idempotency check, problem, township, flags, insert, rebounds, answer.

    The problem is looked up by code within the inspector's townships (``:towns``, NULL for
    every township); nothing is inserted when the UUID is already stored (the stored row is
    answered) or when a given problem code is not found (``problem_missing``). The row is
    inserted with ``ON CONFLICT (uuid) DO NOTHING``: when a concurrent request stored the UUID
    first, no row comes back and the caller reads the committed one.
    """
    rebound_sql, _ = inspection_flag_sql("ins")
    return f"""
    WITH existing AS (
        SELECT {_ROW_COLUMNS} FROM inspections WHERE uuid = :uuid
    ), prob AS (
        SELECT p.id, p.code, p.category,
               ST_Distance(p.geom::geography, {_POINT}::geography) AS distance
        FROM problems p
        WHERE p.code = CAST(:problem_code AS text)
          AND (CAST(:towns AS text[]) IS NULL OR p.township_code = ANY(CAST(:towns AS text[])))
        LIMIT 1
    ), town AS (
        SELECT {township_of_sql(_POINT)} AS code
    ), v AS (
        SELECT prob.id AS problem_id, prob.category AS problem_category, prob.distance,
               town.code AS township_code,
               to_jsonb(ARRAY(
                   SELECT DISTINCT f COLLATE "C" FROM unnest(
                       CAST(:flags AS text[])
                       || CASE WHEN town.code IS NULL THEN ARRAY['{OUTSIDE_COUNTY}'] END
                       || CASE WHEN prob.distance > :off_site_m THEN ARRAY['{OFF_SITE}'] END
                   ) f ORDER BY 1
               )) AS flags
        FROM town LEFT JOIN prob ON true
    ), ins AS (
        INSERT INTO inspections (uuid, problem_id, inspector, finding, category, note,
            accuracy_m, observed_at, received_at, source_crs, source_lon, source_lat,
            township_code, payload_sha256, flags, geom)
        SELECT CAST(:uuid AS uuid), v.problem_id, CAST(:inspector AS text),
               CAST(:finding AS text), COALESCE(CAST(:category AS text), v.problem_category),
               CAST(:note AS text), CAST(:accuracy_m AS double precision),
               CAST(:observed_at AS timestamptz), CAST(:received_at AS timestamptz),
               CAST(:source_crs AS text), CAST(:source_lon AS double precision),
               CAST(:source_lat AS double precision), v.township_code,
               CAST(:payload_sha256 AS text), v.flags, {_POINT}
        FROM v
        WHERE NOT EXISTS (SELECT 1 FROM existing)
          AND (CAST(:problem_code AS text) IS NULL OR v.problem_id IS NOT NULL)
        ON CONFLICT (uuid) DO NOTHING
        RETURNING *
    ), reb AS (
        {rebound_sql}
    ), answer AS (
        SELECT {_ROW_COLUMNS}, true AS created FROM ins
        UNION ALL
        SELECT *, false AS created FROM existing
    )
    SELECT a.*,
           (SELECT code FROM problems WHERE id = a.problem_id) AS problem_code,
           (SELECT distance FROM v) AS distance,
           EXISTS (SELECT 1 FROM existing) AS repeat,
           CAST(:problem_code AS text) IS NOT NULL AND NOT EXISTS (SELECT 1 FROM prob)
               AS problem_missing,
           ARRAY(SELECT id FROM reb ORDER BY id) AS rebounds,
           (SELECT COALESCE(json_agg(json_build_object(
                'sha256', t.sha256, 'media_type', t.media_type, 'size_bytes', t.size_bytes,
                'filename', t.filename, 'exif_lon', t.exif_lon, 'exif_lat', t.exif_lat)
                ORDER BY t.id), '[]'::json)
            FROM attachments t WHERE t.inspection_id = a.id AND NOT a.created) AS photos
    FROM (SELECT 1) one LEFT JOIN answer a ON true
    """


@lru_cache(maxsize=1)
def _store_statement() -> Any:
    """The compiled store statement (its text never changes, so the driver prepares it)."""
    return text(_store_sql())


@dataclass
class Stored:
    """A submission answered by :func:`store_inspection`: the JSON-ready body and what it did."""

    body: dict[str, Any]
    created: bool
    suspected_rebounds: list[int] = field(default_factory=list)


def _photo_out(photo: Mapping[str, Any], uid: str) -> dict[str, Any]:
    """A stored photo's JSON description (as :func:`attachment_dict`) from its JSON in SQL."""
    return {**photo, "url": f"/api/inspections/{uid}/photos/{photo['sha256']}"}


def _row_body(row: Mapping[str, Any]) -> dict[str, Any]:
    """The stored inspection as :func:`inspection_dict` gives it, from the store statement."""
    uid = str(row["uuid"])
    return {
        "uuid": uid,
        "id": row["id"],
        "problem_code": row["problem_code"],
        "inspector": row["inspector"],
        "finding": row["finding"],
        "category": row["category"],
        "note": row["note"],
        "lon": round(float(row["x"]), 8),
        "lat": round(float(row["y"]), 8),
        "accuracy_m": row["accuracy_m"],
        "source_crs": row["source_crs"],
        "source_lon": row["source_lon"],
        "source_lat": row["source_lat"],
        "township_code": row["township_code"],
        "observed_at": _iso(row["observed_at"]),
        "received_at": _iso(row["received_at"]),
        "flags": list(row["flags"] or []),
        "photos": [_photo_out(p, uid) for p in row["photos"] or []],
    }


def _point_flags(valid: ValidInspection, limits: FieldSettings) -> list[str]:
    """The flags known from the submission alone (the statement adds township and distance)."""
    flags = set(valid.time_flags)
    if valid.accuracy_m is not None and valid.accuracy_m > limits.poor_accuracy_m:
        flags.add(POOR_ACCURACY)
    if valid.position_source == "map":
        flags.add(MAP_PICKED)
    return sorted(flags)


def _store_params(
    valid: ValidInspection, at: datetime, limits: FieldSettings, townships: Sequence[str] | None
) -> dict[str, Any]:
    """The store statement's parameters for one validated submission."""
    _, rebound_params = inspection_flag_sql("ins")
    return {
        **rebound_params,
        "uuid": valid.uuid,
        "problem_code": valid.problem_code,
        "towns": list(townships) if townships is not None else None,
        "flags": _point_flags(valid, limits),
        "off_site_m": off_site_limit_m(valid.accuracy_m, limits),
        "inspector": valid.inspector,
        "finding": valid.finding,
        "category": valid.category,
        "note": valid.note,
        "accuracy_m": valid.accuracy_m,
        "observed_at": valid.observed_at,
        "received_at": at,
        "source_crs": valid.crs,
        "source_lon": valid.source_lon,
        "source_lat": valid.source_lat,
        "payload_sha256": valid.payload_sha256,
        "lon": valid.lon,
        "lat": valid.lat,
    }


def _event_after(valid: ValidInspection, row: Mapping[str, Any]) -> dict[str, Any]:
    """The ``inspection`` event's ``after`` of a new inspection of a problem."""
    distance = row["distance"]
    return {
        "finding": valid.finding,
        "inspection_uuid": str(valid.uuid),
        "inspection_id": row["id"],
        "flags": list(row["flags"]),
        "distance_m": round(distance, 1) if distance is not None else None,
        "observed_at": valid.observed_at.isoformat(),
        "photos": 0,
    }


def _problem_missing(valid: ValidInspection) -> LedgerError:
    return LedgerError(
        f"problem_code {valid.problem_code!r}: no such problem / 问题编号不存在",
        field="problem_code",
    )


def store_valid(
    session: Session,
    valid: ValidInspection,
    *,
    at: datetime,
    limits: FieldSettings,
    townships: Sequence[str] | None = None,
) -> Stored:
    """Store a validated submission without photos with one statement (two with a problem).

    The same answers as :func:`submit_inspection`: the stored result for a repeat of the same
    content, :class:`Conflict` for other content under a stored UUID, a LedgerError on
    ``problem_code`` for a problem that does not exist or is outside ``townships``. The event of
    an inspection of a problem goes through :func:`record_event`. The caller commits.
    """
    row = session.execute(
        _store_statement(), _store_params(valid, at, limits, townships)
    ).mappings().one()
    if row["id"] is None:
        if row["problem_missing"]:
            raise _problem_missing(valid)
        # A concurrent request stored this UUID first: answer with what it committed.
        stored = _existing(session, valid.uuid)
        assert stored is not None
        _same_or_conflict(stored, valid)
        return Stored(body=inspection_dict(session, stored), created=False)
    if not row["created"]:
        _same_hash_or_conflict(row["payload_sha256"], valid)
        return Stored(body=_row_body(row), created=False)
    if row["problem_id"] is not None:
        record_event(
            session,
            Problem(id=row["problem_id"]),  # only its id is read; no need to load it
            actor=valid.inspector,
            action="inspection",
            at=at,
            reason=valid.note[:500],
            after=_event_after(valid, row),
        )
        session.flush()
    return Stored(body=_row_body(row), created=True, suspected_rebounds=list(row["rebounds"]))


def store_inspection(
    session: Session,
    raw: Mapping[str, Any],
    *,
    inspector: str,
    now: datetime | None = None,
    limits: FieldSettings | None = None,
    townships: Sequence[str] | None = None,
) -> Stored:
    """Validate and store a submission without photos (see :func:`store_valid`)."""
    limits = limits or FieldSettings()
    at = now or datetime.now(UTC)
    valid = validate(raw, inspector=inspector, now=at, limits=limits)
    return store_valid(session, valid, at=at, limits=limits, townships=townships)


# ---------------------------------------------------------------------------------------------
# Many single submissions in one transaction (concurrent requests stored together)
# ---------------------------------------------------------------------------------------------


def _bodies_sql() -> str:
    return f"""
    SELECT {_ROW_COLUMNS},
           (SELECT code FROM problems WHERE id = x.problem_id) AS problem_code,
           (SELECT COALESCE(json_agg(json_build_object(
                'sha256', t.sha256, 'media_type', t.media_type, 'size_bytes', t.size_bytes,
                'filename', t.filename, 'exif_lon', t.exif_lon, 'exif_lat', t.exif_lat)
                ORDER BY t.id), '[]'::json)
            FROM attachments t WHERE t.inspection_id = x.id) AS photos
    FROM inspections x WHERE x.id = ANY(CAST(:ids AS bigint[]))
    """


@lru_cache(maxsize=1)
def _bodies_statement() -> Any:
    return text(_bodies_sql())


def store_valid_many(
    session: Session,
    valids: Sequence[ValidInspection],
    *,
    at: datetime,
    limits: FieldSettings,
    townships: Sequence[str] | None = None,
) -> list[Stored | LedgerError | Conflict]:
    """Store validated submissions of one inspector as :func:`store_valid` would, one by one.

    One answer per submission, in order: its :class:`Stored` (the same body, created flag and
    suspected rebounds as :func:`store_valid`), or the :class:`LedgerError` / :class:`Conflict`
    it would raise alone. The new rows go in with the batch statement (:func:`_batch_sql`), the
    events of inspections of problems after it, and the answers are read back in one more
    statement. A UUID repeated within ``valids`` is answered after its first by
    :func:`store_valid`, as a re-send would be. New rows are answered from the statement
    itself; only re-sends are read back. An unexpected database error is raised (the
    caller rolls back and stores the submissions one by one). The caller commits.
    """
    if not valids:
        return []
    inspector = valids[0].inspector
    if any(v.inspector != inspector for v in valids):
        raise ValueError("store_valid_many takes the submissions of one inspector")
    out: list[Stored | LedgerError | Conflict | None] = [None] * len(valids)
    first_of: dict[uuid_mod.UUID, int] = {}
    repeats: list[int] = []
    for index, valid in enumerate(valids):
        if valid.uuid in first_of:
            repeats.append(index)
        else:
            first_of[valid.uuid] = index
    items = []
    for index in first_of.values():
        valid = valids[index]
        items.append({
            "idx": index, "uuid": str(valid.uuid), "problem_code": valid.problem_code,
            "flags": _point_flags(valid, limits),
            "off_site_m": off_site_limit_m(valid.accuracy_m, limits),
            "finding": valid.finding, "category": valid.category, "note": valid.note,
            "accuracy_m": valid.accuracy_m, "observed_at": valid.observed_at.isoformat(),
            "source_crs": valid.crs, "source_lon": valid.source_lon,
            "source_lat": valid.source_lat, "payload_sha256": valid.payload_sha256,
            "lon": valid.lon, "lat": valid.lat,
        })
    _, rebound_params = inspection_flag_sql("ins")
    rows = {r["idx"]: r for r in session.execute(_batch_statement(), {
        **rebound_params, "items": json.dumps(items), "inspector": inspector,
        "received_at": at, "towns": list(townships) if townships is not None else None,
    }).mappings()}
    answered: dict[int, tuple[int, bool, list[int]]] = {}
    events = False
    for index in first_of.values():
        valid, row = valids[index], rows[index]
        if row["id"] is None:
            if row["problem_missing"]:
                out[index] = _problem_missing(valid)
                continue
            stored = _existing(session, valid.uuid)  # stored meanwhile by a concurrent request
            assert stored is not None
            try:
                _same_or_conflict(stored, valid)
            except Conflict as exc:
                out[index] = exc
            else:
                out[index] = Stored(body=inspection_dict(session, stored), created=False)
            continue
        if not row["created"]:
            try:
                _same_hash_or_conflict(row["stored_sha256"], valid)
            except Conflict as exc:
                out[index] = exc
            else:
                answered[index] = (row["id"], False, [])
            continue
        # A new row's answer comes with the statement; only stored ones are read back.
        out[index] = Stored(body=_row_body({**row, "photos": []}), created=True,
                            suspected_rebounds=list(row["rebounds"] or []))
        if row["new_problem_id"] is not None:
            record_event(
                session,
                Problem(id=row["new_problem_id"]),  # only its id is read
                actor=inspector,
                action="inspection",
                at=at,
                reason=valid.note[:500],
                after=_event_after(valid, row),
            )
            events = True
    if events:
        session.flush()
    if answered:  # re-sends of stored inspections: their answers as stored, photos included
        ids = [row_id for row_id, _, _ in answered.values()]
        bodies = {
            r["id"]: _row_body(r)
            for r in session.execute(_bodies_statement(), {"ids": ids}).mappings()
        }
        for index, (row_id, created, rebounds) in answered.items():
            out[index] = Stored(body=bodies[row_id], created=created, suspected_rebounds=rebounds)
    for index in repeats:
        try:
            out[index] = store_valid(session, valids[index], at=at, limits=limits,
                                     townships=townships)
        except (LedgerError, Conflict) as exc:
            out[index] = exc
    return [answer for answer in out if answer is not None]


# ---------------------------------------------------------------------------------------------
# A batch of submissions (the offline queue's flush)
# ---------------------------------------------------------------------------------------------

BATCH_MAX = 500
STORED, DUPLICATE, REJECTED = "stored", "duplicate", "rejected"


def _batch_sql() -> str:
    """One statement storing many validated submissions (rows of ``:items``, a JSON array).

    Per item as :func:`_store_sql`: stored UUIDs are left alone and answered, the problem is
    found within ``:towns``, township and flags are set, the rebound check runs on the rows
    inserted. One answer row per item, by ``idx``.
    """
    rebound_sql, _ = inspection_flag_sql("ins")
    point = "ST_SetSRID(ST_MakePoint(i.lon, i.lat), 4490)"
    return f"""
    WITH items AS (
        SELECT * FROM jsonb_to_recordset(CAST(:items AS jsonb)) AS i(
            idx int, uuid uuid, problem_code text, flags jsonb, off_site_m float8,
            finding text, category text, note text, accuracy_m float8, observed_at timestamptz,
            source_crs text, source_lon float8, source_lat float8, payload_sha256 text,
            lon float8, lat float8)
    ), existing AS (
        SELECT x.uuid, x.id, x.payload_sha256, x.flags, x.township_code, x.problem_id
        FROM inspections x WHERE x.uuid IN (SELECT uuid FROM items)
    ), v AS (
        SELECT i.*, p.id AS problem_id, p.category AS problem_category,
               ST_Distance(p.geom::geography, {point}::geography) AS distance,
               {township_of_sql(point)} AS township_code
        FROM items i
        LEFT JOIN LATERAL (
            SELECT p.id, p.category, p.geom FROM problems p
            WHERE p.code = i.problem_code
              AND (CAST(:towns AS text[]) IS NULL
                   OR p.township_code = ANY(CAST(:towns AS text[])))
            LIMIT 1
        ) p ON true
        WHERE NOT EXISTS (SELECT 1 FROM existing e WHERE e.uuid = i.uuid)
    ), ins AS (
        INSERT INTO inspections (uuid, problem_id, inspector, finding, category, note,
            accuracy_m, observed_at, received_at, source_crs, source_lon, source_lat,
            township_code, payload_sha256, flags, geom)
        SELECT v.uuid, v.problem_id, CAST(:inspector AS text), v.finding,
               COALESCE(v.category, v.problem_category), v.note, v.accuracy_m, v.observed_at,
               CAST(:received_at AS timestamptz), v.source_crs, v.source_lon, v.source_lat,
               v.township_code, v.payload_sha256,
               to_jsonb(ARRAY(
                   SELECT DISTINCT f COLLATE "C" FROM unnest(
                       ARRAY(SELECT jsonb_array_elements_text(v.flags))
                       || CASE WHEN v.township_code IS NULL THEN ARRAY['{OUTSIDE_COUNTY}'] END
                       || CASE WHEN v.distance > v.off_site_m THEN ARRAY['{OFF_SITE}'] END
                   ) f ORDER BY 1
               )),
               ST_SetSRID(ST_MakePoint(v.lon, v.lat), 4490)
        FROM v
        WHERE v.problem_code IS NULL OR v.problem_id IS NOT NULL
        ORDER BY v.idx
        ON CONFLICT (uuid) DO NOTHING
        RETURNING *
    ), reb AS (
        {rebound_sql}
    ), rb AS MATERIALIZED (  -- once, not once per row of a nested loop
        SELECT trigger_id, array_agg(id ORDER BY id) AS ids FROM reb GROUP BY trigger_id
    )
    SELECT i.idx, COALESCE(n.id, e.id) AS id, n.id IS NOT NULL AS created,
           e.payload_sha256 AS stored_sha256,
           COALESCE(n.flags, e.flags) AS flags,
           COALESCE(n.township_code, e.township_code) AS township_code,
           (SELECT code FROM problems WHERE id = COALESCE(n.problem_id, e.problem_id))
               AS problem_code,
           n.problem_id AS new_problem_id, v.distance,
           e.id IS NULL AND i.problem_code IS NOT NULL AND v.problem_id IS NULL
               AS problem_missing,
           COALESCE(rb.ids, '{{}}') AS rebounds,
           n.uuid, n.inspector, n.finding, n.category, n.note, n.accuracy_m, n.observed_at,
           n.received_at, n.source_crs, n.source_lon, n.source_lat, n.payload_sha256,
           ST_X(n.geom) AS x, ST_Y(n.geom) AS y
    FROM items i
    LEFT JOIN ins n ON n.uuid = i.uuid
    LEFT JOIN rb ON rb.trigger_id = n.id
    LEFT JOIN existing e ON e.uuid = i.uuid
    LEFT JOIN v ON v.idx = i.idx
    ORDER BY i.idx
    """


@lru_cache(maxsize=1)
def _batch_statement() -> Any:
    return text(_batch_sql())


def _rejected(index: int, uid: Any, exc: LedgerError | Conflict) -> dict[str, Any]:
    """A rejected item's answer: the reason, the field it names, the status it would get alone."""
    return {
        "index": index,
        "uuid": str(uid) if uid is not None else None,
        "status": REJECTED,
        "reason": str(exc),
        "field": getattr(exc, "field", None),
        "status_code": 409 if isinstance(exc, Conflict) else 422,
    }


def _answered(index: int, valid: ValidInspection, row: Mapping[str, Any], status: str) -> dict:
    return {
        "index": index,
        "uuid": str(valid.uuid),
        "status": status,
        "id": row["id"],
        "problem_code": row["problem_code"],
        "township_code": row["township_code"],
        "flags": list(row["flags"] or []),
        "suspected_rebounds": list(row.get("rebounds") or []),
    }


def _one_by_one(
    session: Session,
    valids: dict[int, ValidInspection],
    answers: list[dict[str, Any] | None],
    first_of: dict[uuid_mod.UUID, int],
    repeats: list[int],
    at: datetime,
    limits: FieldSettings,
    townships: Sequence[str] | None,
) -> list[dict[str, Any]]:
    """Store the valid items of a batch each in its own savepoint (the slow, careful path)."""
    for index in sorted(first_of.values()) + repeats:
        valid = valids[index]
        try:
            with session.begin_nested():
                stored = store_valid(session, valid, at=at, limits=limits, townships=townships)
        except (LedgerError, Conflict) as exc:
            answers[index] = _rejected(index, valid.uuid, exc)
        except DBAPIError as exc:
            reason = str(exc.orig or exc).splitlines()[0]
            answers[index] = _rejected(
                index, valid.uuid, LedgerError(f"not stored: {reason} / 未能保存")
            )
        else:
            row = {**stored.body, "rebounds": stored.suspected_rebounds}
            answers[index] = _answered(
                index, valid, row, STORED if stored.created else DUPLICATE
            )
    return [a for a in answers if a is not None]


def store_batch(
    session: Session,
    raws: Sequence[Any],
    *,
    inspector: str,
    now: datetime | None = None,
    limits: FieldSettings | None = None,
    townships: Sequence[str] | None = None,
) -> list[dict[str, Any]]:
    """Store up to :data:`BATCH_MAX` submissions without photos; one answer per item, in order.

    Each item is ``stored``, a ``duplicate`` (its UUID holds the same content: nothing changed)
    or ``rejected`` with the reason, the field and the status it would get on its own (422, or
    409 for a UUID already used for other content). Every item gets the validation, flags,
    township and rebound check of :func:`store_inspection`; one bad item costs only itself.
    All valid items go in one statement (the events of inspections of problems in one more);
    the caller commits.
    """
    limits = limits or FieldSettings()
    at = now or datetime.now(UTC)
    if len(raws) > BATCH_MAX:
        raise LedgerError(
            f"a batch holds at most {BATCH_MAX} items; this one has {len(raws)}"
            f" / 每批最多 {BATCH_MAX} 条", field="items",
        )
    answers: list[dict[str, Any] | None] = [None] * len(raws)
    valids: dict[int, ValidInspection] = {}
    first_of: dict[uuid_mod.UUID, int] = {}
    repeats: list[int] = []
    for index, raw in enumerate(raws):
        try:
            valid = validate(raw, inspector=inspector, now=at, limits=limits)
        except LedgerError as exc:
            uid = raw.get("uuid") if isinstance(raw, Mapping) else None
            answers[index] = _rejected(index, uid, exc)
            continue
        valids[index] = valid
        if valid.uuid in first_of:
            repeats.append(index)  # answered after the first one with this uuid
        else:
            first_of[valid.uuid] = index
    rows: dict[int, Mapping[str, Any]] = {}
    if first_of:
        items = []
        for index in first_of.values():
            valid = valids[index]
            items.append({
                "idx": index, "uuid": str(valid.uuid), "problem_code": valid.problem_code,
                "flags": _point_flags(valid, limits),
                "off_site_m": off_site_limit_m(valid.accuracy_m, limits),
                "finding": valid.finding, "category": valid.category, "note": valid.note,
                "accuracy_m": valid.accuracy_m, "observed_at": valid.observed_at.isoformat(),
                "source_crs": valid.crs, "source_lon": valid.source_lon,
                "source_lat": valid.source_lat, "payload_sha256": valid.payload_sha256,
                "lon": valid.lon, "lat": valid.lat,
            })
        _, rebound_params = inspection_flag_sql("ins")
        try:
            with session.begin_nested():
                result = session.execute(_batch_statement(), {
                    **rebound_params, "items": json.dumps(items), "inspector": inspector,
                    "received_at": at,
                    "towns": list(townships) if townships is not None else None,
                }).mappings()
                rows = {r["idx"]: r for r in result}
        except DBAPIError:
            # Something the validation did not foresee: store item by item, so that only the
            # item at fault is rejected.
            return _one_by_one(session, valids, answers, first_of, repeats, at, limits, townships)
    events = False
    for index in first_of.values():
        valid, row = valids[index], rows[index]
        if row["id"] is None:
            if row["problem_missing"]:
                answers[index] = _rejected(index, valid.uuid, _problem_missing(valid))
                continue
            stored = _existing(session, valid.uuid)  # stored meanwhile by a concurrent request
            assert stored is not None
            row = {"id": stored.id, "problem_code": None, "township_code": stored.township_code,
                   "flags": stored.flags, "stored_sha256": stored.payload_sha256,
                   "created": False}
            if stored.problem_id is not None:
                row["problem_code"] = session.scalar(
                    select(Problem.code).where(Problem.id == stored.problem_id))
            rows[index] = row
        if not row["created"]:
            try:
                _same_hash_or_conflict(row["stored_sha256"], valid)
            except Conflict as exc:
                answers[index] = _rejected(index, valid.uuid, exc)
            else:
                answers[index] = _answered(index, valid, row, DUPLICATE)
            continue
        answers[index] = _answered(index, valid, row, STORED)
        if row["new_problem_id"] is not None:
            record_event(
                session,
                Problem(id=row["new_problem_id"]),  # only its id is read
                actor=inspector,
                action="inspection",
                at=at,
                reason=valid.note[:500],
                after=_event_after(valid, row),
            )
            events = True
    if events:
        session.flush()
    for index in repeats:
        valid = valids[index]
        first = first_of[valid.uuid]
        try:
            if answers[first]["status"] == REJECTED:  # type: ignore[index]
                raise LedgerError(answers[first]["reason"],  # type: ignore[index]
                                  field=answers[first]["field"])  # type: ignore[index]
            _same_hash_or_conflict(valids[first].payload_sha256, valid)
        except (LedgerError, Conflict) as exc:
            answers[index] = _rejected(index, valid.uuid, exc)
        else:
            answers[index] = {**answers[first], "index": index, "status": DUPLICATE,  # type: ignore[dict-item]
                              "suspected_rebounds": []}
    return [a for a in answers if a is not None]


def get_inspection(session: Session, uid: str | uuid_mod.UUID) -> Inspection | None:
    """Return the inspection with this client UUID (None for an unknown or malformed one)."""
    try:
        key = uid if isinstance(uid, uuid_mod.UUID) else uuid_mod.UUID(str(uid))
    except ValueError:
        return None
    return _existing(session, key)


# ---------------------------------------------------------------------------------------------
# Photos
# ---------------------------------------------------------------------------------------------


def inspection_photo(session: Session, inspection: Inspection, sha256: str) -> Attachment | None:
    """The inspection's photo with this content hash, or None."""
    return session.scalars(
        select(Attachment).where(
            Attachment.inspection_id == inspection.id, Attachment.sha256 == sha256
        )
    ).first()


def _safe_name(name: str, photo: CheckedPhoto) -> str:
    """Return a plain file name (no folders, at most 200 characters) for display only."""
    base = (name or "").replace("\\", "/").rsplit("/", 1)[-1].strip()
    base = "".join(ch for ch in base if ch.isprintable())[:200]
    return base or f"{photo.sha256[:16]}.{photo.media_type.split('/')[1]}"


def attach_photo(
    session: Session,
    inspection: Inspection,
    data: bytes,
    *,
    actor: str,
    attachments_dir: Path,
    filename: str = "",
    expected_sha256: str | None = None,
    now: datetime | None = None,
    limits: FieldSettings | None = None,
) -> PhotoResult:
    """Attach one photo to a stored inspection, idempotently on its SHA-256."""
    limits = limits or FieldSettings()
    photo = check_photo(data, max_bytes=limits.photo_max_bytes, expected_sha256=expected_sha256)
    return _attach(
        session, inspection, photo, data, filename, actor, attachments_dir,
        now or datetime.now(UTC), limits,
    )


def _attach(
    session: Session,
    inspection: Inspection,
    photo: CheckedPhoto,
    data: bytes,
    filename: str,
    actor: str,
    attachments_dir: Path,
    at: datetime,
    limits: FieldSettings,
    *,
    record: bool = True,
) -> PhotoResult:
    """Store the file durably, link it, flag EXIF distance and reuse; one attachment per hash."""
    # Serialise photo uploads of one inspection, and of one hash across inspections.
    session.execute(
        select(Inspection.id).where(Inspection.id == inspection.id).with_for_update()
    )
    session.execute(
        text("SELECT pg_advisory_xact_lock(hashtextextended(:sha, 7))"), {"sha": photo.sha256}
    )
    session.refresh(inspection)
    found = session.scalars(
        select(Attachment).where(
            Attachment.inspection_id == inspection.id, Attachment.sha256 == photo.sha256
        )
    ).first()
    if found is not None:
        store_blob(attachments_dir, photo.sha256, data)  # restore a missing file; no-op otherwise
        return PhotoResult(attachment=found, created=False)
    count = session.scalar(
        text("SELECT count(*) FROM attachments WHERE inspection_id = :i"), {"i": inspection.id}
    )
    if (count or 0) >= limits.max_photos:
        raise PhotoError(
            f"an inspection holds at most {limits.max_photos} photos / 每次巡查最多"
            f" {limits.max_photos} 张照片"
        )
    store_blob(attachments_dir, photo.sha256, data)
    flags: set[str] = set()
    reused = session.execute(
        text(
            "SELECT 1 FROM attachments WHERE sha256 = :sha"
            " AND inspection_id IS DISTINCT FROM :i LIMIT 1"
        ),
        {"sha": photo.sha256, "i": inspection.id},
    ).first()
    if reused is not None:
        flags.add(PHOTO_REUSED)
    if photo.exif_lon is not None and photo.exif_lat is not None:
        lon, lat = _lonlat(inspection)
        if coords.distance_m(lon, lat, photo.exif_lon, photo.exif_lat) > limits.exif_far_m:
            flags.add(EXIF_FAR)
    attachment = Attachment(
        sha256=photo.sha256,
        filename=_safe_name(filename, photo),
        media_type=photo.media_type,
        size_bytes=photo.size_bytes,
        inspection_id=inspection.id,
        problem_id=inspection.problem_id,
        exif_lon=photo.exif_lon,
        exif_lat=photo.exif_lat,
        uploaded_by=actor,
        created_at=at,
    )
    session.add(attachment)
    session.flush()
    new_flags = sorted(flags - set(inspection.flags or []))
    if new_flags:
        inspection.flags = sorted(set(inspection.flags or []) | flags)
        session.flush()
        if record and inspection.problem_id is not None:
            problem = session.get(Problem, inspection.problem_id)
            assert problem is not None
            record_event(
                session,
                problem,
                actor=actor,
                action="inspection_flagged",
                at=at,
                reason="照片核验 photo check",
                after={
                    "inspection_uuid": str(inspection.uuid),
                    "photo_sha256": photo.sha256,
                    "new_flags": new_flags,
                    "flags": list(inspection.flags),
                },
            )
    return PhotoResult(attachment=attachment, created=True, new_flags=new_flags)


# ---------------------------------------------------------------------------------------------
# Output
# ---------------------------------------------------------------------------------------------


def _iso(value: datetime | None) -> str | None:
    """Return an ISO-8601 string or None."""
    return value.isoformat() if value is not None else None


def attachment_dict(attachment: Attachment, inspection_uuid: uuid_mod.UUID) -> dict[str, Any]:
    """Return a photo's JSON description with its URL under the inspection."""
    return {
        "sha256": attachment.sha256,
        "media_type": attachment.media_type,
        "size_bytes": attachment.size_bytes,
        "filename": attachment.filename,
        "exif_lon": attachment.exif_lon,
        "exif_lat": attachment.exif_lat,
        "url": f"/api/inspections/{inspection_uuid}/photos/{attachment.sha256}",
    }


def inspection_dict(session: Session, inspection: Inspection) -> dict[str, Any]:
    """Return the stored inspection as JSON-ready values, with its problem code and photos."""
    lon, lat = _lonlat(inspection)
    code = None
    if inspection.problem_id is not None:
        code = session.scalar(select(Problem.code).where(Problem.id == inspection.problem_id))
    photos = session.scalars(
        select(Attachment)
        .where(Attachment.inspection_id == inspection.id)
        .order_by(Attachment.id)
    ).all()
    return {
        "uuid": str(inspection.uuid),
        "id": inspection.id,
        "problem_code": code,
        "inspector": inspection.inspector,
        "finding": inspection.finding,
        "category": inspection.category,
        "note": inspection.note,
        "lon": round(lon, 8),
        "lat": round(lat, 8),
        "accuracy_m": inspection.accuracy_m,
        "source_crs": inspection.source_crs,
        "source_lon": inspection.source_lon,
        "source_lat": inspection.source_lat,
        "township_code": inspection.township_code,
        "observed_at": _iso(inspection.observed_at),
        "received_at": _iso(inspection.received_at),
        "flags": list(inspection.flags or []),
        "photos": [attachment_dict(a, inspection.uuid) for a in photos],
    }


# ---------------------------------------------------------------------------------------------
# Batch import of point files (GPX, GeoJSON)
# ---------------------------------------------------------------------------------------------

IMPORT_NAMESPACE = uuid_mod.UUID("5f0c8f4e-8d0a-5d8e-9f57-6c6f6f6b6261")


@dataclass(frozen=True)
class ImportedPoint:
    """What happened to one point of a file: imported, duplicate or rejected (with the reason)."""

    index: int
    status: str
    uuid: str
    kind: str = ""
    name: str | None = None
    lon: float | None = None
    lat: float | None = None
    observed_at: str | None = None
    reason: str = ""
    flags: tuple[str, ...] = ()


@dataclass
class PointImport:
    """The per-point report of one file."""

    source: str
    file_sha256: str
    file_format: str = ""
    crs: str = ""
    points: list[ImportedPoint] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def count(self, status: str) -> int:
        """Return how many points ended with ``status``."""
        return sum(1 for p in self.points if p.status == status)


def point_uuid(file_sha256: str, index: int) -> uuid_mod.UUID:
    """Return the deterministic inspection UUID of point ``index`` of a file (by its hash)."""
    return uuid_mod.uuid5(IMPORT_NAMESPACE, f"{file_sha256}:{index}")


def _note_of(point: Any) -> str:
    """Return a note from a point's name and description, if it has them."""
    parts = [point.name or ""]
    for key in ("desc", "cmt", "description", "note"):
        value = point.properties.get(key)
        if isinstance(value, str) and value.strip() and value.strip() not in parts:
            parts.append(value.strip())
    return " · ".join(p for p in parts if p)[:NOTE_MAX_CHARS]


def import_point_file(
    session: Session,
    path: Path,
    *,
    inspector: str,
    finding: str = "checked",
    category: str | None = None,
    problem_code: str | None = None,
    crs: str = "wgs84",
    accuracy_m: float | None = None,
    default_time: datetime | None = None,
    now: datetime | None = None,
    limits: FieldSettings | None = None,
    progress: Any = None,
) -> PointImport:
    """Import every point of a GPX/GeoJSON file as an inspection, each in its own savepoint.

    UUIDs are derived from (file SHA-256, point index), so importing the same file again reports
    duplicates instead of adding rows. Points go through :func:`submit_inspection`'s validation.
    The caller commits (or rolls back for a dry run).
    """
    from gis.io.pointfiles import read_points

    data = Path(path).read_bytes()
    file_sha = hashlib.sha256(data).hexdigest()
    result = read_points(path)
    report = PointImport(
        source=str(path), file_sha256=file_sha, file_format=result.file_format, crs=result.crs,
        warnings=list(result.warnings),
    )
    outcomes: list[ImportedPoint] = []
    for rejected in result.rejected:
        outcomes.append(
            ImportedPoint(
                index=rejected.index, status="rejected",
                uuid=str(point_uuid(file_sha, rejected.index)), reason=rejected.reason,
            )
        )
        if progress:
            progress(1)
    for point in result.points:
        uid = str(point_uuid(file_sha, point.index))
        when = point.time or default_time
        base = {
            "index": point.index, "uuid": uid, "kind": point.source_kind, "name": point.name,
            "lon": point.lon, "lat": point.lat,
            "observed_at": when.isoformat() if when else None,
        }
        if when is None:
            outcomes.append(
                ImportedPoint(
                    **base, status="rejected",
                    reason="no time in the file; give a default time / 文件无时间，请给默认时间",
                )
            )
            if progress:
                progress(1)
            continue
        raw = {
            "uuid": uid, "lon": point.lon, "lat": point.lat, "crs": crs,
            "accuracy_m": accuracy_m, "observed_at": when.isoformat(), "finding": finding,
            "category": category, "note": _note_of(point), "problem_code": problem_code,
            "position_source": "file",
        }
        try:
            with session.begin_nested():
                submitted = submit_inspection(
                    session, raw, inspector=inspector, now=now, limits=limits
                )
                flags = tuple(submitted.inspection.flags or ())
        except Conflict:
            outcomes.append(
                ImportedPoint(
                    **base, status="rejected",
                    reason="imported before with other values (finding, category, inspector…);"
                    " nothing changed / 此前已用不同内容导入，未更改",
                )
            )
        except LedgerError as exc:
            field_name = f"{exc.field}: " if exc.field else ""
            outcomes.append(ImportedPoint(**base, status="rejected", reason=f"{field_name}{exc}"))
        else:
            status = "imported" if submitted.created else "duplicate"
            outcomes.append(ImportedPoint(**base, status=status, flags=flags))
        if progress:
            progress(1)
    report.points = sorted(outcomes, key=lambda p: p.index)
    return report
